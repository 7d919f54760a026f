"""Hostile checkpoints (bench/hostile.py's corpus, built here from a tiny model): every one refused with its own
sentence, at a bounded cost in memory measured in a fresh process, and never with a traceback, through every door
a file can come in by (a path, a directory scan, the CLI, the in-memory pair Train live uses)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from app_support import load_bench

from seq2seq_viz.checkpoint import MODEL_BYTES_MAX, checkpoint_from_bytes, load_checkpoint
from seq2seq_viz.errors import CheckpointError
from seq2seq_viz.registry import load_model, scan_models

ROOT = Path(__file__).resolve().parent.parent


hostile = load_bench("hostile")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hostile")
    return directory, hostile.build(directory)


@pytest.fixture(scope="module")
def measured(corpus):
    directory, cases = corpus
    return hostile.measure(directory, [case.name for case in cases])


def one_sentence(message: str) -> bool:
    return "\n" not in message and "Traceback" not in message and message.endswith((".", ")")) and len(message) < 400


def test_the_corpus_covers_every_class_the_probes_found(corpus):
    _, cases = corpus
    names = {case.name for case in cases}
    assert len(cases) >= 45
    for needed in (
        "card-hidden_size-65536",
        "card-layers-65536",
        "card-vocab-150k",
        "card-50mb",
        "card-nested-100k",
        "card-dtype-list",
        "card-type-max_output_len",
        "card-type-embedding_size",
        "weights-nan",
        "weights-f16-neg-60000",
        "weights-int64",
        "weights-bool",
        "weights-uint8",
        "weights-int8-no-scales",
        "weights-extra-1gb",
        "weights-pickle",
        "weights-truncated",
    ):
        assert needed in names


def test_the_base_checkpoints_load(corpus):
    directory, _ = corpus
    assert load_checkpoint(directory / "base").config.hidden_size == 8
    assert load_checkpoint(directory / "base16").config.hidden_size == 8


def test_every_hostile_checkpoint_is_refused_with_its_sentence_and_no_traceback(corpus, measured):
    _, cases = corpus
    wrong = {}
    for case in cases:
        result = measured[case.name]
        if result["outcome"] != "refused" or not re.search(case.sentence, result["message"]):
            wrong[case.name] = (result["outcome"], result["message"], case.sentence)
        elif not one_sentence(result["message"]):
            wrong[case.name] = ("not one sentence", result["message"], "")
    assert not wrong, wrong


def test_refusing_costs_little_memory(corpus, measured):
    _, cases = corpus
    over = {c.name: measured[c.name]["peak_bytes"] >> 20 for c in cases if measured[c.name]["peak_bytes"] > c.budget}
    assert not over, f"MB of peak memory over the case's budget: {over}"
    assert all(c.budget <= 2 * MODEL_BYTES_MAX for c in cases)  # the bound, for any damaged file


def test_the_measure_sees_an_allocation(tmp_path):
    """The memory figure is real: the same probe reports a 64 MB buffer that a case allocates."""
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import hostile, pathlib, json;"
        "hostile.load_checkpoint = None;"
        "from seq2seq_viz import checkpoint;"
        "checkpoint.load_checkpoint = lambda path: bytearray(64 << 20).__len__();"
        "print(json.dumps(hostile.refuse_all(pathlib.Path('.'), ['x'])))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(ROOT / "bench")], capture_output=True, text=True, check=True, cwd=ROOT
    )
    result = __import__("json").loads(out.stdout)["x"]
    assert result["outcome"] == "loaded" and 60 << 20 <= result["peak_bytes"] <= 80 << 20


def test_the_in_memory_door_refuses_them_too(corpus):
    directory, cases = corpus
    for case in cases:
        card, weights = directory / f"{case.name}.json", directory / f"{case.name}.safetensors"
        if not weights.is_file() or weights.stat().st_size > 1 << 20 or card.stat().st_size > 1 << 20:
            continue
        with pytest.raises(CheckpointError) as caught:
            checkpoint_from_bytes(weights.read_bytes(), card.read_bytes())
        assert one_sentence(str(caught.value)), (case.name, str(caught.value))


def test_a_directory_scan_skips_each_with_one_sentence_and_keeps_the_good_ones(corpus):
    """A scan reads cards and headers and hashes the weights, but not their values: a resealed file of NaN weights
    is offered, and refused when it is opened; everything else is skipped, one sentence each."""
    directory, cases = corpus
    models, problems = scan_models(directory)
    by_value = {"weights-nan", "weights-inf", "weights-neg-inf", "weights-huge", "weights-f16-neg-60000"}
    assert set(models) == {"base", "base16"} | by_value
    assert len(problems) == len(cases) - len(by_value)
    assert all(one_sentence(problem) for problem in problems), problems
    for name in by_value:
        with pytest.raises(CheckpointError, match=r"NaN or infinite|beyond the"):
            load_model(name, directory=directory)


@pytest.mark.parametrize("name", ["card-hidden_size-65536", "card-nested-100k", "weights-nan", "weights-pickle"])
def test_the_cli_says_one_sentence_and_exits_1(corpus, name):
    directory, _ = corpus
    out = subprocess.run(
        [sys.executable, "-m", "seq2seq_viz", "translate", "--model", str(directory / name), "abc"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 1 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and one_sentence(lines[0]), out.stderr
