"""The command line, run as a user would: python -m seq2seq_viz ..."""

import json
import subprocess
import sys

import numpy as np
import pytest

from seq2seq_viz.registry import list_models

MODEL = "reverse-gru-general"
pytestmark = pytest.mark.skipif(MODEL not in list_models(), reason=f"{MODEL} is not in pretrained/")


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "seq2seq_viz", *args], capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_translate_json_is_a_valid_trace_with_rows_summing_to_one():
    from seq2seq_viz.trace import Trace

    out = cli("translate", "--model", MODEL, "--json", "hello").stdout
    trace = Trace.from_json(out)
    assert trace.output_text == "olleh"
    assert trace.source_tokens == ["h", "e", "l", "l", "o", "<eos>"]
    assert np.allclose(trace.attention.sum(1), 1, atol=1e-5)


def test_translate_prints_output_and_an_aligned_attention_table():
    lines = cli("translate", "--model", MODEL, "abc").stdout.splitlines()
    assert lines[0] == "cba"
    assert lines[2].split() == ["a", "b", "c", "<eos>"]
    assert lines[3].split()[0] == "c" and len(lines[3].split()) == 5


def test_modes_and_input_file(tmp_path):
    assert cli("translate", "--model", MODEL, "--mode", "beam", "--beam-size", "3", "abcd").stdout.startswith("dcba")
    trace = json.loads(
        cli("translate", "--model", MODEL, "--mode", "teacher-forced", "--reference", "cba", "--json", "abc").stdout
    )
    assert [s["gold_token"] for s in trace["steps"]] == ["c", "b", "a", "<eos>"]
    trace = json.loads(
        cli("translate", "--model", MODEL, "--mode", "forced-prefix", "--prefix", "x", "--json", "abc").stdout
    )
    assert trace["output_tokens"][0] == "x" and trace["mode"] == "forced_prefix"
    inputs = tmp_path / "in.txt"
    inputs.write_text("abc\nhello\n\nxyz\n")
    assert cli("translate", "--model", MODEL, "--input-file", str(inputs)).stdout.splitlines() == [
        "cba",
        "olleh",
        "",
        "zyx",
    ]


def test_list_models_and_evaluate():
    listing = json.loads(cli("list-models", "--json").stdout)
    assert MODEL in listing and listing[MODEL]["sha256"]
    result = json.loads(cli("evaluate", "--model", MODEL, "--split", "test", "--limit", "50", "--json").stdout)
    assert result["test"]["examples"] == 50
    from seq2seq_viz import decoding
    from seq2seq_viz.registry import load_model
    from seq2seq_viz.tasks import get_task

    model, examples = load_model(MODEL), get_task("reverse").test[:50]  # --limit 50: the first 50 of the split
    right = sum(decoding.greedy(model, e.source).output_text == e.target for e in examples)
    assert result["test"]["exact_match"] == right / 50


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("translate", "--model", "no-such-model", "hi"), "There is no model called 'no-such-model'"),
        (("translate", "--model", MODEL, ""), "empty"),
        (("translate", "--model", MODEL, "a" * 500), "at most"),
        (("evaluate", "--model", MODEL, "--split", "nope"), "has no split"),
    ],
)
def test_errors_are_one_sentence_and_nonzero(args, message):
    result = cli(*args, check=False)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_damaged_checkpoint_path_is_refused(tmp_path):
    (tmp_path / "bad.json").write_text("{}")
    (tmp_path / "bad.safetensors").write_bytes(b"\x80\x04garbage")
    result = cli("translate", "--model", str(tmp_path / "bad"), "hi", check=False)
    assert result.returncode == 1 and "format" in result.stderr


def test_train_writes_a_checkpoint_that_translate_reads(tmp_path):
    out = tmp_path / "tiny"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model": {"hidden_size": 16, "embedding_size": 8}, "train": {"batch_size": 32}}))
    result = cli("train", "--task", "copy", "--attention", "dot", "--max-steps", "5", "--device", "cpu",
                 "--config", str(config), "--out", str(out))  # fmt: skip
    assert "wrote" in result.stdout
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["config"]["attention"] == "dot" and card["config"]["hidden_size"] == 16
    assert card["training"]["steps"] == 5 and "exact_match" in card["metrics"]["test"]
    trace = json.loads(cli("translate", "--model", str(out), "--json", "abc").stdout)
    assert trace["model"]["name"] == "copy-gru-dot"


def _readme_block(marker: str) -> str:
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = text.index(f"<!-- {marker}:")
    return text[text.index("\n", start) + 1 : text.index(f"<!-- /{marker} -->")].strip()


def test_the_readme_tables_are_what_the_shipped_models_measure_and_write():
    from seq2seq_viz.cli import attribution_table, bleu_grid, length_table, lesson_table, markdown_table

    models = list_models()
    assert _readme_block("zoo-table") == markdown_table(models)  # regenerate: list-models --markdown
    assert _readme_block("bleu-grid") == bleu_grid(models)  # regenerate: list-models --grid
    assert _readme_block("length-table") == length_table(models)  # regenerate: list-models --lengths
    assert _readme_block("attribution-table") == attribution_table(models)  # regenerate: list-models --attribution
    lessons = lesson_table(models)  # regenerate: list-models --lessons
    assert _readme_block("lesson-table") == lessons
    assert lessons.count("\n| eng-fra-") == sum(entry["config"]["task"] == "eng-fra" for entry in models.values())
    assert "<" not in lessons  # a model's <unk> is escaped, or GitHub would drop it as an HTML tag


def test_model_text_in_a_markdown_table_keeps_its_angle_brackets_and_bars():
    from seq2seq_viz.cli import markdown_text

    assert markdown_text("j'adore le <unk>. a|b & c") == "j'adore le &lt;unk&gt;. a\\|b &amp; c"


@pytest.mark.parametrize(
    ("flags", "sentence"),
    [
        (["--mode", "sample", "--top-k", "-1"], "The top-k must be a whole number from 1 to 10,000 (or None), not -1."),
        (
            ["--mode", "sample", "--seed", "18446744073709551616"],
            "The seed must be a whole number from 0 to 9,223,372,036,854,775,807, not 18446744073709551616.",
        ),
        (["--mode", "beam", "--beam-size", "2.5"], "The beam width must be a whole number from 1 to 10, not 2.5."),
        (["--mode", "beam", "--length-penalty", "nan"], "The length penalty must be a number from 0 to 5, not nan."),
        (["--max-len", "abc"], "The step limit (max_len) must be a whole number from 1 to 100 (or None), not 'abc'."),
        (
            ["--mode", "teacher-forced", "--reference", "cba", "--max-len", "3"],
            "The teacher_forced mode takes no option 'max_len'; it knows reference.",
        ),
    ],
)
def test_bad_option_values_get_the_gates_sentence_and_exit_1(flags, sentence):
    result = cli("translate", "--model", MODEL, *flags, "abc", check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == f"error: {sentence}"


def test_an_input_file_that_is_not_utf8_gets_one_sentence(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes(b"abc\n\xff\xfe\n")
    result = cli("translate", "--model", MODEL, "--input-file", str(path), check=False)
    assert result.returncode == 1 and result.stderr.strip() == f"error: The file {path} is not UTF-8 text (byte 4)."


def test_a_reader_that_leaves_early_is_not_an_error(tmp_path):
    """`translate --input-file big.txt | head -1`: the pipe closes under the writer; no error, exit 0."""
    path = tmp_path / "in.txt"
    path.write_text("abcdefghij\n" * 3000, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "seq2seq_viz", "translate", "--model", MODEL, "--input-file", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout.readline().strip() == b"jihgfedcba"
    process.stdout.close()  # as head does after its line
    assert process.wait(timeout=120) == 0
    assert b"Broken pipe" not in process.stderr.read()


def test_the_length_targets_read_the_cards():
    from seq2seq_viz.cli import length_table, length_targets

    def card(attention, test, joins, longest=None):
        entry = {"config": {"task": "eng-fra", "attention": attention},
                 "metrics": {"test": {"bleu": test, "bleu_by_length": {"1-3": test}},
                             "test_joined": {"bleu": joins, "bleu_by_length": {"23-27": joins}}}}  # fmt: skip
        entry |= {"training": {"seconds": 3600.0 if attention == "dot" else 4800.0}}
        return entry | ({"task": {"longest_source": longest}} if longest else {})

    zoo = {
        "a-dot": card("dot", 46.0, 39.5, 27),
        "a-concat": card("concat", 47.0, 30.0, 27),
        "a-none": card("none", 40.0, 12.0),
    }
    assert length_targets(zoo) == [
        "- Trained on joined pairs (sources up to 27 words): 2 of 3 models (`a-concat`, `a-dot`).",
        "- Best test BLEU: `a-concat` 47.0 (target ≥ 45: met).",
        "- Best attention model on the 10–27-word joins: `a-dot` 46.0 → 39.5 (-6.5) (target within 8 BLEU of its "
        "test score: met).",
        "- Fixed context, test → joins: `a-none` 40.0 → 12.0 (-28.0).",
        "- Training on the joins: 60–80 min a model on one core (mean 70, 2 models); all 3 at that mean: 3.5 "
        "core-hours.",
    ]
    every = zoo | {"a-none": card("none", 40.0, 12.0, 27)}
    assert length_targets(every)[-1] == (
        "- Training on the joins: 60–80 min a model on one core (mean 73); all 3 together: 3.7 core-hours, about 1.8 "
        "hours with `build-zoo --jobs 2`."
    )
    zoo["a-dot"] = card("dot", 44.0, 35.0, 27)
    assert length_targets(zoo)[2].endswith(
        "`a-dot` 44.0 → 35.0 (-9.0) (target within 8 BLEU of its test score: not met)."
    )
    zoo["a-concat"] = card("concat", 44.9, 30.0, 27)
    assert length_targets(zoo)[1] == "- Best test BLEU: `a-concat` 44.9 (target ≥ 45: not met)."
    table = length_table(zoo).splitlines()
    assert table[2] == "| a-dot | 27 | 44.0 | – | – | – | – | – | 35.0 | 44.0 | 35.0 | -9.0 |"
    assert table[4] == "| a-none | – | 40.0 | – | – | – | – | – | 12.0 | 40.0 | 12.0 | -28.0 |"
    assert length_targets({}) == ["No eng-fra model with test and joined scores is installed."]
