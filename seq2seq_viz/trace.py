"""The Trace: a frozen, JSON-serializable record of one decode. The only thing the UI ever reads.

Vectors and matrices are numpy float64 arrays rounded to 6 decimals (made once per field at the end of a decode);
JSON holds them as nested lists, and from_json restores the arrays, so a round trip is exact.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from .errors import InputError

Array = np.ndarray
STEP_ARRAYS = ("energies", "weights", "context", "query", "state", "cell", "layer_states", "attentional")
ENCODER_ARRAYS = ("states", "cells", "layers", "initial_state", "context")


def plain(value: Any) -> Any:
    """Arrays -> nested lists, recursively: what json.dumps can write."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _array(value: Any) -> Array | None:
    return None if value is None else np.asarray(value, dtype=np.float64)


SCHEMA = "seq2seq_viz.trace/1"
MODES = ("greedy", "beam", "sample", "teacher_forced", "forced_prefix")


@dataclass(frozen=True, eq=False)
class Step:
    """Decoder step t: it read input_token (y_{t-1}) and produced output_token (y_t)."""

    t: int
    input_token: str
    output_token: str
    output_prob: float  # p(output_token)
    forced: bool  # the output token was fixed from outside (a forced prefix, or a beam hypothesis)
    topk: list[tuple[str, float]]  # the most probable next tokens, descending
    energies: Array | None  # (S,) e_t over the source (None for attention none)
    weights: Array | None  # (S,) α_t over the source, sums to 1
    context: Array | None  # (H,) c_t (the fixed c for attention none)
    query: Array | None  # (H,) the state the score read: s_t (Luong) or s_{t-1} (Bahdanau)
    state: Array  # (H,) s_t, top layer
    cell: Array | None  # (H,) LSTM cell state c_t, top layer
    layer_states: Array  # (L, H) s_t of every layer
    gates: dict[str, Array]  # (H,) each: top-layer gate activations (empty for a plain RNN)
    attentional: Array  # (H,) ŝ_t, what W_s reads
    gold_token: str | None = None
    gold_prob: float | None = None
    loss: float | None = None  # −log p(gold_token)
    shapes: dict[str, list[int]] = field(default_factory=dict)  # named tensors of this step, batch of 1 first


@dataclass(frozen=True, eq=False)
class Trace:
    model: dict[str, Any]  # name, task, cell, attention, hidden_size, embedding_size, layers, bidirectional, ...
    mode: str
    source_text: str
    source_tokens: list[str]  # as the encoder saw them, with the <eos> the model appends
    unknown_source_tokens: list[int]  # positions in source_tokens that were out of vocabulary
    output_tokens: list[str]  # tokens after <bos>, with the final <eos> when produced
    output_text: str  # detokenized, no special tokens
    attention: Array | None  # (len(output_tokens), len(source_tokens)); None for attention none
    steps: list[Step]
    encoder: dict[
        str, Any
    ]  # arrays: states (S, H), gates {name: (S, H)}, cells, layers (L, S, H), initial_state, context
    options: dict[str, Any] = field(default_factory=dict)  # beam_size, temperature, top_k, seed, prefix, ...
    reference: str | None = None
    reference_tokens: list[str] | None = None  # with the final <eos>
    unknown_reference_tokens: list[int] = field(default_factory=list)
    # the cap stopped the decode before <eos>: before the model wrote it (free-running, forced prefix, beam), or
    # before the step scoring the reference's <eos> (teacher forcing, whatever the argmax; a longer one is refused)
    truncated: bool = False
    beam: dict[str, Any] | None = None  # nodes, nbest (beam mode only)
    schema: str = SCHEMA

    @property
    def total_loss(self) -> float | None:
        losses = [s.loss for s in self.steps if s.loss is not None]
        return sum(losses) if losses else None

    def to_dict(self) -> dict[str, Any]:
        """Plain Python (lists, dicts, numbers, strings): the JSON document."""
        return plain(asdict(self))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trace) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise InputError(f"This is not a seq2seq_viz trace of schema {SCHEMA} (found {found!r}).")
        try:
            step_names = {f.name for f in fields(Step)}
            steps = [
                Step(
                    **{
                        **{k: v for k, v in s.items() if k in step_names},
                        **{k: _array(s[k]) for k in STEP_ARRAYS},
                        "gates": {g: _array(v) for g, v in s["gates"].items()},
                        "topk": [tuple(p) for p in s["topk"]],  # JSON turned the (token, prob) tuples into lists
                    }
                )
                for s in data["steps"]
            ]
            encoder = {
                **data["encoder"],
                **{k: _array(data["encoder"].get(k)) for k in ENCODER_ARRAYS},
                "gates": {g: _array(v) for g, v in data["encoder"]["gates"].items()},
            }
            names = {f.name for f in fields(cls)}
            kept = {k: v for k, v in data.items() if k in names}
            return cls(**{**kept, "steps": steps, "encoder": encoder, "attention": _array(data["attention"])})
        except (KeyError, TypeError) as exc:
            raise InputError(f"The trace is incomplete or malformed ({exc}).") from None

    @classmethod
    def from_json(cls, text: str) -> Trace:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"The trace is not valid JSON ({exc.msg} at line {exc.lineno}).") from None
        return cls.from_dict(data)

    def attention_csv(self) -> str:
        """The attention matrix as CSV: one row per output token, one column per source token."""
        import csv
        import io

        if self.attention is None:
            raise InputError("This model has no attention (fixed context), so there is no attention matrix.")
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["output \\ source", *self.source_tokens])
        for token, row in zip(self.output_tokens, self.attention, strict=True):
            writer.writerow([token, *(f"{w:.6f}" for w in row)])
        return buffer.getvalue()
