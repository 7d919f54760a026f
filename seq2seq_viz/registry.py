"""The pretrained zoo: MANIFEST.json lists the shipped models; names resolve to validated checkpoints."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .checkpoint import load_checkpoint, paths_for, read_card
from .errors import CheckpointError, UnknownModelError
from .model import Seq2Seq

MANIFEST_FORMAT = "seq2seq_viz.manifest/1"
CARD_ONLY = ("format", "source_vocab", "target_vocab", "examples", "test_examples")  # kept out of the manifest
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def pretrained_dir() -> Path:
    """Where the zoo lives: $SEQ2SEQ_VIZ_PRETRAINED, else <repo>/pretrained."""
    return Path(os.environ.get("SEQ2SEQ_VIZ_PRETRAINED", PACKAGE_ROOT / "pretrained"))


def read_manifest(directory: Path | None = None) -> dict[str, Any]:
    path = (directory or pretrained_dir()) / "MANIFEST.json"
    if not path.is_file():
        return {"format": MANIFEST_FORMAT, "models": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise CheckpointError(f"The model list {path} is damaged (not valid JSON).") from None
    if manifest.get("format") != MANIFEST_FORMAT:
        raise CheckpointError(f"The model list {path} is of an unknown format.")
    return manifest


def write_manifest(models: dict[str, Any], directory: Path | None = None) -> Path:
    path = (directory or pretrained_dir()) / "MANIFEST.json"
    ordered = {name: models[name] for name in sorted(models)}
    path.write_text(json.dumps({"format": MANIFEST_FORMAT, "models": ordered}, indent=1, ensure_ascii=False) + "\n")
    return path


def manifest_entry(card: dict[str, Any]) -> dict[str, Any]:
    """What the manifest records of a checkpoint: the card without its vocabularies and example sentences."""
    return {k: v for k, v in card.items() if k not in CARD_ONLY}


def list_models(directory: Path | None = None) -> dict[str, dict[str, Any]]:
    """name -> manifest entry for every shipped model."""
    return read_manifest(directory)["models"]


def resolve(name_or_path: str, directory: Path | None = None) -> tuple[Path, str | None]:
    """A model name from the manifest, or a checkpoint path -> (path, sha256 the manifest expects or None)."""
    models = list_models(directory)
    if name_or_path in models:
        entry = models[name_or_path]
        return (directory or pretrained_dir()) / entry["weights_file"], entry["sha256"]
    weights, card = paths_for(name_or_path)
    if card.is_file() or weights.is_file():
        return weights, None
    known = ", ".join(sorted(models)) or "none are installed"
    raise UnknownModelError(f"There is no model called {name_or_path!r}. Available models: {known}.")


def load_model(name_or_path: str, device: str = "cpu", directory: Path | None = None) -> Seq2Seq:
    """Load a shipped model by name (checked against the manifest's sha256) or a checkpoint by path."""
    path, expected = resolve(name_or_path, directory)
    return load_checkpoint(path, expected_sha256=expected, device=device)


def model_info(name_or_path: str, directory: Path | None = None) -> dict[str, Any]:
    """The card of a model without loading its weights."""
    path, _ = resolve(name_or_path, directory)
    return read_card(path)


def examples_for(name_or_path: str, directory: Path | None = None) -> dict[str, Any]:
    """Inputs to offer and test pairs (source, references) for a model, from its card (no data file needed)."""
    card = model_info(name_or_path, directory)
    return {"inputs": card.get("examples", []), "test_pairs": card.get("test_examples", [])}
