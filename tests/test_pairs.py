"""The pairs task: a person's own TSV file becomes a task, a trained model and a card; bad files get one sentence."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from seq2seq_viz.errors import DataError
from seq2seq_viz.limits import LIMITS
from seq2seq_viz.tasks import get_task
from seq2seq_viz.tasks.pairs import build_pairs, task_name_for

WORDS = ("cat", "dog", "red", "blue", "big", "small", "sees", "likes", "the", "a")
TINY = {"model": {"hidden_size": 16, "embedding_size": 8}, "train": {"batch_size": 8}}


def write_tsv(path: Path, n: int = 60, seed: int = 0, extra_column: bool = True) -> Path:
    """n lines "words<TAB>the words reversed[<TAB>a note]"."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        source = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5)))
        target = " ".join(reversed(source.split()))
        lines.append(f"{source}\t{target}" + ("\tnote: made up" if extra_column else ""))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    root = str(Path(__file__).resolve().parent.parent)  # found from any working directory
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "seq2seq_viz", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=cwd, env=env)


# --- the task ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "task_name"),
    [
        ("my.tsv", "my"),
        ("My Words_2.tsv", "my-words-2"),
        ("Übung.fr-en.txt", "ubung"),
        ("dates.tsv", "dates-pairs"),  # never passes for the shipped dates task
        ("reverse.tsv", "reverse-pairs"),
        ("___.tsv", "pairs"),
        ("x" * 80 + ".tsv", "x" * 40),
    ],
)
def test_the_task_is_named_after_the_file_in_safe_characters(file_name, task_name):
    assert task_name_for(file_name) == task_name


def test_split_is_deterministic_disjoint_by_source_and_ignores_extra_columns(tmp_path):
    path = write_tsv(tmp_path / "words.tsv", n=200)
    task = build_pairs(path, seed=3)
    again = get_task("pairs", path, seed=3)
    assert (task.train, task.valid, task.test) == (again.train, again.valid, again.test)
    assert build_pairs(path, seed=4).test != task.test  # the seed moves the split
    train_sources = {e.source.lower() for e in task.train}
    held_out = [e.source.lower() for e in (*task.valid, *task.test)]
    assert not train_sources & set(held_out) and len(set(held_out)) == len(held_out)
    assert all("note" not in e.target for e in task.train)  # the third column is ignored
    distinct = len(train_sources) + len(held_out)
    assert len(task.test) == len(task.valid) == int(distinct * 0.1)
    assert task.name == "words" and task.level == "word" and task.lowercase is False
    assert task.provenance["builder"] == "pairs" and task.provenance["pairs"] == 200
    assert task.model_defaults["hidden_size"] == 64 and task.model_defaults["max_source_len"] >= 5
    assert task.examples and all(source in train_sources for source in task.examples)


def test_a_held_out_source_keeps_every_target_as_a_reference(tmp_path):
    path = tmp_path / "multi.tsv"
    path.write_text("hello\tbonjour\nHello\tsalut\nbye\tau revoir\nyes\toui\n", encoding="utf-8")
    task = build_pairs(path, lowercase=True)
    hello = next(e for e in (*task.train, *task.valid, *task.test) if e.source.lower() == "hello")
    if hello in task.train:  # both spellings train together
        assert sum(e.source.lower() == "hello" for e in task.train) == 2
    else:
        assert hello.all_references == ("bonjour", "salut")


def test_a_tiny_file_still_gets_one_valid_and_one_test_pair(tmp_path):
    path = tmp_path / "three.tsv"
    path.write_text("a\tx\nb\ty\nc\tz\n", encoding="utf-8")
    task = build_pairs(path, level="char")
    assert (len(task.train), len(task.valid), len(task.test)) == (1, 1, 1)
    assert task.pairs("test")[0][0] in (["a"], ["b"], ["c"])


BAD_FILES = {
    "missing": (None, "does not exist"),
    "latin-1": ("café\tcoffee\n".encode("latin-1"), "is not UTF-8"),
    "no tab": (b"hello world\nbye\tau revoir\n", "Line 1 of"),
    "blank only": (b"\n   \n\t\n", "no pairs"),
    "empty target": (b"hello\t\n", "empty target"),
    "too long": (("a" * (LIMITS.input_chars + 1) + "\tx\n").encode(), f"at most {LIMITS.input_chars}"),
    "too few": (b"a\tb\na\tc\n", "at least 3"),
    "long word": (("a" * (LIMITS.token_chars + 1) + " b\tx\nc\td\ne\tf\n").encode(), "a word of"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_are_one_data_error(tmp_path, case):
    content, message = BAD_FILES[case]
    path = tmp_path / "bad.tsv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        build_pairs(path)
    assert "\n" not in str(caught.value)


def test_a_directory_and_no_path_are_refused(tmp_path):
    with pytest.raises(DataError, match="directory"):
        build_pairs(tmp_path)
    with pytest.raises(DataError, match="--data"):
        get_task("pairs")


# --- the command line -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["missing", "latin-1", "no tab", "blank only", "too long", "too few"])
def test_the_cli_says_what_is_wrong_with_a_bad_file_in_one_line(tmp_path, case):
    content, message = BAD_FILES[case]
    path = tmp_path / "bad.tsv"
    if content is not None:
        path.write_bytes(content)
    result = cli("train", "--task", "pairs", "--data", str(path), "--max-steps", "1", "--device", "cpu")
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_level_flags_belong_to_the_pairs_task():
    result = cli("train", "--task", "copy", "--level", "char", "--max-steps", "1")
    assert result.returncode == 1 and "apply to --task pairs" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("level", ["word", "char"])
def test_train_a_pairs_model_end_to_end(tmp_path, level):
    from seq2seq_viz import decoding
    from seq2seq_viz.registry import examples_for, load_model, scan_models

    data = write_tsv(tmp_path / "Toy Words.tsv", n=40)
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(TINY))
    models = tmp_path / "models"
    args = ["train", "--task", "pairs", "--data", str(data), "--level", level, "--config", str(config)]
    args += ["--attention", "general", "--max-steps", "4", "--device", "cpu", "--out", str(models / "toy")]
    lowercase = level == "char"
    result = cli(*args, *(["--lowercase"] if lowercase else []))
    assert result.returncode == 0, result.stderr
    assert "only" in result.stderr and "training pairs" in result.stderr  # the small-file note, one sentence

    card = json.loads((models / "toy.json").read_text())
    assert card["name"] == "toy-words-gru-general"
    assert card["config"]["level"] == level and card["config"]["hidden_size"] == 16
    assert card["config"]["lowercase"] is lowercase and card["task"]["lowercase"] is lowercase
    assert card["task"]["builder"] == "pairs" and card["task"]["level"] == level
    assert card["task"]["data"] == str(data.resolve()) and card["provenance"]["pairs"] == 40
    assert card["training"]["steps"] == 4 and card["test_examples"]
    test = card["metrics"]["test"]
    assert test["examples"] == len(card["test_examples"]) == 3
    by_length = test["bleu_by_length"] if level == "word" else test["exact_match_by_length"]
    assert by_length and ("bleu" in test) is (level == "word")

    model = load_model(str(models / "toy"))
    trace = decoding.greedy(model, "Red cat")
    assert trace.model["name"] == "toy-words-gru-general" and trace.output_tokens
    assert trace.source_tokens == (["Red", "cat", "<eos>"] if level == "word" else [*"red cat", "<eos>"])
    assert trace.attention.shape == (len(trace.output_tokens), len(trace.source_tokens))

    found, problems = scan_models(models)  # the app's models directory reads it
    assert list(found) == ["toy"] and not problems
    assert load_model("toy", directory=models).name == "toy-words-gru-general"
    assert examples_for("toy", models)["inputs"] == card["examples"]

    if level == "word":  # evaluate rebuilds the task from the file the card names, from any directory
        result = cli("evaluate", "--model", str(models / "toy"), "--json", cwd=tmp_path / "models")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["test"] == test
        changed = tmp_path / "changed.tsv"
        changed.write_text(data.read_text() + "x y\ty x\n")
        result = cli("evaluate", "--model", str(models / "toy"), "--data", str(changed))
        assert result.returncode == 1 and "not the one this model was trained on" in result.stderr
