"""The Trace: a frozen, JSON-serializable record of one decode. The only thing the UI ever reads."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .errors import InputError

SCHEMA = "seq2seq_viz.trace/1"
MODES = ("greedy", "beam", "sample", "teacher_forced", "forced_prefix")


@dataclass(frozen=True)
class Step:
    """Decoder step t: it read input_token (y_{t-1}) and produced output_token (y_t)."""

    t: int
    input_token: str
    output_token: str
    output_prob: float  # p(output_token)
    forced: bool  # the output token was fixed from outside (a forced prefix, or a beam hypothesis)
    topk: list[tuple[str, float]]  # the most probable next tokens, descending
    energies: list[float] | None  # e_t over the source (None for attention none)
    weights: list[float] | None  # α_t over the source, sums to 1
    context: list[float] | None  # c_t (the fixed c for attention none)
    query: list[float] | None  # the state the score read: s_t (Luong) or s_{t-1} (Bahdanau)
    state: list[float]  # s_t, top layer
    cell: list[float] | None  # LSTM cell state c_t, top layer
    layer_states: list[list[float]]  # s_t of every layer
    gates: dict[str, list[float]]  # top-layer gate activations (empty for a plain RNN)
    attentional: list[float]  # ŝ_t, what W_s reads
    gold_token: str | None = None
    gold_prob: float | None = None
    loss: float | None = None  # −log p(gold_token)
    shapes: dict[str, list[int]] = field(default_factory=dict)  # named tensors of this step, batch of 1 first


@dataclass(frozen=True)
class Trace:
    model: dict[str, Any]  # name, task, cell, attention, hidden_size, embedding_size, layers, bidirectional, ...
    mode: str
    source_text: str
    source_tokens: list[str]  # as the encoder saw them, with the <eos> the model appends
    unknown_source_tokens: list[int]  # positions in source_tokens that were out of vocabulary
    output_tokens: list[str]  # tokens after <bos>, with the final <eos> when produced
    output_text: str  # detokenized, no special tokens
    attention: list[list[float]] | None  # len(output_tokens) × len(source_tokens); None for attention none
    steps: list[Step]
    encoder: dict[str, Any]  # states (S×H), gates {name: S×H}, cells (LSTM), layers (L×S×H), initial_state, context
    options: dict[str, Any] = field(default_factory=dict)  # beam_size, temperature, top_k, seed, prefix, ...
    reference: str | None = None
    reference_tokens: list[str] | None = None  # with the final <eos>
    unknown_reference_tokens: list[int] = field(default_factory=list)
    truncated: bool = False  # decoding hit max_output_len before <eos>
    beam: dict[str, Any] | None = None  # nodes, nbest (beam mode only)
    schema: str = SCHEMA

    @property
    def total_loss(self) -> float | None:
        losses = [s.loss for s in self.steps if s.loss is not None]
        return sum(losses) if losses else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

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
                Step(**{**{k: v for k, v in s.items() if k in step_names}, "topk": [tuple(p) for p in s["topk"]]})
                for s in data["steps"]
            ]  # JSON turned the (token, prob) tuples into lists
            names = {f.name for f in fields(cls)}
            return cls(**{**{k: v for k, v in data.items() if k in names}, "steps": steps})
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
