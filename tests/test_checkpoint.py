"""Checkpoints round-trip; pickles, truncation, tampering and mismatches are refused with one sentence."""

import json
import pickle

import pytest
import torch

from seq2seq_viz import decoding
from seq2seq_viz.checkpoint import ROW_QUANTIZED, load_checkpoint, save_checkpoint, stored_copy
from seq2seq_viz.errors import CheckpointError


@pytest.fixture
def saved(tmp_path, make_model):
    model = make_model(0, cell="lstm", attention="additive", bidirectional=True)
    save_checkpoint(model, tmp_path / "m", metrics={"test": {"exact_match": 0.5}})
    return model, tmp_path / "m"


def test_round_trip_gives_the_same_trace(saved):
    model, path = saved
    loaded = load_checkpoint(path)
    assert loaded.config == model.config and loaded.target_vocab == model.target_vocab
    assert decoding.greedy(loaded, "abc") == decoding.greedy(model, "abc")
    assert loaded.card["metrics"]["test"]["exact_match"] == 0.5
    assert load_checkpoint(path.with_suffix(".json")).config == model.config  # either file names the model


def test_float16_storage_restores_float32(tmp_path, make_model):
    model = make_model(1)
    save_checkpoint(model, tmp_path / "h", dtype="float16")
    loaded = load_checkpoint(tmp_path / "h")
    weight = loaded.decoder.W_s.weight
    assert weight.dtype == torch.float32
    assert (weight - model.decoder.W_s.weight).abs().max() < 1e-3


def test_int8_storage_keeps_every_weight_within_half_a_row_scale(tmp_path, make_model):
    from safetensors.torch import load_file

    model = make_model(2, attention="concat")
    save_checkpoint(model, tmp_path / "q", dtype="int8")
    stored = load_file(str(tmp_path / "q.safetensors"))
    loaded = load_checkpoint(tmp_path / "q")
    original = {k: v.half().float() for k, v in model.state_dict().items()}
    for key, value in loaded.state_dict().items():
        assert value.dtype == torch.float32
        if key in ROW_QUANTIZED:
            assert stored[key].dtype == torch.int8 and stored[key].abs().amax(dim=1).eq(127).any()
            scale = stored[key + ".row_scale"].float()[:, None]
            error = (value - original[key]).abs()
            assert (error <= scale * 0.5 + 1e-6).all() and error.max() > 0
        else:
            assert stored[key].dtype == torch.float16 and torch.equal(value, original[key])
    copy = stored_copy(model, "int8")  # what the zoo evaluates before writing is exactly what loads
    copied, restored = copy.state_dict(), loaded.state_dict()
    assert copied.keys() == restored.keys() and all(torch.equal(copied[k], restored[k]) for k in copied)
    assert decoding.greedy(loaded, "abc").output_tokens == decoding.greedy(copy, "abc").output_tokens


def test_int8_rows_without_their_scales_and_unknown_dtypes_are_refused(tmp_path, make_model):
    from safetensors.torch import load_file, save_file

    from seq2seq_viz.checkpoint import sha256_of

    save_checkpoint(make_model(3), tmp_path / "q", dtype="int8")
    weights, card_path = tmp_path / "q.safetensors", tmp_path / "q.json"
    card = json.loads(card_path.read_text())
    card_path.write_text(json.dumps({**card, "dtype": "int3"}))
    with pytest.raises(CheckpointError, match="stores its weights as 'int3'"):
        load_checkpoint(tmp_path / "q")
    tensors = load_file(str(weights))
    for damaged in (
        {k: v for k, v in tensors.items() if k != "decoder.W_s.weight.row_scale"},
        {**tensors, "decoder.W_s.weight.row_scale": tensors["decoder.W_s.weight.row_scale"][:-1]},
        {**tensors, "decoder.W_s.bias.row_scale": tensors["decoder.W_s.weight.row_scale"].clone()},
        {**tensors, "decoder.nothing.row_scale": tensors["decoder.W_s.weight.row_scale"].clone()},
    ):
        save_file(damaged, str(weights))
        card_path.write_text(json.dumps({**card, "sha256": sha256_of(weights)}))
        with pytest.raises(CheckpointError, match="row scales do not match"):
            load_checkpoint(tmp_path / "q")


def test_a_pickle_is_refused_without_unpickling(saved):
    _, path = saved
    weights = path.with_suffix(".safetensors")
    weights.write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(path)
    torch.save({"x": torch.zeros(2)}, weights)  # torch's zip-pickle format
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(path)


def test_truncated_and_tampered_weights_are_refused(saved):
    _, path = saved
    weights = path.with_suffix(".safetensors")
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])  # the header describes the whole file: caught before hashing
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)
    weights.write_bytes(data[:5])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)
    tampered = bytearray(data)
    tampered[-3] ^= 0xFF
    weights.write_bytes(bytes(tampered))
    with pytest.raises(CheckpointError, match="tampered"):
        load_checkpoint(path)


def test_card_problems_are_refused(saved):
    _, path = saved
    card_path = path.with_suffix(".json")
    card = json.loads(card_path.read_text())
    for change, message in [
        ({"format": "other/9"}, "format"),
        ({"config": {**card["config"], "hidden_size": 10}}, "do not fit"),
        ({"target_vocab": card["target_vocab"][:-2]}, "do not fit"),
        ({"config": {**card["config"], "cell": "mystery"}}, "inconsistent"),
    ]:
        card_path.write_text(json.dumps({**card, **change}))
        with pytest.raises(CheckpointError, match=message) as info:
            load_checkpoint(path)
        assert "\n" not in str(info.value)
    card_path.write_text("{not json")
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(path)
    card_path.unlink()
    with pytest.raises(CheckpointError, match="no JSON card"):
        load_checkpoint(path)


def test_manifest_hash_is_checked(saved):
    _, path = saved
    with pytest.raises(CheckpointError, match="sha256"):
        load_checkpoint(path, expected_sha256="0" * 64)


def test_a_header_length_whose_first_byte_looks_like_pickle_still_loads(tmp_path, make_model):
    """A safetensors header of 0x..80 bytes starts with the byte pickle uses (0x80); it must still load."""
    from safetensors.torch import save_file

    from seq2seq_viz.checkpoint import sha256_of

    model = make_model(0)
    save_checkpoint(model, tmp_path / "m")
    weights, card_path = tmp_path / "m.safetensors", tmp_path / "m.json"
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    for pad in range(300):  # grow the metadata until the header length's low byte is 0x80
        save_file(tensors, str(weights), metadata={"pad": "x" * pad})
        if weights.read_bytes()[:1] == b"\x80":
            break
    assert weights.read_bytes()[:1] == b"\x80"
    card = json.loads(card_path.read_text())
    card_path.write_text(json.dumps({**card, "sha256": sha256_of(weights)}))
    assert load_checkpoint(tmp_path / "m").config == model.config
