"""Where models are found: the shipped zoo (MANIFEST.json) and a person's own models directory (scan_models).

Names resolve to validated checkpoints. A directory of someone's files is read defensively: every card and
weights file goes through the checkpoint's own validation (seq2seq_viz.checkpoint.inspect_checkpoint: card
schema, ceilings, header against config) and its hash before it is offered, each bad file becomes one sentence,
and the work one scan does is bounded (files, bytes).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from .checkpoint import CARD_BYTES_MAX, check_file, inspect_checkpoint, load_checkpoint, paths_for, read_card, sha256_of
from .errors import CheckpointError, UnknownModelError
from .limits import LIMITS
from .model import Seq2Seq

MANIFEST_FORMAT = "seq2seq_viz.manifest/1"
CARD_ONLY = ("format", "source_vocab", "target_vocab", "examples", "test_examples")  # kept out of the manifest
PACKAGE_ROOT = Path(__file__).resolve().parent.parent

# Ceilings on what one look at a directory may cost (the shipped zoo: 41 models, 90 MB, cards of 200 kB at most).
SCAN_MODELS_MAX = 200  # cards read per scan; the rest are named in one sentence
SCAN_ENTRIES_MAX = 10_000  # directory entries looked at
SCAN_BYTES_MAX = 2 << 30  # weights hashed per scan (one file's ceilings are the checkpoint's: CARD_BYTES_MAX, ...)
EXAMPLES_MAX = 50  # example inputs offered from one card
TEST_PAIRS_MAX = 100  # test pairs offered from one card
REFERENCES_MAX = 20  # references per test pair
MODEL_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")  # <name>.json / <name>.safetensors in a directory
_NAMES_SHOWN = 40  # characters of an odd file name an error sentence quotes


def pretrained_dir() -> Path:
    """Where the zoo lives: $SEQ2SEQ_VIZ_PRETRAINED, else <repo>/pretrained."""
    return Path(os.environ.get("SEQ2SEQ_VIZ_PRETRAINED", PACKAGE_ROOT / "pretrained"))


def read_manifest(directory: Path | None = None) -> dict[str, Any]:
    path = (directory or pretrained_dir()) / "MANIFEST.json"
    if not path.is_file():
        return {"format": MANIFEST_FORMAT, "models": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"The model list {path} is damaged (not valid JSON).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise CheckpointError(f"The model list {path} is of an unknown format.")
    if not isinstance(manifest.get("models"), dict):
        raise CheckpointError(f"The model list {path} is damaged (it lists no models).")
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
    """A model name -> (weights path, sha256 the manifest expects or None).

    The name is looked up in the directory's MANIFEST.json, then (for an explicit directory, such as a person's
    models directory, which needs no manifest) as <name>.json beside <name>.safetensors in it, then as a path.
    """
    base = Path(directory) if directory is not None else pretrained_dir()
    beside = directory is not None and _model_file_name(name_or_path) and (base / f"{name_or_path}.json").is_file()
    try:
        models = list_models(base)
    except CheckpointError:
        if not beside:
            raise
        models = {}  # a damaged manifest in a person's directory does not hide the cards beside it
    if name_or_path in models:
        entry = models[name_or_path]
        weights_file = entry.get("weights_file") if isinstance(entry, dict) else None
        if not isinstance(weights_file, str) or not _model_file_name(weights_file.removesuffix(".safetensors")):
            raise CheckpointError(f"The model list {base / 'MANIFEST.json'} names no usable weights file for it.")
        sha256 = entry.get("sha256")
        return base / weights_file, sha256 if isinstance(sha256, str) else None
    if beside:
        return base / f"{name_or_path}.safetensors", None
    weights, card = paths_for(name_or_path)
    if card.is_file() or weights.is_file():
        return weights, None
    known = ", ".join(sorted(models)) or "none are installed"
    raise UnknownModelError(f"There is no model called {name_or_path!r}. Available models: {known}.")


def load_model(name_or_path: str, device: str = "cpu", directory: Path | None = None) -> Seq2Seq:
    """Load a model by name (checked against its manifest's sha256, if listed there) or a checkpoint by path.

    load_checkpoint validates the card, its ceilings and the weights' header before it allocates anything, so a
    card that describes a huge model (hidden_size 60000) costs nothing.
    """
    path, expected = resolve(name_or_path, directory)
    return load_checkpoint(path, expected_sha256=expected, device=device)


def model_info(name_or_path: str, directory: Path | None = None) -> dict[str, Any]:
    """The card of a model without loading its weights."""
    path, _ = resolve(name_or_path, directory)
    return read_card(path)  # size and schema checked


def examples_for(name_or_path: str, directory: Path | None = None) -> dict[str, Any]:
    """Inputs to offer and test pairs (source, references) for a model, from its card (no data file needed).

    Whatever the card holds, only strings the lab accepts as input come out (a hand-edited card may hold anything).
    """
    card = model_info(name_or_path, directory)
    inputs = card.get("examples")
    pairs = card.get("test_examples")
    return {
        "inputs": [text for text in (inputs if isinstance(inputs, list) else [])[:EXAMPLES_MAX] if _offerable(text)],
        "test_pairs": [
            {"source": pair["source"], "references": [r for r in pair["references"] if _offerable(r)][:REFERENCES_MAX]}
            for pair in (pairs if isinstance(pairs, list) else [])[:TEST_PAIRS_MAX]
            if isinstance(pair, dict)
            and _offerable(pair.get("source"))
            and isinstance(pair.get("references"), list)
            and any(_offerable(r) for r in pair["references"])
        ],
    }


def _offerable(text: Any) -> bool:
    return isinstance(text, str) and bool(text.strip()) and len(text) <= LIMITS.input_chars


# --- a person's models directory --------------------------------------------------------------------------------


def scan_models(directory: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The models of a directory and a sentence for every file that cannot be offered.

    Returns (name -> manifest-like entry, problems). A model is a <name>.json card with its <name>.safetensors
    beside it; no MANIFEST.json is needed (one that is there is checked against the cards). Each entry has the
    shape of a list_models entry (config, train_config, parameters, dtype, metrics, provenance, training, task,
    weights_file, sha256, ...) with "name" the file name, so load_model(name, directory=directory) and
    examples_for(name, directory) open it. Never raises: a damaged or hostile file (bad JSON, not a model card,
    weights missing or truncated, a config its weights do not fit, absurd sizes, a name clash) is skipped with
    one sentence, and the rest are returned. A scan reads at most SCAN_MODELS_MAX cards and SCAN_BYTES_MAX bytes
    of weights, and says so when it stops; files unchanged since the last scan are not read again.
    """
    directory = Path(directory)
    problems: list[str] = []
    try:
        if not directory.is_dir():
            reason = "does not exist" if not directory.exists() else "is not a directory"
            return {}, [f"The models directory {directory} {reason}."]
        names = _directory_names(directory, problems)
    except OSError as error:
        return {}, [f"The models directory {directory} cannot be read ({error.strerror or error})."]

    manifest = _scan_manifest(directory, names, problems)
    cards, weights = set(), set()
    for name in names:
        stem, _, suffix = name.rpartition(".")
        if suffix in ("json", "safetensors") and stem and name != "MANIFEST.json" and not name.startswith("."):
            if not _model_file_name(stem):
                problems.append(
                    f"{_quoted(name)}: a model's file name may hold only letters, digits, '-' and '_'; "
                    "rename it to open it."
                )
            else:
                (cards if suffix == "json" else weights).add(stem)
    for stem in sorted(weights - cards):
        problems.append(f"{stem}.safetensors has no card {stem}.json beside it, so it cannot be opened.")

    found: dict[str, dict[str, Any]] = {}
    folded: dict[str, str] = {}  # lowercased name -> the name offered (case-insensitive file systems, URLs)
    hashed = 0
    ordered = sorted(cards, key=lambda stem: (stem.lower(), stem != stem.lower(), stem))  # "good" before "Good"
    for index, stem in enumerate(ordered):
        if index >= SCAN_MODELS_MAX or hashed > SCAN_BYTES_MAX:
            left = len(ordered) - index
            why = f"{SCAN_MODELS_MAX} models" if index >= SCAN_MODELS_MAX else f"{SCAN_BYTES_MAX >> 30} GB of weights"
            problems.append(f"The scan stopped after {why}; {left} more card(s) in {directory} were not read.")
            break
        if stem.lower() in folded:
            problems.append(f"{stem}.json: its name differs from {folded[stem.lower()]}.json only in case; skipped.")
            continue
        entry, problem, read = _inspect_cached(directory, stem, manifest.get(stem))
        hashed += read
        if problem:
            problems.append(problem)
        else:
            found[stem], folded[stem.lower()] = entry, stem
    return found, problems


def _directory_names(directory: Path, problems: list[str]) -> list[str]:
    names = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if len(names) >= SCAN_ENTRIES_MAX:
                problems.append(f"{directory} holds more than {SCAN_ENTRIES_MAX:,} files; only some were looked at.")
                break
            names.append(entry.name)
    return sorted(names)


def _scan_manifest(directory: Path, names: list[str], problems: list[str]) -> dict[str, Any]:
    """The entries of the directory's MANIFEST.json, if it has a readable one (the cards are the truth)."""
    if "MANIFEST.json" not in names:
        return {}
    path = directory / "MANIFEST.json"
    try:
        check_file(path, "model list", CARD_BYTES_MAX, "MANIFEST", required=True)
        return read_manifest(directory)["models"]
    except (CheckpointError, OSError) as error:
        problems.append(f"MANIFEST.json was ignored: {error}" if isinstance(error, CheckpointError) else str(error))
        return {}


_SCAN_CACHE: OrderedDict[tuple, tuple[dict[str, Any] | None, str | None]] = OrderedDict()
_SCAN_CACHE_SIZE = 1024
_SCAN_LOCK = threading.Lock()


def _inspect_cached(directory: Path, stem: str, listed: Any) -> tuple[dict[str, Any] | None, str | None, int]:
    """(entry, None, bytes read) or (None, problem, bytes read); a card and weights unchanged since they were last
    looked at (same size, mtime, inode, manifest line) are not read again."""
    card, weights = directory / f"{stem}.json", directory / f"{stem}.safetensors"
    key = (str(directory.resolve()), stem, _signature(card), _signature(weights), json.dumps(listed, default=str))
    with _SCAN_LOCK:
        if key in _SCAN_CACHE:
            _SCAN_CACHE.move_to_end(key)
            return (*_SCAN_CACHE[key], 0)
    try:
        entry = _inspect(card, weights, stem, listed)
        result: tuple[dict[str, Any] | None, str | None] = (entry, None)
        read = entry["_read"]
        del entry["_read"]
    except CheckpointError as error:
        result, read = (None, str(error)), 0
    except (OSError, ValueError, TypeError, KeyError, RecursionError, MemoryError) as error:
        # Anything else a hostile file can provoke is still one sentence, never a traceback
        result, read = (None, f"Checkpoint {stem!r} cannot be read ({type(error).__name__})."), 0
    with _SCAN_LOCK:
        _SCAN_CACHE[key] = result
        while len(_SCAN_CACHE) > _SCAN_CACHE_SIZE:
            _SCAN_CACHE.popitem(last=False)
    return (*result, read)


def _signature(path: Path) -> tuple | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns, info.st_ino, info.st_mode


def _inspect(card_path: Path, weights_path: Path, stem: str, listed: Any) -> dict[str, Any]:
    """The manifest-like entry of one model of a directory, after every check short of loading its weights."""
    card = inspect_checkpoint(card_path, weights_path, stem)
    sha256 = sha256_of(weights_path)
    if sha256 != card["sha256"]:
        raise CheckpointError(
            f"Checkpoint {stem!r}: the weights file does not match its recorded sha256 (damaged or tampered)."
        )
    if listed is not None:
        if not isinstance(listed, dict) or listed.get("sha256") != sha256:
            raise CheckpointError(f"Checkpoint {stem!r} is not the one MANIFEST.json lists under that name.")
        if listed.get("weights_file", weights_path.name) != weights_path.name:
            raise CheckpointError(f"Checkpoint {stem!r}: MANIFEST.json gives it another weights file.")
    entry = {**manifest_entry(card), "name": stem, "weights_file": weights_path.name, "sha256": sha256}
    entry["_read"] = weights_path.stat().st_size
    return entry


def _model_file_name(name: str) -> bool:
    return bool(MODEL_FILE_NAME.fullmatch(name))


def _quoted(name: str) -> str:
    """A file name for a sentence: quoted with control characters escaped, and shortened."""
    return repr(name if len(name) <= _NAMES_SHOWN else name[:_NAMES_SHOWN] + "…")
