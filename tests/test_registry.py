"""A person's models directory: scan_models offers every good checkpoint and one sentence per bad file."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from seq2seq_viz import checkpoint, registry
from seq2seq_viz.errors import CheckpointError, UnknownModelError
from seq2seq_viz.registry import examples_for, list_models, load_model, manifest_entry, scan_models, write_manifest

SMALL = "reverse-gru-none"  # 113 kB of weights
PRETRAINED = registry.pretrained_dir()
pytestmark = pytest.mark.skipif(SMALL not in list_models(), reason=f"{SMALL} is not in pretrained/")


def copy_model(directory: Path, name: str, source: str = SMALL) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    card, weights = directory / f"{name}.json", directory / f"{name}.safetensors"
    shutil.copy(PRETRAINED / f"{source}.json", card)
    shutil.copy(PRETRAINED / f"{source}.safetensors", weights)
    return card, weights


def edit_card(card: Path, **changes) -> None:
    data = json.loads(card.read_text())
    for key, value in changes.items():
        if key.startswith("config_"):
            data["config"][key.removeprefix("config_")] = value
        else:
            data[key] = value
    card.write_text(json.dumps(data))


def only_problem(problems: list[str], name: str) -> str:
    mine = [p for p in problems if name in p]
    assert len(mine) == 1, problems
    assert "\n" not in mine[0] and "Traceback" not in mine[0]
    return mine[0]


@pytest.fixture
def messy(tmp_path) -> Path:
    """One good model and one damaged or hostile file of every kind."""
    d = tmp_path / "models"
    copy_model(d, "good")
    copy_model(d, "bad-json")[0].write_text('{"format": "seq2seq_viz.checkpoint/1", ')
    copy_model(d, "no-weights")[1].unlink()
    copy_model(d, "no-card")[0].unlink()
    weights = copy_model(d, "truncated")[1]
    weights.write_bytes(weights.read_bytes()[:-1000])
    edit_card(copy_model(d, "wrong-shape")[0], config_hidden_size=32)
    edit_card(copy_model(d, "absurd")[0], config_hidden_size=60000, config_embedding_size=60000)
    edit_card(copy_model(d, "unknown-cell")[0], config_cell="transformer")
    (d / "not-a-card.json").write_text(json.dumps({"hello": "world"}))
    shutil.copy(PRETRAINED / f"{SMALL}.safetensors", d / "not-a-card.safetensors")
    copy_model(d, "tampered")[1].write_bytes(
        (PRETRAINED / f"{SMALL}.safetensors").read_bytes()[:-4] + b"\x00\x00\x00\x00"
    )
    pickle = copy_model(d, "pickled")[1]
    pickle.write_bytes(b"\x80\x04\x95" + b"\x00" * 64)
    copy_model(d, "Good")  # differs from good only in case
    (d / "odd name.json").write_text("{}")
    (d / "notes.txt").write_text("not a model, not a problem")
    (d / ".hidden.json").write_text("{}")
    return d


EXPECTED = {
    "bad-json": "not valid JSON",
    "no-weights": "has no weights file no-weights.safetensors",
    "no-card.safetensors": "has no card no-card.json",
    "truncated": "truncated",
    "wrong-shape": "do not fit its config",
    "absurd": "asks for embedding_size 60,000; the lab loads models with embedding_size at most 2,048",
    "unknown-cell": "cell must be one of",
    "not-a-card": "is not a model card",
    "tampered": "sha256",
    "pickled": "pickle",
    "Good.json": "only in case",
    "odd name.json": "may hold only letters",
}


def test_scan_offers_the_good_model_and_one_sentence_per_bad_file(messy):
    found, problems = scan_models(messy)
    assert list(found) == ["good"]
    for name, message in EXPECTED.items():
        assert message in only_problem(problems, f"{name}"), name
    assert len(problems) == len(EXPECTED)

    entry = found["good"]
    shipped = list_models()[SMALL]
    assert entry == {**shipped, "name": "good", "weights_file": "good.safetensors"}  # a list_models entry's shape
    assert set(entry) >= {"config", "metrics", "sha256", "weights_file", "parameters", "provenance", "dtype"}


def test_a_scanned_model_loads_and_offers_its_examples_by_name(messy):
    model = load_model("good", directory=messy)
    assert model.name == SMALL and model.card["sha256"] == scan_models(messy)[0]["good"]["sha256"]
    from seq2seq_viz import decoding

    assert decoding.greedy(model, "abc").output_tokens[-1] == "<eos>"
    examples = examples_for("good", messy)
    assert examples == examples_for(SMALL)
    assert examples["inputs"] and examples["test_pairs"]


@pytest.mark.parametrize("name", ["absurd", "wrong-shape", "truncated", "tampered", "no-weights"])
def test_loading_a_bad_one_by_name_is_one_sentence_and_allocates_nothing_first(messy, name):
    with pytest.raises(CheckpointError) as caught:
        load_model(name, directory=messy)
    assert EXPECTED[name] in str(caught.value)


def test_an_unknown_name_in_a_directory(messy):
    with pytest.raises(UnknownModelError, match="no model called 'nope'"):
        load_model("nope", directory=messy)


def test_a_missing_or_unreadable_directory_is_one_sentence(tmp_path):
    assert scan_models(tmp_path / "nowhere") == ({}, [f"The models directory {tmp_path / 'nowhere'} does not exist."])
    (tmp_path / "file").write_text("x")
    found, problems = scan_models(tmp_path / "file")
    assert found == {} and problems == [f"The models directory {tmp_path / 'file'} is not a directory."]
    assert scan_models(tmp_path) == ({}, [])  # empty: nothing to offer, nothing wrong


def test_the_scan_is_bounded_and_says_so(tmp_path, monkeypatch):
    for name in ("m1", "m2", "m3"):
        copy_model(tmp_path, name)
    monkeypatch.setattr(registry, "SCAN_MODELS_MAX", 2)
    found, problems = scan_models(tmp_path)
    assert list(found) == ["m1", "m2"]
    assert problems == [f"The scan stopped after 2 models; 1 more card(s) in {tmp_path} were not read."]


def test_oversized_and_special_files_are_refused_without_reading_them(tmp_path, monkeypatch):
    copy_model(tmp_path, "big-card")
    monkeypatch.setattr(checkpoint, "CARD_BYTES_MAX", 1000)
    if hasattr(os, "mkfifo"):  # a FIFO would block a reader forever
        shutil.copy(PRETRAINED / f"{SMALL}.safetensors", tmp_path / "fifo.safetensors")
        os.mkfifo(tmp_path / "fifo.json")
    found, problems = scan_models(tmp_path)
    assert found == {}
    assert "the lab reads at most" in only_problem(problems, "big-card")
    if hasattr(os, "mkfifo"):
        assert "not a regular file" in only_problem(problems, "fifo")


def test_unchanged_files_are_not_hashed_again(tmp_path, monkeypatch):
    card, _ = copy_model(tmp_path, "cached")
    calls = []
    real = registry.sha256_of
    monkeypatch.setattr(registry, "sha256_of", lambda path: calls.append(path) or real(path))
    assert list(scan_models(tmp_path)[0]) == ["cached"]
    assert list(scan_models(tmp_path)[0]) == ["cached"]
    assert len(calls) == 1
    edit_card(card, config_hidden_size=32)  # changed on disk: looked at again, and refused
    found, problems = scan_models(tmp_path)
    assert found == {} and "do not fit" in only_problem(problems, "cached")


def test_a_manifest_is_optional_checked_when_present_and_ignored_when_damaged(tmp_path):
    card, _ = copy_model(tmp_path, "listed")
    copy_model(tmp_path, "stale")
    entry = manifest_entry(json.loads(card.read_text()))
    write_manifest({"listed": {**entry, "weights_file": "listed.safetensors"}, "stale": {**entry, "sha256": "0" * 64}},
                   tmp_path)  # fmt: skip
    found, problems = scan_models(tmp_path)
    assert list(found) == ["listed"]
    assert "not the one MANIFEST.json lists" in only_problem(problems, "stale")
    assert load_model("listed", directory=tmp_path).name == SMALL

    (tmp_path / "MANIFEST.json").write_text("{damaged")
    found, problems = scan_models(tmp_path)
    assert sorted(found) == ["listed", "stale"]
    assert problems == [f"MANIFEST.json was ignored: The model list {tmp_path / 'MANIFEST.json'} is damaged (not "
                        "valid JSON)."]  # fmt: skip
    assert load_model("stale", directory=tmp_path).name == SMALL  # the card beside it still opens


def test_a_manifest_cannot_point_outside_its_directory(tmp_path):
    card, _ = copy_model(tmp_path / "elsewhere", "victim")
    entry = manifest_entry(json.loads(card.read_text()))
    (tmp_path / "zoo").mkdir()
    write_manifest({"evil": {**entry, "weights_file": "../elsewhere/victim.safetensors"}}, tmp_path / "zoo")
    with pytest.raises(CheckpointError, match="no usable weights file"):
        load_model("evil", directory=tmp_path / "zoo")


def test_examples_offered_are_only_text_the_lab_accepts(tmp_path):
    card, _ = copy_model(tmp_path, "odd-examples")
    pairs = [{"source": "abc", "references": ["cba", 7]}, {"source": 5, "references": ["x"]}, "junk",
             {"source": "x" * 10_000, "references": ["x"]}, {"source": "ab", "references": "ba"}]  # fmt: skip
    edit_card(card, examples=["abc", {"html": "<b>"}, "", "d" * 10_000], test_examples=pairs)
    assert examples_for("odd-examples", tmp_path) == {
        "inputs": ["abc"],
        "test_pairs": [{"source": "abc", "references": ["cba"]}],
    }
    edit_card(card, examples="not a list", test_examples={"no": "list"})
    assert examples_for("odd-examples", tmp_path) == {"inputs": [], "test_pairs": []}
    found, _ = scan_models(tmp_path)
    assert "odd-examples" in found
