"""Decoding strategies, outside the model: each takes a model and a sentence and returns a Trace.

greedy           free-running: the argmax is fed back
sample           free-running: a token drawn from softmax(logits / temperature), optionally from the top k only
forced_prefix    the first k outputs are fixed by the user, then free-running (the "what if" intervention)
teacher_forced   the gold token is fed at every step; records the argmax, p(gold) and the loss
beam_search      K hypotheses, length-normalized; records the tree of expansions and the n-best list

The explicit cells run, every named tensor of every step is kept, and all are converted to numpy once at the end.

What a caller sends is checked before any work: every option by the gate (options.option: type and range), every
text by the door (text.admit: type, characters, the character ceiling), every length against the model's cap
and the server's ceilings (LIMITS: source tokens, output steps), so every loop here is bounded by
LIMITS.output_steps whatever the model's card allows, and every Trace encodes as UTF-8 JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .decoder import StepRecord
from .encoder import Encoded
from .errors import CheckpointError, InputError
from .limits import LIMITS, cap_steps, check_tokens, excerpt
from .model import Seq2Seq
from .options import MODE_OPTIONS, check_names, option, shown
from .text import admit, detokenize, normalize, tokenize
from .trace import Beam, BeamNode, Hypothesis, Step, Trace
from .vocab import BOS, BOS_ID, EOS, EOS_ID, FRAMING

TOPK = 10  # alternatives recorded per step
DECIMALS = 6  # floats in a Trace are rounded to this many decimals (JSON stays compact)

# choose(t, logits) -> (output id, id fed at the next step, whether the caller forced the output (Step.forced),
#                       stop after this step)
Policy = Callable[[int, Tensor], tuple[int, int, bool, bool]]


@dataclass(frozen=True)
class Source:
    text: str
    tokens: list[str]  # with the appended <eos>
    ids: Tensor  # (1, S)
    unknown: list[int]


def prepare_source(model: Seq2Seq, text: str) -> Source:
    """Tokenize as the model was trained, append <eos>, map to ids; unknown tokens are reported by position."""
    admit(text, "input")
    if not text.strip():
        raise InputError("The input is empty: type a sentence first.")
    cfg = model.config
    tokens = tokenize(text, cfg.level, cfg.lowercase)
    if not tokens:
        raise InputError("The input has nothing the model can read after normalization.")
    check_tokens(tokens, "input", cfg.level)
    most = min(cfg.max_source_len, LIMITS.source_tokens)
    if len(tokens) > most:
        unit = "characters" if cfg.level == "char" else "words and punctuation marks"
        raise InputError(f"The input has {len(tokens)} {unit}; this model reads at most {most}. Please shorten it.")
    tokens = [*tokens, EOS]
    ids, unknown = model.source_vocab.encode(tokens)
    return Source(text, tokens, torch.tensor([ids], device=model.device), unknown)


def target_ids(model: Seq2Seq, text: str, what: str) -> tuple[list[str], list[int], list[int]]:
    """Tokenize a reference or prefix on the target side: (tokens, ids, unknown positions)."""
    cfg = model.config
    admit(text, what)
    tokens = tokenize(text, cfg.level, cfg.lowercase)
    check_output_tokens(model, tokens, what)
    ids, unknown = model.target_vocab.encode(tokens)
    return tokens, ids, unknown


def check_output_tokens(model: Seq2Seq, tokens: Sequence[str], what: str) -> None:
    """A reference or forced prefix must leave room for <eos> within the step cap, word by word within limits."""
    check_tokens(tokens, what, model.config.level)
    most = cap_steps(model.config.max_output_len) - 1
    if len(tokens) > most:
        raise InputError(f"The {what} has {len(tokens):,} tokens; this model writes at most {most}.")


def model_card(model: Seq2Seq) -> dict:
    cfg = model.config
    return {
        "name": cfg.name,
        "task": cfg.task,
        "cell": cfg.cell,
        "attention": cfg.attention,
        "style": cfg.decoder_style,
        "input_feeding": cfg.input_feeding,
        "fixed_context": cfg.fixed_context if cfg.attention == "none" else None,
        "hidden_size": cfg.hidden_size,
        "embedding_size": cfg.embedding_size,
        "layers": cfg.layers,
        "bidirectional": cfg.bidirectional,
        "bridge": cfg.bridge,
        "level": cfg.level,
        "source_vocab_size": len(model.source_vocab),
        "target_vocab_size": len(model.target_vocab),
    }


def _np(x: Tensor) -> np.ndarray:
    """One tensor -> float64 numpy rounded to DECIMALS (so JSON is compact and round-trips exactly)."""
    return np.round(x.detach().cpu().double().numpy(), DECIMALS)


def _np_many(tensors: dict[str, Tensor | None]) -> dict[str, np.ndarray | None]:
    """Many tensors -> numpy in a single conversion (one copy, one rounding), split back into views."""
    present = {k: v for k, v in tensors.items() if v is not None}
    flat = _np(torch.cat([v.reshape(-1) for v in present.values()])) if present else None
    out: dict[str, np.ndarray | None] = dict.fromkeys(tensors)
    offset = 0
    for name, value in present.items():
        out[name] = flat[offset : offset + value.numel()].reshape(value.shape)
        offset += value.numel()
    return out


@torch.no_grad()
def _run(model: Seq2Seq, source: Source, policy: Policy, max_steps: int, record: bool = True):
    """The decode loop shared by every strategy: explicit cells, every step's tensors kept when record is true.

    Returns (output ids, input ids, forced flags, records, encoded).
    """
    encoded, key_side = model.encode(source.ids, torch.tensor([source.ids.shape[1]]), explicit=True)
    state = model.decoder.initial_state(encoded)
    y_prev = torch.tensor([BOS_ID], device=model.device)
    outputs, inputs, forced, records = [], [], [], []
    for t in range(max_steps):
        logits, state, rec = model.decoder.step(y_prev, state, encoded, key_side, explicit=True)
        _check_finite(logits, t)
        out_id, next_id, was_forced, stop = policy(t, logits)
        inputs.append(int(y_prev))
        outputs.append(out_id)
        forced.append(was_forced)
        if record:
            records.append(rec)
        if stop:
            break
        y_prev = torch.tensor([next_id], device=model.device)
    return outputs, inputs, forced, records, encoded


def _check_finite(logits: Tensor, t: int) -> None:
    """A model whose numbers overflow (damaged or hostile weights) is refused, not traced: no NaN reaches a Trace."""
    if not bool(torch.isfinite(logits).all()):
        raise CheckpointError(
            f"The model computed a number that is not finite (NaN or infinity) at decoder step {t + 1}: "
            "its weights are damaged."
        )


def _stack(records: Sequence[StepRecord], name: str) -> Tensor | None:
    """One field of every step -> (T, ...) with the batch dimension dropped."""
    values = [getattr(r, name) for r in records]
    return None if values[0] is None else torch.cat(values)


def _initial_hidden(encoded: Encoded) -> Tensor:
    """The decoder's s_0 for every layer, (L, B, H) (the h of (h, c) for an LSTM)."""
    return encoded.initial[0] if isinstance(encoded.initial, tuple) else encoded.initial


def _shapes(rec: StepRecord, encoded: Encoded, key_side_shape: list[int] | None) -> dict[str, list[int]]:
    shapes = {"encoder_states": list(encoded.states.shape), "initial_state": list(_initial_hidden(encoded)[-1].shape)}
    if key_side_shape is not None:
        shapes["key_side"] = key_side_shape
    for name in ("embedded", "rnn_input", "query", "state", "cell", "energies", "weights", "context", "attentional"):
        value = getattr(rec, name)
        if value is not None:
            shapes[name] = list(value.shape)
    for gate, value in rec.gates.items():
        shapes[f"gate_{gate}"] = list(value.shape)
    shapes["logits"] = list(rec.logits.shape)
    shapes["probs"] = list(rec.logits.shape)  # softmax keeps the shape
    return shapes


def _encoder_view(encoded: Encoded) -> dict:
    top = encoded.layers[-1]
    initial = _initial_hidden(encoded)
    arrays = _np_many(
        {
            "states": top.outputs[0],  # (S, H)
            "cells": top.cells[0] if top.cells is not None else None,  # (S, H) LSTM cell states
            "layers": torch.stack([layer.outputs[0] for layer in encoded.layers]),  # (L, S, H)
            "initial_state": initial[:, 0],  # (L, H) s_0 of each decoder layer
            "context": encoded.summary[0],  # (H,) the fixed context vector c
            **{f"gate_{name}": v[0] for name, v in top.gates.items()},  # (S, H) each
        }
    )
    gates = {name: arrays.pop(f"gate_{name}") for name in top.gates}
    return {**arrays, "gates": gates}


def _build_trace(
    model: Seq2Seq,
    source: Source,
    mode: str,
    run: tuple,
    options: dict,
    reference: str | None,
    beam: Beam | None = None,
    truncated: bool | None = None,
) -> Trace:
    """truncated defaults to "the last output is not <eos>" (free-running modes stop at <eos> or the cap)."""
    outputs, inputs, forced, records, encoded = run
    vocab = model.target_vocab
    logits = torch.cat([r.logits for r in records]).float()  # (T, V)
    log_z = torch.logsumexp(logits, dim=-1, keepdim=True)  # (T, 1): log p = logit − log Z
    top_logits, top_ids = logits.topk(min(TOPK, logits.shape[-1]), dim=-1)  # (T, K)
    top_p, top_ids = _np((top_logits - log_z).exp()).tolist(), top_ids.tolist()
    steps_range = torch.arange(len(outputs))
    chosen_p = _np((logits[steps_range, torch.tensor(outputs)] - log_z[:, 0]).exp()).tolist()

    ref_tokens = gold_ids = None
    unknown_ref: list[int] = []
    if reference is not None:
        ref_tokens, gold_ids, unknown_ref = target_ids(model, reference, "reference")
        ref_tokens, gold_ids = [*ref_tokens, EOS], [*gold_ids, EOS_ID]
        n = min(len(gold_ids), len(outputs))
        gold_lp = logits[torch.arange(n), torch.tensor(gold_ids[:n])] - log_z[:n, 0]
        gold_p, gold_loss = _np(gold_lp.exp()).tolist(), _np(-gold_lp).tolist()

    names = ("energies", "weights", "context", "query", "state", "cell", "attentional")
    fields = _np_many(
        {
            **{n: _stack(records, n) for n in names},  # (T, ...) or None
            "layer_states": torch.stack([r.layer_states[:, 0] for r in records]),  # (T, L, H)
            **{f"gate_{g}": torch.cat([r.gates[g] for r in records]) for g in records[0].gates},  # (T, H) each
        }
    )
    layer_states = fields.pop("layer_states")
    gates = {g: fields.pop(f"gate_{g}") for g in records[0].gates}
    projects_keys = model.config.attention not in ("none", "dot")  # key_side() keeps the shape of H
    key_shape = list(encoded.states.shape) if projects_keys else None
    shapes = _shapes(records[0], encoded, key_shape)  # every step of one decode has the same shapes

    def at(name: str, t: int) -> np.ndarray | None:
        return None if fields[name] is None else fields[name][t]

    steps = []
    for t in range(len(records)):
        has_gold = gold_ids is not None and t < len(gold_ids)
        steps.append(
            Step(
                t=t,
                input_token=vocab.tokens[inputs[t]],
                output_token=vocab.tokens[outputs[t]],
                output_prob=chosen_p[t],
                forced=forced[t],
                topk=[(vocab.tokens[i], p) for i, p in zip(top_ids[t], top_p[t], strict=True)],
                energies=at("energies", t),
                weights=at("weights", t),
                context=at("context", t),
                query=at("query", t),
                state=at("state", t),
                cell=at("cell", t),
                layer_states=layer_states[t],
                gates={g: v[t] for g, v in gates.items()},
                attentional=at("attentional", t),
                gold_token=ref_tokens[t] if has_gold else None,
                gold_prob=gold_p[t] if has_gold else None,
                loss=gold_loss[t] if has_gold else None,
                shapes=shapes,
            )
        )
    output_tokens = [vocab.tokens[i] for i in outputs]
    words = [tok for tok in output_tokens if tok not in FRAMING]
    return Trace(
        model=model_card(model),
        mode=mode,
        source_text=source.text,
        source_tokens=source.tokens,
        unknown_source_tokens=source.unknown,
        output_tokens=output_tokens,
        output_text=detokenize(words, model.config.level),
        attention=fields["weights"],
        steps=steps,
        encoder=_encoder_view(encoded),
        options=options,
        reference=reference,
        reference_tokens=ref_tokens,
        unknown_reference_tokens=unknown_ref,
        truncated=outputs[-1] != EOS_ID if truncated is None else truncated,
        beam=beam,
    )


def _argmax(logits: Tensor) -> int:
    return int(logits[0].argmax())


def greedy(model: Seq2Seq, text: str, reference: str | None = None, max_len: int | None = None) -> Trace:
    """Free-running: y_t = argmax p(y_t | y_<t, x), fed back as the next input."""
    reference, max_len = option("reference", reference), option("max_len", max_len)
    source = prepare_source(model, text)

    def choose(t: int, logits: Tensor) -> tuple[int, int, bool, bool]:
        y = _argmax(logits)
        return y, y, False, y == EOS_ID

    run = _run(model, source, choose, _cap(model, max_len))
    return _build_trace(model, source, "greedy", run, {}, reference)


def greedy_tokens(model: Seq2Seq, text: str, max_len: int | None = None) -> list[str]:
    """The same decode as greedy(), recording nothing (the untraced baseline of the tracing benchmark)."""
    max_len = option("max_len", max_len)
    source = prepare_source(model, text)

    def choose(t: int, logits: Tensor) -> tuple[int, int, bool, bool]:
        y = _argmax(logits)
        return y, y, False, y == EOS_ID

    outputs = _run(model, source, choose, _cap(model, max_len), record=False)[0]  # same explicit cells, no record
    return model.target_vocab.decode(outputs)


def forced_prefix(
    model: Seq2Seq,
    text: str,
    prefix: str | Sequence[str] | None = None,
    reference: str | None = None,
    max_len: int | None = None,
) -> Trace:
    """The first outputs are fixed to the prefix (a string, or a list of target tokens); then free-running.

    A list is held to the same rules as a string: counted against the server's ceiling before any token is read
    (the gate), its characters through the door together, then each token against the per-word ceiling and the
    whole against the model's cap, so a prefix never runs past cap_steps().
    """
    prefix, reference, max_len = option("prefix", prefix), option("reference", reference), option("max_len", max_len)
    source = prepare_source(model, text)
    if isinstance(prefix, str):
        tokens, ids, unknown = target_ids(model, prefix, "forced prefix")
    else:  # tokens picked or typed one by one: normalized as the model's own text is
        admit("".join(prefix), "forced prefix")
        tokens = [normalize(token, model.config.lowercase) for token in prefix]
        check_output_tokens(model, tokens, "forced prefix")
        ids, unknown = model.target_vocab.encode(tokens)
    if unknown:
        unwritable = excerpt(tokens[unknown[0]])
        raise InputError(f"The model cannot write {unwritable!r}: it is not in its output vocabulary.")

    def choose(t: int, logits: Tensor) -> tuple[int, int, bool, bool]:
        y = ids[t] if t < len(ids) else _argmax(logits)
        return y, y, t < len(ids), y == EOS_ID

    run = _run(model, source, choose, _cap(model, max_len, len(ids) + 1))
    return _build_trace(model, source, "forced_prefix", run, {"prefix": tokens}, reference)


def teacher_forced(model: Seq2Seq, text: str, reference: str | None = None) -> Trace:
    """Teacher forcing: step t reads the gold y_{t-1}; the output recorded is the model's argmax.

    The decode runs one step per reference token and one for <eos>, so it is truncated only if it stopped at the
    cap before scoring the reference's <eos>; the model's own argmax has no say (it is not fed back). A reference
    over the cap is refused up front (check_output_tokens), so a teacher-forced trace that exists is never
    truncated; the flag is computed from the steps run rather than assumed, so that stays true if the cap moves.
    """
    reference = option("reference", reference)
    source = prepare_source(model, text)
    if reference is None or not reference.strip():
        raise InputError("Teacher forcing needs a reference translation: type one.")
    _, gold, _ = target_ids(model, reference, "reference")
    gold = [*gold, EOS_ID]

    def choose(t: int, logits: Tensor) -> tuple[int, int, bool, bool]:
        return _argmax(logits), gold[t], False, gold[t] == EOS_ID

    steps = min(len(gold), _cap(model, None))
    run = _run(model, source, choose, steps)
    return _build_trace(model, source, "teacher_forced", run, {}, reference, truncated=len(run[0]) < len(gold))


def sample(
    model: Seq2Seq,
    text: str,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    reference: str | None = None,
    max_len: int | None = None,
) -> Trace:
    """y_t ~ softmax(logits / temperature), restricted to the top_k tokens when given; seeded, so repeatable."""
    temperature, top_k, seed = option("temperature", temperature), option("top_k", top_k), option("seed", seed)
    reference, max_len = option("reference", reference), option("max_len", max_len)
    source = prepare_source(model, text)
    generator = torch.Generator().manual_seed(seed)

    def choose(t: int, logits: Tensor) -> tuple[int, int, bool, bool]:
        scaled = logits[0].float().cpu() / temperature
        if top_k is not None:
            kth = scaled.topk(min(top_k, scaled.numel())).values[-1]
            scaled = scaled.masked_fill(scaled < kth, float("-inf"))
        y = int(torch.multinomial(torch.softmax(scaled, -1), 1, generator=generator))
        return y, y, False, y == EOS_ID

    run = _run(model, source, choose, _cap(model, max_len))
    options = {"temperature": temperature, "top_k": top_k, "seed": seed}
    return _build_trace(model, source, "sample", run, options, reference)


def _cap(model: Seq2Seq, max_len: int | None, at_least: int = 1) -> int:
    """Steps to run: the model's and the server's cap (and max_len when given), but at least a forced prefix."""
    return max(cap_steps(model.config.max_output_len, max_len), at_least)


@torch.no_grad()
def beam_search(
    model: Seq2Seq,
    text: str,
    beam_size: int = 5,
    length_penalty: float = 1.0,
    reference: str | None = None,
    max_len: int | None = None,
) -> Trace:
    """Keep the K best partial hypotheses by cumulative log-probability.

    At each step every live hypothesis proposes its K best next tokens; the K best non-final candidates stay
    live, and candidates ending in <eos> that rank within the top K are finished (at the last step allowed, within
    the top K of those ending in <eos>). Stops when K are finished.
    Final ranking: score = log p(y) / |y|^length_penalty. The Trace's steps are the best hypothesis re-run
    through the traced decoder (chosen by the search, so not Step.forced); beam.nodes is the whole tree.
    """
    beam_size, length_penalty = option("beam_size", beam_size), option("length_penalty", length_penalty)
    reference, max_len = option("reference", reference), option("max_len", max_len)
    source = prepare_source(model, text)
    cap = _cap(model, max_len)
    encoded, key_side = model.encode(source.ids, torch.tensor([source.ids.shape[1]]))
    state = model.decoder.initial_state(encoded)
    nodes = [BeamNode(id=0, parent=None, t=-1, token=BOS, logprob=0.0, cumulative=0.0, score=0.0,
                      finished=False, kept=True)]  # fmt: skip
    live = [(0, [], 0.0)]  # (node id, token ids, cumulative log-prob)
    finished: list[tuple[int, list[int], float]] = []
    for t in range(cap):
        rows = len(live)
        expanded = _expand(encoded, rows)
        keys = key_side.expand(rows, -1, -1) if key_side is not None else None
        y_prev = torch.tensor([ids[-1] if ids else BOS_ID for _, ids, _ in live], device=model.device)
        logits, new_state, _ = model.decoder.step(y_prev, state, expanded, keys, explicit=False)
        _check_finite(logits, t)
        log_probs = torch.log_softmax(logits.float(), dim=-1)  # (n, V)
        top_lp, top_ids = log_probs.topk(min(beam_size, log_probs.shape[-1]), dim=-1)  # (n, K)
        candidates = []
        for row, (node_id, ids, cum) in enumerate(live):
            for lp, tok in zip(top_lp[row].tolist(), top_ids[row].tolist(), strict=True):
                candidates.append((cum + lp, lp, row, node_id, [*ids, tok]))
        candidates.sort(key=lambda c: -c[0])
        # At the cap no step follows, so a candidate without <eos> cannot become a result (it is only the fallback
        # when nothing finished): there an <eos> candidate ranks among the <eos> candidates alone, else the
        # doomed ones would crowd finished hypotheses out of the top K.
        last = t == cap - 1
        survivors, new_live = [], []
        eos_seen = 0
        for rank, (cum, lp, row, parent, ids) in enumerate(candidates):
            is_eos = ids[-1] == EOS_ID
            if is_eos:
                kept = (eos_seen if last else rank) < beam_size
                eos_seen += 1
            else:
                kept = len(new_live) < beam_size
            node = BeamNode(
                id=len(nodes),
                parent=parent,
                t=t,
                token=model.target_vocab.tokens[ids[-1]],
                logprob=round(lp, DECIMALS),
                cumulative=round(cum, DECIMALS),
                score=round(cum / len(ids) ** length_penalty, DECIMALS),
                finished=is_eos,
                kept=kept,
            )
            nodes.append(node)
            if kept and is_eos:
                finished.append((node.id, ids, cum))
            elif kept:
                new_live.append((node.id, ids, cum))
                survivors.append(row)
        if len(finished) >= beam_size or not new_live:
            break
        live = new_live
        index = torch.tensor(survivors, device=model.device)
        state = type(state)([_select(s, index) for s in new_state.layers], _select(new_state.feed, index))
    pool = finished or live  # nothing finished within the cap: the live hypotheses, marked truncated
    ranked = sorted(pool, key=lambda h: -h[2] / len(h[1]) ** length_penalty)
    nbest = tuple(
        Hypothesis(
            node=nid,
            tokens=tuple(model.target_vocab.decode(ids)),
            logprob=round(cum, DECIMALS),
            score=round(cum / len(ids) ** length_penalty, DECIMALS),
            text=detokenize([tok for tok in model.target_vocab.decode(ids) if tok not in FRAMING], model.config.level),
            finished=ids[-1] == EOS_ID,
        )
        for nid, ids, cum in ranked
    )
    best = ranked[0][1]

    def choose(t: int, logits: Tensor) -> tuple[int, int, bool, bool]:
        return best[t], best[t], False, t == len(best) - 1  # the search chose these tokens; the caller did not

    run = _run(model, source, choose, len(best))
    options = {"beam_size": beam_size, "length_penalty": length_penalty}
    beam = Beam(width=beam_size, length_penalty=length_penalty, nodes=tuple(nodes), nbest=nbest)
    return _build_trace(model, source, "beam", run, options, reference, beam=beam)


def _expand(encoded: Encoded, rows: int) -> Encoded:
    """The single source's encoding repeated for `rows` hypotheses."""
    return Encoded(
        states=encoded.states.expand(rows, -1, -1),
        mask=encoded.mask.expand(rows, -1),
        initial=encoded.initial,
        summary=encoded.summary.expand(rows, -1),
        embedded=encoded.embedded,
        layers=None,
    )


def _select(state, index: Tensor):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.index_select(0, index) for s in state)
    return state.index_select(0, index)


STRATEGIES: dict[str, Callable[..., Trace]] = {
    "greedy": greedy,
    "beam": beam_search,
    "sample": sample,
    "teacher_forced": teacher_forced,
    "forced_prefix": forced_prefix,
}
assert STRATEGIES.keys() == MODE_OPTIONS.keys()


def decode(model: Seq2Seq, text: str, mode: str = "greedy", **options) -> Trace:
    """Dispatch by mode name: greedy, beam, sample, teacher_forced, forced_prefix.

    Names the mode does not take are refused (the sentence lists those it knows); each strategy then sends
    every option through the gate (options.option) and every text through the door (text.admit).
    """
    if not isinstance(mode, str) or mode not in STRATEGIES:
        raise InputError(f"Unknown decoding mode {shown(mode)}; choose one of {', '.join(STRATEGIES)}.")
    check_names(mode, options)
    return STRATEGIES[mode](model, text, **options)
