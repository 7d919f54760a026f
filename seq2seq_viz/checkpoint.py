"""Checkpoints: weights in safetensors plus a JSON card (config, vocabularies, metrics, provenance, sha256).

Loading validates everything and fails with one sentence on any damage or mismatch. Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .config import ModelConfig, TrainConfig
from .errors import CheckpointError, ConfigError
from .model import Seq2Seq
from .vocab import Vocab

FORMAT = "seq2seq_viz.checkpoint/1"
DTYPES = {"float32": torch.float32, "float16": torch.float16}


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


def save_checkpoint(
    model: Seq2Seq,
    path: str | Path,
    train_config: TrainConfig | None = None,
    metrics: dict[str, Any] | None = None,
    provenance: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    dtype: str = "float32",
) -> dict[str, Any]:
    """Write <stem>.safetensors and <stem>.json; returns the card. float16 halves the size; loading restores fp32."""
    weights_path, card_path = paths_for(path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu", DTYPES[dtype]).contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(weights_path), metadata={"format": FORMAT, "name": model.name})
    card = {
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
        "weights_file": weights_path.name,
        "sha256": sha256_of(weights_path),
    }
    card_path.write_text(json.dumps(card, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return card


def read_card(path: str | Path) -> dict[str, Any]:
    """The JSON card of a checkpoint, checked for format and required fields (weights not read)."""
    _, card_path = paths_for(path)
    label = card_path.with_suffix("").name
    if not card_path.is_file():
        raise CheckpointError(f"Checkpoint {label!r} has no JSON card at {card_path}.")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"Checkpoint {label!r}: its JSON card is damaged (not valid JSON).") from None
    if not isinstance(card, dict) or card.get("format") != FORMAT:
        found = card.get("format") if isinstance(card, dict) else None
        raise CheckpointError(f"Checkpoint {label!r} is of format {found!r}; this version reads {FORMAT}.")
    missing = [k for k in ("config", "source_vocab", "target_vocab", "sha256", "dtype") if k not in card]
    if missing:
        raise CheckpointError(f"Checkpoint {label!r}: its card lacks {', '.join(missing)}.")
    return card


def _check_safetensors_header(path: Path, label: str) -> None:
    """A safetensors file starts with an 8-byte little-endian header size, then a JSON object."""
    with open(path, "rb") as handle:
        head = handle.read(9)
    if len(head) < 9:
        raise CheckpointError(f"Checkpoint {label!r}: the weights file is truncated.")
    (size,) = struct.unpack("<Q", head[:8])
    if head[8:9] == b"{" and 8 + size <= path.stat().st_size:
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
    actual = sha256_of(weights_path)
    for expected in (card["sha256"], expected_sha256):
        if expected is not None and actual != expected:
            raise CheckpointError(
                f"Checkpoint {label!r}: the weights file does not match its recorded sha256 (damaged or tampered)."
            )
    try:
        config = ModelConfig.from_dict(card["config"])
        source_vocab = Vocab.from_json(card["source_vocab"])
        target_vocab = Vocab.from_json(card["target_vocab"])
    except (ConfigError, ValueError, TypeError) as exc:
        raise CheckpointError(f"Checkpoint {label!r}: its card is inconsistent ({exc}).") from None
    try:
        tensors = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"Checkpoint {label!r}: the weights file cannot be read ({exc}).") from None
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
    model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
    model.card = card  # type: ignore[attr-defined]  # metrics and provenance, for the UI's model card
    return model.to(device).eval()
