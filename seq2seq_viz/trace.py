"""The Trace: a frozen, JSON-serializable record of one decode. The only thing the UI ever reads.

Vectors and matrices are numpy float64 arrays rounded to 6 decimals (made once per field at the end of a decode);
JSON holds them as nested lists, and from_json restores the arrays, so a round trip is exact.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
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


def _finite(value: Any) -> Any:
    """A plain document with every NaN and infinity replaced by None (JSON's null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _array(value: Any) -> Array | None:
    return None if value is None else np.asarray(value, dtype=np.float64)


SCHEMA = "seq2seq_viz.trace/2"  # /2 added `attribution`; a /1 trace loads with none
READABLE_SCHEMAS = ("seq2seq_viz.trace/1", SCHEMA)
MODES = ("greedy", "beam", "sample", "teacher_forced", "forced_prefix")
FREE_RUNNING = ("greedy", "beam", "sample")  # the modes a user picks: the model reads its own outputs, no gold


@dataclass(frozen=True, eq=False)
class Step:
    """Decoder step t: it read input_token (y_{t-1}) and produced output_token (y_t)."""

    t: int
    input_token: str
    output_token: str
    output_prob: float  # p(output_token)
    # the caller fixed the output token (a forced prefix) instead of the decode's own rule choosing it (argmax,
    # sampling, beam search); teacher forcing fixes the inputs, not the recorded outputs, so its steps are False
    forced: bool
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


@dataclass(frozen=True, slots=True)
class BeamNode:
    """One candidate of beam search's tree of expansions: its parent's hypothesis extended by one token."""

    id: int  # its index in Beam.nodes; the root <bos> is 0
    parent: int | None  # the node it extends (None for the root)
    t: int  # the decoder step that proposed it (-1 for the root)
    token: str
    logprob: float  # log p(token | the tokens from the root to the parent, x)
    cumulative: float  # log p of the tokens from the root down to this one
    score: float  # cumulative / length ** length_penalty: what the n-best is ranked by
    finished: bool  # the token is <eos>: the hypothesis ends here
    kept: bool  # it survived its step's pruning (a kept finished node is a result; the others were cut)


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """One result of beam search: the path from the root down to its last node."""

    node: int  # its last node in Beam.nodes
    tokens: tuple[str, ...]  # after <bos>, with the final <eos> when written
    logprob: float  # log p(tokens | x), the cumulative log p of its last node
    score: float  # logprob / len(tokens) ** length_penalty
    text: str  # detokenized, no special tokens
    finished: bool  # it wrote <eos> (False: the step cap stopped it while still live)


@dataclass(frozen=True, slots=True)
class Beam:
    """Beam search's record: every candidate it scored and its results, best first. A beam Trace's steps replay
    nbest[0] (path(nbest[0].node) gives the node of each step); its other hypotheses are traced by forcing them."""

    width: int  # K, the hypotheses kept at each step
    length_penalty: float  # α of score = log p / |y|^α
    nodes: tuple[BeamNode, ...]  # by id
    nbest: tuple[Hypothesis, ...]  # best score first

    @property
    def best(self) -> Hypothesis:
        return self.nbest[0]

    def path(self, node_id: int) -> list[int]:
        """The node ids from the first expansion (step 0) down to node_id; the root <bos> is left out."""
        path = []
        while self.nodes[node_id].parent is not None:
            path.append(node_id)
            node_id = self.nodes[node_id].parent
        return path[::-1]

    @classmethod
    def from_dict(cls, data: dict[str, Any], options: dict[str, Any]) -> Beam:
        """From JSON. A trace written before the beam was typed has only nodes and nbest: the width and length
        penalty come from its options, and whether a hypothesis finished from its last node."""
        nodes = tuple(BeamNode(**node) for node in data["nodes"])
        nbest = tuple(
            Hypothesis(
                **{
                    **hyp,
                    "tokens": tuple(hyp["tokens"]),
                    "finished": hyp.get("finished", nodes[hyp["node"]].finished),
                }
            )
            for hyp in data["nbest"]
        )
        return cls(
            width=data.get("width", options.get("beam_size", len(nbest))),
            length_penalty=data.get("length_penalty", options.get("length_penalty", 1.0)),
            nodes=nodes,
            nbest=nbest,
        )


@dataclass(frozen=True)
class Attribution:
    """How much each source token contributed to each output step, by one method (seq2seq_viz.attribution)."""

    method: str  # grad_x_input, integrated_gradients, occlusion
    matrix: list[list[float]]  # (T, S): a_tj, output step t (rows) by source token j (columns, <eos> included)
    settings: dict[str, Any]  # what was attributed and how: target, steps, baseline, ...
    completeness_error: float | None = None  # integrated gradients: max_t |Σ_j a_tj − (f_t(x) − f_t(x'))|
    completeness_scale: float | None = None  # and max_t |f_t(x) − f_t(x')|, the size it is an error of

    @property
    def array(self) -> Array:
        return np.asarray(self.matrix, dtype=np.float64)


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
    beam: Beam | None = None  # the tree of expansions and the n-best (beam mode only)
    attribution: dict[str, Attribution] = field(default_factory=dict)  # method -> matrix; made on demand
    schema: str = SCHEMA

    def with_attribution(self, computed: dict[str, Attribution]) -> Trace:
        """This trace with these attributions added (each (len(output_tokens), len(source_tokens)))."""
        for method, value in computed.items():
            shape = (len(value.matrix), len(value.matrix[0]) if value.matrix else 0)
            if shape != (len(self.output_tokens), len(self.source_tokens)):
                raise ValueError(f"{method}: a {shape} matrix for a trace of {len(self.output_tokens)} outputs")
        return replace(self, attribution={**self.attribution, **computed})

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
        """Strict JSON: a number that is not finite (which JSON cannot hold) is written as null.

        Decoding refuses a model whose logits are not finite, so a Trace it makes has none; a Trace built by hand
        or from a damaged file still gives valid JSON, and from_json reads those nulls in arrays back as NaN.
        """
        data = self.to_dict()
        try:
            return json.dumps(data, ensure_ascii=False, indent=indent, allow_nan=False)
        except ValueError:  # only then walk the document (the common case pays nothing)
            return json.dumps(_finite(data), ensure_ascii=False, indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        if not isinstance(data, dict) or data.get("schema") not in READABLE_SCHEMAS:
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
            beam = None
            if data.get("beam") is not None:
                beam = Beam.from_dict(data["beam"], data.get("options", {}))
                if "width" not in data["beam"]:  # written when Step.forced also meant "a beam hypothesis"
                    steps = [replace(step, forced=False) for step in steps]
            names = {f.name for f in fields(cls)}
            kept = {k: v for k, v in data.items() if k in names}
            attribution = {name: Attribution(**value) for name, value in (data.get("attribution") or {}).items()}
            arrays = {"steps": steps, "encoder": encoder, "attention": _array(data["attention"]), "beam": beam}
            return cls(**{**kept, **arrays, "attribution": attribution, "schema": SCHEMA})
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
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
