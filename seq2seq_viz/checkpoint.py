"""Checkpoints: weights in safetensors plus a JSON card (config, vocabularies, metrics, provenance, sha256).

Nothing is ever unpickled, and nothing is allocated for a checkpoint before it has been validated, cheapest
check first, each failure one sentence (CheckpointError):
1. the card (check_card): at most CARD_BYTES_MAX, nested at most CARD_DEPTH_MAX deep, every string at most
   STRING_CHARS_MAX characters, every number finite, every field of its type (a size is a whole number, not
   32.5 or true), the config's sizes and the vocabularies under the ceilings below;
2. the model it describes (card_layout), laid out on torch's meta device, which allocates nothing: its parameter
   count under PARAMETERS_MAX, and the name, dtype and shape of every tensor its weights file must hold;
3. the safetensors header (read_header, check_header): at most HEADER_BYTES_MAX, its tensors exactly that
   layout (names, dtypes, shapes), their byte ranges tiling exactly the file;
4. the sha256 (the card's, and the manifest's when there is one);
5. the tensors, read one at a time in their stored dtype, restored to float32 and each checked finite and within
   ±WEIGHT_MAGNITUDE_MAX, then assigned to the meta model (no second copy of the weights).
So a hostile card costs nothing, and a damaged weights file costs at most about one legal model (the tensors
read before the bad one, plus that one).

A checkpoint lives in two files (save_checkpoint / load_checkpoint) or, for a model trained live that never
touches the disk, in memory as its two parts (checkpoint_to_bytes / checkpoint_from_bytes): the same card, the
same checks, and inspect_checkpoint runs steps 1-3 for a directory scan (seq2seq_viz.registry).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import struct
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import torch
from safetensors.torch import save, save_file

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

# Ceilings on what a checkpoint may describe: comfortably above the largest shipped model (eng-fra-lstm-additive:
# 5.3 M parameters, E 128, H 256, 1 layer, vocabularies of 5,499 and 8,958 words, a 196 kB card, strings of 142
# characters, JSON 5 deep, lengths of 64 at most), so that a hostile file is refused before it costs anything.
PARAMETERS_MAX = 64_000_000  # 12x the largest shipped model; 256 MB as float32 (a 50k-word model at E=H=256 fits)
LAYERS_MAX = 8  # stacked layers (shipped: 1)
HIDDEN_MAX = 2048  # H (shipped: 256)
EMBEDDING_MAX = 2048  # E (shipped: 128)
VOCAB_MAX = 100_000  # tokens in one vocabulary (shipped: 8,958)
LENGTH_MAX = 1024  # max_source_len and max_output_len (shipped: 64; limits.LIMITS caps one request lower still)
CARD_BYTES_MAX = 8 << 20  # one JSON card (two 100k-token vocabularies are about 4 MB)
CARD_DEPTH_MAX = 32  # JSON nesting of a card (shipped: 5)
STRING_CHARS_MAX = 10_000  # one string (or key) anywhere in a card
HEADER_BYTES_MAX = 256 << 10  # a safetensors header (the zoo's are about 2 kB)
WEIGHTS_BYTES_MAX = 4 * PARAMETERS_MAX + HEADER_BYTES_MAX  # a weights file: the parameter ceiling in float32
WEIGHT_MAGNITUDE_MAX = 1e4  # |w| of any restored weight (shipped: under 10); float16's 65504 is far beyond it
MODEL_BYTES_MAX = 4 * PARAMETERS_MAX  # the largest legal model, loaded (float32)

_CONFIG_SIZES = {
    "embedding_size": EMBEDDING_MAX,
    "hidden_size": HIDDEN_MAX,
    "layers": LAYERS_MAX,
    "max_source_len": LENGTH_MAX,
    "max_output_len": LENGTH_MAX,
}
# safetensors dtypes this version can name (only F32, F16 and I8 are ever loaded), with their sizes in bytes
_DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
    "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
}  # fmt: skip
_DTYPE_NAMES = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "F8_E4M3": "float8", "F8_E5M2": "float8",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U64": "uint64", "U32": "uint32", "U16": "uint16",
    "U8": "uint8", "BOOL": "bool",
}  # fmt: skip
_LOADED = {"F32": torch.float32, "F16": torch.float16, "I8": torch.int8}
_STORED = {"float32": "F32", "float16": "F16", "int8": "F16"}  # every tensor but the row-quantized ones
_SHOWN_CHARS = 40  # of a hostile value an error sentence quotes


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
    return rows.float().mul_(scale.float()[:, None])  # in place: one float32 copy of the rows, not two


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
    write_card(card_path, card)
    return card


def write_card(path: str | Path, card: dict[str, Any]) -> None:
    """A checkpoint's JSON card as save_checkpoint writes it (for a caller that changes only the card)."""
    _, card_path = paths_for(path)
    card_path.write_text(json.dumps(card, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


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


# --- step 1: the card --------------------------------------------------------------------------------------------


def read_card(path: str | Path) -> dict[str, Any]:
    """The JSON card of a checkpoint, checked against the card schema (check_card); weights not read."""
    _, card_path = paths_for(path)
    label = card_path.with_suffix("").name
    check_file(card_path, "card", CARD_BYTES_MAX, label, required=False)
    if not card_path.is_file():
        raise CheckpointError(f"Checkpoint {label!r} has no JSON card at {card_path}.")
    try:
        text = card_path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"Checkpoint {label!r}: its JSON card is damaged (not valid JSON).") from None
    return _parsed_card(text, label)


def _parsed_card(text: str, label: str) -> dict[str, Any]:
    """The card's JSON text, parsed within the ceilings and checked against the card schema."""
    if len(text) > CARD_BYTES_MAX:
        raise CheckpointError(
            f"Checkpoint {label!r}: its card has {len(text):,} characters; the lab reads at most {CARD_BYTES_MAX:,}."
        )
    try:
        card = json.loads(text)
    except RecursionError:  # JSON nested thousands deep: the parser gives up before the card's depth is checked
        raise CheckpointError(
            f"Checkpoint {label!r}: its JSON card is nested too deeply (at most {CARD_DEPTH_MAX} levels)."
        ) from None
    except ValueError:  # not JSON, or an integer of thousands of digits
        raise CheckpointError(f"Checkpoint {label!r}: its JSON card is damaged (not valid JSON).") from None
    if not isinstance(card, dict) or "format" not in card:
        raise CheckpointError(f"Checkpoint {label!r}: its card is not a model card (it names no checkpoint format).")
    check_card(card, label)
    return card


def check_card(card: dict[str, Any], label: str) -> None:
    """The card schema: the JSON within its ceilings, then each field the loader reads of its type and range."""
    _check_json_tree(card, label)
    if card["format"] != FORMAT:
        raise CheckpointError(
            f"Checkpoint {label!r} is of format {_shown(card['format'])}; this version reads {FORMAT}."
        )
    missing = [k for k in ("config", "source_vocab", "target_vocab", "sha256", "dtype") if k not in card]
    if missing:
        raise CheckpointError(f"Checkpoint {label!r}: its card lacks {', '.join(missing)}.")
    if not isinstance(card["dtype"], str) or card["dtype"] not in DTYPES:
        raise CheckpointError(
            f"Checkpoint {label!r} stores its weights as {_shown(card['dtype'])}, which this version cannot read "
            f"(it reads {', '.join(DTYPES)})."
        )
    sha256 = card["sha256"]
    if not (isinstance(sha256, str) and len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256)):
        raise CheckpointError(f"Checkpoint {label!r}: its card's sha256 is not 64 hexadecimal digits.")
    for field, kinds in (("name", (str,)), ("weights_file", (str,)), ("parameters", (int,))):
        if field in card and type(card[field]) not in kinds:
            raise CheckpointError(f"Checkpoint {label!r}: its card's {field} is {_shown(card[field])}.")
    for field in ("train_config", "metrics", "provenance", "training", "task"):
        if card.get(field) is not None and not isinstance(card[field], dict):
            raise CheckpointError(f"Checkpoint {label!r}: its card's {field} is not a JSON object.")
    _check_config_fields(card["config"], label)
    for field, what in (("source_vocab", "source"), ("target_vocab", "target")):
        tokens = card[field]
        if not isinstance(tokens, list) or not all(isinstance(token, str) for token in tokens):
            raise CheckpointError(f"Checkpoint {label!r}: its {what} vocabulary is not a list of tokens (text).")
        if len(tokens) > VOCAB_MAX:
            raise CheckpointError(
                f"Checkpoint {label!r}: its {what} vocabulary has {len(tokens):,} tokens; "
                f"the lab loads at most {VOCAB_MAX:,}."
            )


def _check_json_tree(card: Any, label: str) -> None:
    """Depth, string lengths and finite numbers over the whole card, without recursion."""
    pending = [(card, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > CARD_DEPTH_MAX:
                raise CheckpointError(
                    f"Checkpoint {label!r}: its JSON card is nested too deeply (at most {CARD_DEPTH_MAX} levels)."
                )
            if isinstance(value, dict):
                pending.extend((key, depth) for key in value)
            pending.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
        elif isinstance(value, str) and len(value) > STRING_CHARS_MAX:
            raise CheckpointError(
                f"Checkpoint {label!r}: its card holds a string of {len(value):,} characters; "
                f"the lab reads at most {STRING_CHARS_MAX:,}."
            )
        elif isinstance(value, float) and not math.isfinite(value):
            raise CheckpointError(
                f"Checkpoint {label!r}: its card holds {value!r} (not a finite number) "
                "where only finite numbers belong."
            )


_TYPE_WORDS = {int: "a whole number", float: "a number", bool: "true or false", str: "text", type(None): "null"}


def _allowed_types(hint: Any) -> tuple[type, ...]:
    """The JSON value types a ModelConfig field's annotation admits (bool is never an int here)."""
    if get_origin(hint) is Literal:
        return tuple(dict.fromkeys(type(choice) for choice in get_args(hint)))
    if get_origin(hint) in (typing.Union, types.UnionType):
        return tuple(dict.fromkeys(t for arg in get_args(hint) for t in _allowed_types(arg)))
    return (int, float) if hint is float else (hint,)


_CONFIG_TYPES = {name: _allowed_types(hint) for name, hint in typing.get_type_hints(ModelConfig).items()}


def _check_config_fields(config: Any, label: str) -> None:
    """Each config field of the type ModelConfig declares, and every size under its ceiling."""
    if not isinstance(config, dict):
        raise CheckpointError(f"Checkpoint {label!r}: its card's config is not a JSON object.")
    for name, value in config.items():
        allowed = _CONFIG_TYPES.get(name)
        if allowed is None:
            continue  # an unknown field: ModelConfig names it in its own sentence
        if type(value) not in allowed:
            kinds = " or ".join(_TYPE_WORDS[t] for t in allowed if not (t is int and float in allowed))
            raise CheckpointError(
                f"Checkpoint {label!r}: its config gives {name} as {_shown(value)}; it must be {kinds}."
            )
        if name in _CONFIG_SIZES and value > _CONFIG_SIZES[name]:
            raise CheckpointError(
                f"Checkpoint {label!r}: its config asks for {name} {value:,}; "
                f"the lab loads models with {name} at most {_CONFIG_SIZES[name]:,}."
            )


# --- step 2: the model the card describes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """What a validated card describes, before any weight is read."""

    config: ModelConfig
    source_vocab: Vocab
    target_vocab: Vocab
    parameters: int  # counted on the meta device
    stored: dict[str, tuple[str, tuple[int, ...]]]  # tensor name -> (safetensors dtype, shape) its weights file holds


def card_layout(card: dict[str, Any], label: str) -> Layout:
    """The config and vocabularies of a checked card, and the tensors they imply, laid out on the meta device."""
    try:
        config = ModelConfig.from_dict(card["config"])
        source_vocab = Vocab.from_json(card["source_vocab"])
        target_vocab = Vocab.from_json(card["target_vocab"])
    except (ConfigError, ValueError, TypeError) as exc:
        raise CheckpointError(f"Checkpoint {label!r}: its card is inconsistent ({exc}).") from None
    with torch.device("meta"):  # every size is under its ceiling, so this is quick, and it allocates nothing
        shapes = {k: tuple(v.shape) for k, v in Seq2Seq(config, source_vocab, target_vocab).state_dict().items()}
    parameters = sum(math.prod(shape) for shape in shapes.values())
    if parameters > PARAMETERS_MAX:
        raise CheckpointError(
            f"Checkpoint {label!r}: its config describes a model of {parameters:,} parameters; "
            f"the lab loads models of at most {PARAMETERS_MAX:,}."
        )
    stored: dict[str, tuple[str, tuple[int, ...]]] = {}
    for key, shape in shapes.items():  # as stored_tensors writes them
        if card["dtype"] == "int8" and key in ROW_QUANTIZED:
            stored[key], stored[key + SCALE_SUFFIX] = ("I8", shape), ("F16", shape[:1])
        else:
            stored[key] = (_STORED[card["dtype"]], shape)
    return Layout(config, source_vocab, target_vocab, parameters, stored)


# --- step 3: the safetensors header ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    dtype: str  # safetensors name: F32, F16, I8, ...
    shape: tuple[int, ...]
    start: int  # byte range in the data section, which begins after the header
    end: int


@dataclass(frozen=True)
class Header:
    entries: dict[str, _Entry]
    data_start: int  # 8 + the header's size


Reader = Callable[[int, int], bytearray]  # (offset, size) -> exactly that many bytes of the weights


def read_header(read: Reader, total_size: int, label: str) -> Header:
    """The header of a safetensors file of total_size bytes: an 8-byte little-endian size, then a JSON object
    naming each tensor's dtype, shape and byte range. Only the header is read."""
    damaged = CheckpointError(f"Checkpoint {label!r}: the weights file is not a valid safetensors file.")
    if total_size < 9:
        raise CheckpointError(f"Checkpoint {label!r}: the weights file is truncated.")
    head = read(0, 9)
    (size,) = struct.unpack("<Q", head[:8])
    if head[8:9] != b"{":
        if head[:1] == b"\x80" or head[:2] == b"PK":  # pickle protocol 2+, or torch.save's zip of pickles
            raise CheckpointError(f"Checkpoint {label!r}: the weights file is a pickle, which is never loaded.")
        raise damaged
    if size > HEADER_BYTES_MAX:
        raise CheckpointError(f"Checkpoint {label!r}: the weights file's header is implausibly large.")
    if 8 + size > total_size:
        raise CheckpointError(f"Checkpoint {label!r}: the weights file is truncated.")
    try:
        header = json.loads(read(8, size).decode("utf-8"), object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise damaged from None
    if not isinstance(header, dict) or not isinstance(header.pop("__metadata__", {}), dict):
        raise damaged
    entries = {}
    for name, info in header.items():
        if not isinstance(info, dict):
            raise damaged
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if (
            dtype not in _DTYPE_BYTES
            or not isinstance(shape, list)
            or len(shape) > 8
            or not all(type(n) is int and n >= 0 for n in shape)
            or not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(type(n) is int and n >= 0 for n in offsets)
            or offsets[1] - offsets[0] != math.prod(shape) * _DTYPE_BYTES[dtype]
        ):
            raise damaged
        entries[name] = _Entry(dtype, tuple(shape), *offsets)
    return Header(entries, 8 + size)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key is repeated")
    return dict(pairs)


def check_header(header: Header, layout: Layout, dtype: str, total_size: int, label: str) -> None:
    """The header's tensors are exactly the layout's (names, dtypes, shapes) and tile exactly the file."""
    found = header.entries
    quantized = {k for k, e in found.items() if e.dtype == "I8" and not k.endswith(SCALE_SUFFIX)}
    scales = {k.removesuffix(SCALE_SUFFIX) for k in found if k.endswith(SCALE_SUFFIX)}
    if quantized != scales or any(
        len(found[k].shape) != 2 or found[k + SCALE_SUFFIX].shape != found[k].shape[:1] for k in quantized
    ):
        raise CheckpointError(f"Checkpoint {label!r}: its int8 weights and their row scales do not match.")
    expected = layout.stored
    if found.keys() != expected.keys():
        missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
        detail = f"missing {_names(missing)}" if missing else f"unexpected {_names(extra)}"
        raise CheckpointError(f"Checkpoint {label!r}: its weights do not fit its config ({detail}).")
    for name in sorted(found):
        want, shape = expected[name]
        if found[name].dtype != want:
            raise CheckpointError(
                f"Checkpoint {label!r}: its tensor {_shown(name)} is stored as {_DTYPE_NAMES[found[name].dtype]}; "
                f"a {dtype} checkpoint stores it as {_DTYPE_NAMES[want]}."
            )
        if found[name].shape != shape:
            raise CheckpointError(
                f"Checkpoint {label!r}: its weights do not fit its config "
                f"({name} is {found[name].shape}, the config needs {shape})."
            )
    position = 0
    for entry in sorted(found.values(), key=lambda e: (e.start, e.end)):  # the tensors tile the data section
        if entry.start != position:
            raise CheckpointError(f"Checkpoint {label!r}: the weights file is not a valid safetensors file.")
        position = entry.end
    end = header.data_start + position
    if end != total_size:
        problem = "truncated" if end > total_size else "longer than its header says"
        raise CheckpointError(f"Checkpoint {label!r}: the weights file is {problem}.")


# --- steps 4 and 5: the hash, then the tensors one at a time -----------------------------------------------------


def _check_sha256(actual: str, expected: tuple[str | None, ...], label: str) -> None:
    for value in expected:
        if value is not None and actual != value:
            raise CheckpointError(
                f"Checkpoint {label!r}: the weights file does not match its recorded sha256 (damaged or tampered)."
            )


def read_weights(read: Reader, header: Header, label: str) -> dict[str, torch.Tensor]:
    """float32 tensors, read one at a time in their stored dtype (int8 rows with their scales), each checked."""
    tensors = {}
    for name, entry in sorted(header.entries.items(), key=lambda item: item[1].start):  # read the file in order
        if name.endswith(SCALE_SUFFIX):
            continue  # read with its rows
        value = _tensor(read, header, entry)
        if entry.dtype == "I8":
            value = dequantize_rows(value, _tensor(read, header, header.entries[name + SCALE_SUFFIX]))
        value = value.float()  # float32 as stored: the same tensor, no copy
        _check_weight(name, value, label)
        tensors[name] = value
    return tensors


def _tensor(read: Reader, header: Header, entry: _Entry) -> torch.Tensor:
    size = entry.end - entry.start
    if size == 0:
        return torch.empty(entry.shape, dtype=_LOADED[entry.dtype])
    data = read(header.data_start + entry.start, size)
    return torch.frombuffer(data, dtype=_LOADED[entry.dtype]).view(entry.shape)  # shares the buffer: no copy


def _check_weight(name: str, value: torch.Tensor, label: str) -> None:
    """Finite, and within what any trained model holds (a float16 60000 is finite, and still garbage)."""
    if value.numel() == 0:
        return
    low, high = (float(x) for x in torch.aminmax(value))  # NaN anywhere makes both NaN
    if not (math.isfinite(low) and math.isfinite(high)):
        raise CheckpointError(
            f"Checkpoint {label!r}: its weight {_shown(name)} holds NaN or infinite values; "
            "a usable model's weights are finite."
        )
    if max(-low, high) > WEIGHT_MAGNITUDE_MAX:
        raise CheckpointError(
            f"Checkpoint {label!r}: its weight {_shown(name)} holds {high if high > -low else low:g}, "
            f"beyond the ±{WEIGHT_MAGNITUDE_MAX:g} any trained model's weights stay within."
        )


def _assembled(layout: Layout, tensors: dict[str, torch.Tensor], card: dict[str, Any]) -> Seq2Seq:
    """The model built on the meta device and given the checked tensors themselves (no second copy)."""
    with torch.device("meta"):
        model = Seq2Seq(layout.config, layout.source_vocab, layout.target_vocab)
    model.load_state_dict(tensors, strict=True, assign=True)
    model.card = card  # type: ignore[attr-defined]  # metrics and provenance, for the UI's model card
    return model


# --- the doors: two files, a directory scan, two parts in memory -------------------------------------------------


def _file_reader(handle, label: str) -> Reader:
    def read(offset: int, size: int) -> bytearray:
        data = bytearray(size)
        handle.seek(offset)
        view, done = memoryview(data), 0
        while done < size:
            got = handle.readinto(view[done:])
            if not got:
                raise CheckpointError(f"Checkpoint {label!r}: the weights file is truncated.")
            done += got
        return data

    return read


def _bytes_reader(view: memoryview) -> Reader:
    return lambda offset, size: bytearray(view[offset : offset + size])  # a writable copy of one tensor


def _open_weights(weights_path: Path, label: str):
    check_file(weights_path, "weights file", None, label, required=True)
    try:
        return open(weights_path, "rb")
    except OSError as error:
        raise CheckpointError(f"Checkpoint {label!r}: the weights file cannot be read ({error.strerror}).") from None


def _checked_header(handle, layout: Layout, dtype: str, label: str) -> Header:
    size = os.fstat(handle.fileno()).st_size  # of the file opened, whatever its path points to now
    header = read_header(_file_reader(handle, label), size, label)
    check_header(header, layout, dtype, size, label)
    return header


def inspect_checkpoint(card_path: str | Path, weights_path: str | Path, label: str | None = None) -> dict[str, Any]:
    """The card of a checkpoint, checked (steps 1-3) against its weights file's header; no weight is read."""
    card_path, weights_path = Path(card_path), Path(weights_path)
    label = label or card_path.with_suffix("").name
    card = read_card(card_path)
    layout = card_layout(card, label)
    with _open_weights(weights_path, label) as handle:
        _checked_header(handle, layout, card["dtype"], label)
    return card


def load_checkpoint(path: str | Path, expected_sha256: str | None = None, device: str = "cpu") -> Seq2Seq:
    """Rebuild a model from its card and weights, validated step by step (see the module's docstring)."""
    weights_path, card_path = paths_for(path)
    label = card_path.with_suffix("").name
    card = read_card(card_path)
    layout = card_layout(card, label)
    with _open_weights(weights_path, label) as handle:
        header = _checked_header(handle, layout, card["dtype"], label)
        handle.seek(0)
        digest = hashlib.sha256()
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
        _check_sha256(digest.hexdigest(), (card["sha256"], expected_sha256), label)
        tensors = read_weights(_file_reader(handle, label), header, label)
    return _assembled(layout, tensors, card).to(device).eval()


def checkpoint_from_bytes(
    weights: bytes, card: str | bytes, expected_sha256: str | None = None, device: str = "cpu"
) -> Seq2Seq:
    """Rebuild a model from a checkpoint's two parts in memory (checkpoint_to_bytes), with load_checkpoint's checks."""
    if isinstance(card, bytes | bytearray):
        if len(card) > CARD_BYTES_MAX:
            raise CheckpointError(
                f"Checkpoint 'in memory': its card has {len(card):,} bytes; the lab reads at most {CARD_BYTES_MAX:,}."
            )
        try:
            card = bytes(card).decode("utf-8")
        except UnicodeDecodeError:
            raise CheckpointError("Checkpoint 'in memory': its JSON card is damaged (not valid JSON).") from None
    if not isinstance(card, str):
        raise CheckpointError("Checkpoint 'in memory': its card is not JSON text.")
    parsed = _parsed_card(card, "in memory")
    name = parsed.get("name")
    label = name if isinstance(name, str) and 0 < len(name) <= 100 else "in memory"
    if not isinstance(weights, bytes | bytearray | memoryview):
        raise CheckpointError(f"Checkpoint {label!r}: its weights are not bytes.")
    view = memoryview(weights).cast("B")
    layout = card_layout(parsed, label)
    header = read_header(_bytes_reader(view), len(view), label)
    check_header(header, layout, parsed["dtype"], len(view), label)
    _check_sha256(hashlib.sha256(view).hexdigest(), (parsed["sha256"], expected_sha256), label)
    tensors = read_weights(_bytes_reader(view), header, label)
    return _assembled(layout, tensors, parsed).to(device).eval()


def check_file(path: Path, what: str, most: int | None, label: str, required: bool) -> None:
    """A regular file (not a FIFO, a device or a directory, which could block or never end) of at most `most`."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if required:
            raise CheckpointError(f"Checkpoint {label!r} has no {what} {path.name} beside its card.") from None
        return
    except OSError as error:
        raise CheckpointError(
            f"Checkpoint {label!r}: its {what} {path.name} cannot be read ({error.strerror})."
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise CheckpointError(f"Checkpoint {label!r}: its {what} {path.name} is not a regular file.")
    if most is not None and info.st_size > most:
        raise CheckpointError(
            f"Checkpoint {label!r}: its {what} has {_megabytes(info.st_size)}; "
            f"the lab reads at most {_megabytes(most)}."
        )


def _names(names: list[str]) -> str:
    return "[" + ", ".join(_shown(n) for n in names[:3]) + (", …]" if len(names) > 3 else "]")


def _shown(value: Any) -> str:
    """A hostile value for a sentence: its repr, shortened."""
    text = repr(value) if not isinstance(value, list | dict) or len(value) < 10 else f"a {type(value).__name__}"
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"


def _megabytes(size: int) -> str:
    return f"{size / (1 << 20):.1f} MB"
