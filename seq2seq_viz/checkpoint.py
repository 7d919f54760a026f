"""Checkpoints: weights in safetensors plus a JSON card (config, vocabularies, metrics, provenance, sha256).

Loading validates everything and fails with one sentence on any damage or mismatch. Nothing is ever unpickled.
A checkpoint lives in two files (save_checkpoint / load_checkpoint) or, for a model trained live that never
touches the disk, in memory as its two parts (checkpoint_to_bytes / checkpoint_from_bytes): the same card, the
same checks.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load, load_file, save, save_file

from .config import ModelConfig, TrainConfig
from .errors import CheckpointError, ConfigError
from .model import Seq2Seq
from .vocab import Vocab

FORMAT = "seq2seq_viz.checkpoint/1"
# How the weights are stored; loading always restores float32. "int8" keeps the vocabulary-sized tables (the two
# embeddings and the output projection W_s, most of a word-level model) as int8 rows with one float16 scale per
# row, and every other tensor in float16.
DTYPES = {"float32": torch.float32, "float16": torch.float16, "int8": torch.float16}
ROW_QUANTIZED = ("encoder.embedding.weight", "decoder.embedding.weight", "decoder.W_s.weight")
SCALE_SUFFIX = ".row_scale"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def paths_for(path: str | Path) -> tuple[Path, Path]:
    """(weights, card) for a stem, a .safetensors path or a .json path."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".safetensors", ".json") else path
    return stem.with_suffix(".safetensors"), stem.with_suffix(".json")


def parameter_count(model: Seq2Seq) -> int:
    return sum(p.numel() for p in model.parameters())


def quantize_rows(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """int8 rows and one float16 scale per row (max |row| / 127): each weight is off by at most half a scale."""
    weight = weight.float()
    smallest = torch.finfo(torch.float16).tiny  # an all-zero row (the PAD embedding) keeps a usable scale
    scale = (weight.abs().amax(dim=1) / 127).clamp_min(smallest).half()
    rows = torch.round(weight / scale.float()[:, None]).clamp(-127, 127).to(torch.int8)
    return rows.contiguous(), scale.contiguous()


def dequantize_rows(rows: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return rows.float() * scale.float()[:, None]


def stored_tensors(model: Seq2Seq, dtype: str) -> dict[str, torch.Tensor]:
    """The state dict as a checkpoint of this dtype stores it."""
    tensors = {}
    for key, value in model.state_dict().items():
        value = value.detach().to("cpu", DTYPES[dtype]).contiguous()
        if dtype == "int8" and key in ROW_QUANTIZED:
            tensors[key], tensors[key + SCALE_SUFFIX] = quantize_rows(value)
        else:
            tensors[key] = value
    return tensors


def restored_tensors(tensors: dict[str, torch.Tensor], label: str = "model") -> dict[str, torch.Tensor]:
    """float32 tensors from stored ones: int8 rows are multiplied back by their scales."""
    scales = {k.removesuffix(SCALE_SUFFIX): v for k, v in tensors.items() if k.endswith(SCALE_SUFFIX)}
    stored = {k: v for k, v in tensors.items() if not k.endswith(SCALE_SUFFIX)}
    quantized = {k for k, v in stored.items() if v.dtype == torch.int8}
    if quantized != scales.keys() or any(tuple(scales[k].shape) != stored[k].shape[:1] for k in quantized):
        raise CheckpointError(f"Checkpoint {label!r}: its int8 weights and their row scales do not match.")
    return {k: dequantize_rows(v, scales[k]) if k in quantized else v.float() for k, v in stored.items()}


def stored_copy(model: Seq2Seq, dtype: str) -> Seq2Seq:
    """A copy of the model with exactly the weights a checkpoint of this dtype would load (for evaluating it)."""
    copy = Seq2Seq(model.config, model.source_vocab, model.target_vocab)
    copy.load_state_dict(restored_tensors(stored_tensors(model, dtype), model.name), strict=True)
    return copy.eval()


def save_checkpoint(
    model: Seq2Seq,
    path: str | Path,
    train_config: TrainConfig | None = None,
    metrics: dict[str, Any] | None = None,
    provenance: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    dtype: str = "float32",
) -> dict[str, Any]:
    """Write <stem>.safetensors and <stem>.json; returns the card.

    float16 halves the size, int8 (see DTYPES) about quarters a word-level model's; loading restores float32.
    """
    weights_path, card_path = paths_for(path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    save_file(stored_tensors(model, dtype), str(weights_path), metadata={"format": FORMAT, "name": model.name})
    card = _card(model, train_config, metrics, provenance, extra, dtype, weights_path.name, sha256_of(weights_path))
    card_path.write_text(json.dumps(card, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return card


def _card(
    model: Seq2Seq,
    train_config: TrainConfig | None,
    metrics: dict[str, Any] | None,
    provenance: dict[str, Any] | None,
    extra: dict[str, Any] | None,
    dtype: str,
    weights_file: str,
    sha256: str,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "name": model.name,
        "config": model.config.to_dict(),
        "train_config": train_config.to_dict() if train_config else None,
        "source_vocab": model.source_vocab.to_json(),
        "target_vocab": model.target_vocab.to_json(),
        "parameters": parameter_count(model),
        "dtype": dtype,
        "metrics": metrics or {},
        "provenance": provenance or {},
        **(extra or {}),
        "weights_file": weights_file,
        "sha256": sha256,
    }


def checkpoint_to_bytes(
    model: Seq2Seq,
    train_config: TrainConfig | None = None,
    metrics: dict[str, Any] | None = None,
    provenance: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    dtype: str = "float32",
) -> tuple[bytes, str]:
    """The checkpoint's two parts in memory: (safetensors bytes, JSON card text), as save_checkpoint would write
    them to <name>.safetensors and <name>.json (so saving both under those names gives a loadable checkpoint)."""
    weights = save(stored_tensors(model, dtype), metadata={"format": FORMAT, "name": model.name})
    sha256 = hashlib.sha256(weights).hexdigest()
    card = _card(model, train_config, metrics, provenance, extra, dtype, f"{model.name}.safetensors", sha256)
    return weights, json.dumps(card, ensure_ascii=False, indent=1) + "\n"


def read_card(path: str | Path) -> dict[str, Any]:
    """The JSON card of a checkpoint, checked for format and required fields (weights not read)."""
    _, card_path = paths_for(path)
    label = card_path.with_suffix("").name
    if not card_path.is_file():
        raise CheckpointError(f"Checkpoint {label!r} has no JSON card at {card_path}.")
    try:
        text = card_path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"Checkpoint {label!r}: its JSON card is damaged (not valid JSON).") from None
    return _parsed_card(text, label)


def _parsed_card(text: str, label: str) -> dict[str, Any]:
    """The card's JSON text, checked for format and required fields."""
    try:
        card = json.loads(text)
    except json.JSONDecodeError:
        raise CheckpointError(f"Checkpoint {label!r}: its JSON card is damaged (not valid JSON).") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        found = card.get("format") if isinstance(card, dict) else None
        raise CheckpointError(f"Checkpoint {label!r} is of format {found!r}; this version reads {FORMAT}.")
    missing = [k for k in ("config", "source_vocab", "target_vocab", "sha256", "dtype") if k not in card]
    if missing:
        raise CheckpointError(f"Checkpoint {label!r}: its card lacks {', '.join(missing)}.")
    if card["dtype"] not in DTYPES:
        stored = card["dtype"]
        raise CheckpointError(f"Checkpoint {label!r} stores its weights as {stored!r}, which this version cannot read.")
    return card


def _check_safetensors_header(path: Path, label: str) -> None:
    """A safetensors file starts with an 8-byte little-endian header size, then a JSON object."""
    with open(path, "rb") as handle:
        head = handle.read(9)
    _check_header(head, path.stat().st_size, label)


def _check_header(head: bytes, total_size: int, label: str) -> None:
    """The first 9 bytes of a safetensors file of total_size bytes: a header size that fits, then "{"."""
    if len(head) < 9:
        raise CheckpointError(f"Checkpoint {label!r}: the weights file is truncated.")
    (size,) = struct.unpack("<Q", head[:8])
    if head[8:9] == b"{" and 8 + size <= total_size:
        return
    if head[:1] == b"\x80" or head[:2] == b"PK":  # pickle protocol 2+, or torch.save's zip of pickles
        raise CheckpointError(f"Checkpoint {label!r}: the weights file is a pickle, which is never loaded.")
    raise CheckpointError(f"Checkpoint {label!r}: the weights file is not a valid safetensors file.")


def load_checkpoint(path: str | Path, expected_sha256: str | None = None, device: str = "cpu") -> Seq2Seq:
    """Rebuild a model from its card and weights, validating format, hash, config, vocabularies and shapes."""
    weights_path, card_path = paths_for(path)
    label = card_path.with_suffix("").name
    card = read_card(path)
    if not weights_path.is_file():
        raise CheckpointError(f"Checkpoint {label!r} has no weights file at {weights_path}.")
    _check_safetensors_header(weights_path, label)
    _check_sha256(sha256_of(weights_path), (card["sha256"], expected_sha256), label)
    try:
        tensors = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"Checkpoint {label!r}: the weights file cannot be read ({exc}).") from None
    return _model_from(card, tensors, label).to(device).eval()


def checkpoint_from_bytes(
    weights: bytes, card: str | bytes, expected_sha256: str | None = None, device: str = "cpu"
) -> Seq2Seq:
    """Rebuild a model from a checkpoint's two parts in memory (checkpoint_to_bytes), with load_checkpoint's checks."""
    if isinstance(card, bytes | bytearray):
        try:
            card = bytes(card).decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError("Checkpoint 'in memory': its JSON card is damaged (not valid JSON).") from None
    parsed = _parsed_card(card, "in memory")
    label = str(parsed.get("name") or "in memory")
    if not isinstance(weights, bytes | bytearray | memoryview):
        raise CheckpointError(f"Checkpoint {label!r}: its weights are not bytes.")
    weights = bytes(weights)
    _check_header(weights[:9], len(weights), label)
    _check_sha256(hashlib.sha256(weights).hexdigest(), (parsed["sha256"], expected_sha256), label)
    try:
        tensors = load(weights)
    except (SafetensorError, ValueError) as exc:
        raise CheckpointError(f"Checkpoint {label!r}: the weights file cannot be read ({exc}).") from None
    return _model_from(parsed, tensors, label).to(device).eval()


def _check_sha256(actual: str, expected: tuple[str | None, ...], label: str) -> None:
    for value in expected:
        if value is not None and actual != value:
            raise CheckpointError(
                f"Checkpoint {label!r}: the weights file does not match its recorded sha256 (damaged or tampered)."
            )


def _model_from(card: dict[str, Any], tensors: dict[str, torch.Tensor], label: str) -> Seq2Seq:
    """The model a validated card describes, with the stored tensors checked against its shapes and loaded."""
    try:
        config = ModelConfig.from_dict(card["config"])
        source_vocab = Vocab.from_json(card["source_vocab"])
        target_vocab = Vocab.from_json(card["target_vocab"])
    except (ConfigError, ValueError, TypeError) as exc:
        raise CheckpointError(f"Checkpoint {label!r}: its card is inconsistent ({exc}).") from None
    tensors = restored_tensors(tensors, label)
    model = Seq2Seq(config, source_vocab, target_vocab)
    expected_shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found_shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    if expected_shapes != found_shapes:
        missing = sorted(set(expected_shapes) - set(found_shapes))
        extra = sorted(set(found_shapes) - set(expected_shapes))
        wrong = sorted(k for k in set(expected_shapes) & set(found_shapes) if expected_shapes[k] != found_shapes[k])
        if missing:
            detail = f"missing {missing[:3]}"
        elif extra:
            detail = f"unexpected {extra[:3]}"
        else:
            detail = f"{wrong[0]} is {found_shapes[wrong[0]]}, the config needs {expected_shapes[wrong[0]]}"
        raise CheckpointError(f"Checkpoint {label!r}: its weights do not fit its config ({detail}).")
    model.load_state_dict(tensors, strict=True)
    model.card = card  # type: ignore[attr-defined]  # metrics and provenance, for the UI's model card
    return model
