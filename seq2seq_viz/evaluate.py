"""Test-set metrics of a model on its task: batched greedy decoding and teacher-forced attention for AER."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from . import metrics
from .decoder import DecoderState
from .errors import InputError
from .model import Seq2Seq
from .tasks import Example, Task, get_task
from .text import detokenize
from .train import make_batch
from .vocab import BOS_ID, EOS_ID, SPECIALS

TOY_LENGTH_BUCKETS = ((3, 6), (7, 9), (10, 12), (13, 16), (17, 20))
PAIRS_CHAR_BUCKETS = ((1, 5), (6, 10), (11, 20), (21, 40), (41, None))  # a person's file: any length, none lost
SPLIT_BUCKETS = {"test_joined": metrics.LONG_LENGTH_BUCKETS}  # word tasks' by-length buckets, where not the usual
LONG_SENTENCE = 7  # words: the "sentences of 7+ words", where a fixed context should struggle


@torch.no_grad()
def greedy_batch(model: Seq2Seq, sources: Sequence[Sequence[str]], batch_size: int = 256) -> list[list[str]]:
    """Free-running greedy outputs (without <eos>) for many tokenized sources at once, on the fused path."""
    model.eval()
    outputs: list[list[str]] = []
    for start in range(0, len(sources), batch_size):
        chunk = sources[start : start + batch_size]
        batch = make_batch([(s, []) for s in chunk], model.source_vocab, model.target_vocab)
        src = batch.src.to(model.device)
        encoded, key_side = model.encode(src, batch.lengths)
        state: DecoderState = model.decoder.initial_state(encoded)
        y_prev = torch.full((len(chunk),), BOS_ID, device=model.device)
        done = torch.zeros(len(chunk), dtype=torch.bool, device=model.device)
        ids = []
        for _ in range(model.config.max_output_len):
            logits, state, _ = model.decoder.step(y_prev, state, encoded, key_side, explicit=False)
            y_prev = logits.argmax(-1)
            ids.append(y_prev)
            done |= y_prev == EOS_ID
            if bool(done.all()):
                break
        for row in torch.stack(ids, dim=1).tolist():
            row = row[: row.index(EOS_ID)] if EOS_ID in row else row
            outputs.append(model.target_vocab.decode(row))
    return outputs


@torch.no_grad()
def teacher_forced_argmax_attention(
    model: Seq2Seq, pairs: Sequence[tuple[Sequence[str], Sequence[str]]], batch_size: int = 256
) -> list[list[int]]:
    """For each pair, the source position of maximal attention at each gold target token (gold prefix fed)."""
    model.eval()
    result: list[list[int]] = []
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        batch = make_batch(chunk, model.source_vocab, model.target_vocab).to(model.device)
        encoded, key_side = model.encode(batch.src, batch.lengths)
        state = model.decoder.initial_state(encoded)
        argmaxes = []
        for t in range(batch.y_in.shape[1]):
            _, state, record = model.decoder.step(batch.y_in[:, t], state, encoded, key_side, explicit=False)
            argmaxes.append(record.weights.argmax(-1))  # (B,)
        table = torch.stack(argmaxes, dim=1).tolist()  # (B, T)
        result += [row[: len(tgt)] for row, (_, tgt) in zip(table, chunk, strict=True)]
    return result


def source_length(task: Task, tokens: Sequence[str]) -> int:
    """Length for bucketing: characters for char tasks, words (punctuation not counted) for word tasks."""
    return len(tokens) if task.level == "char" else sum(any(c.isalnum() for c in t) for t in tokens)


def _texts(model: Seq2Seq, token_lists: Sequence[Sequence[str]]) -> list[str]:
    return [detokenize([t for t in toks if t not in SPECIALS], model.config.level) for toks in token_lists]


def evaluate_examples(
    model: Seq2Seq, task: Task, examples: Sequence[Example], buckets: metrics.Buckets = metrics.LENGTH_BUCKETS
) -> dict[str, Any]:
    """Metrics on a list of examples: BLEU for word tasks (by source length in `buckets`); exact match, char
    accuracy, AER for the others."""
    sources = [task.tokens(e.source) for e in examples]
    hyps = _texts(model, greedy_batch(model, sources))
    refs = [list(e.all_references) for e in examples]
    refs_norm = [[detokenize(task.tokens(r), task.level) for r in rs] for rs in refs]
    lengths = [source_length(task, s) for s in sources]
    result: dict[str, Any] = {"examples": len(examples), "exact_match": metrics.exact_match(hyps, refs_norm)}
    if task.level == "word":
        result["bleu"] = metrics.bleu(hyps, refs_norm)
        result["bleu_by_length"] = metrics.bleu_by_length(lengths, hyps, refs_norm, buckets)
        long = [i for i, n in enumerate(lengths) if n >= LONG_SENTENCE]
        result["bleu_long"] = metrics.bleu([hyps[i] for i in long], [refs_norm[i] for i in long]) if long else None
    else:
        result["char_accuracy"] = metrics.char_accuracy(hyps, [r[0] for r in refs_norm])
        matches = [float(metrics.exact_match([h], [r])) for h, r in zip(hyps, refs_norm, strict=True)]
        buckets = PAIRS_CHAR_BUCKETS if task.provenance.get("builder") == "pairs" else TOY_LENGTH_BUCKETS
        result["exact_match_by_length"] = metrics.by_length(lengths, matches, buckets)
        aligned = [e for e in examples if e.alignment is not None]
        if model.config.attention != "none" and aligned:
            pairs = [(task.tokens(e.source), task.tokens(e.target)) for e in aligned]
            predicted = teacher_forced_argmax_attention(model, pairs)
            result["aer"] = metrics.corpus_aer(predicted, [e.alignment for e in aligned])
    return result


def task_of(model: Seq2Seq, data_path: str | None = None) -> Task:
    """The task a model was trained on. A model of a person's own file (the pairs task) is rebuilt from what its
    card recorded: the file (data_path overrides where it is now; its bytes must be the same), level and seed."""
    card = getattr(model, "card", None) or {}
    info = card.get("task") if isinstance(card.get("task"), dict) else {}
    if info.get("builder") == "pairs":
        from .tasks.pairs import build_pairs

        return build_pairs(
            data_path or info.get("data"),
            level=model.config.level,
            lowercase=model.config.lowercase,
            seed=info["seed"] if isinstance(info.get("seed"), int) else 0,
            name=model.config.task,
            expected_sha256=(card.get("provenance") or {}).get("sha256"),
        )
    return get_task(model.config.task, data_path)


def evaluate_model(
    model: Seq2Seq,
    split: str = "test",
    limit: int | None = None,
    data_path: str | None = None,
    task: Task | None = None,
):
    """Metrics of a model on its own task's test split (and its extra test splits, e.g. long inputs).

    task: the task it was just trained on (skips rebuilding it); by default task_of(model, data_path).
    """
    task = task or task_of(model, data_path)
    splits = {"test": task.test, **{f"test_{k}": v for k, v in task.extra_tests.items()}}
    if split != "all":
        if split not in splits:
            raise InputError(f"Task {task.name!r} has no split {split!r}; choose all, {', '.join(splits)}.")
        splits = {split: splits[split]}
    return {
        name: evaluate_examples(
            model, task, list(ex[:limit] if limit else ex), SPLIT_BUCKETS.get(name, metrics.LENGTH_BUCKETS)
        )
        for name, ex in splits.items()
    }


ATTRIBUTION_EXAMPLES = 100  # test examples a model's attribution metrics are measured on (the first ones)


def attribution_metrics(model: Seq2Seq, task: Task, examples: Sequence[Example]) -> dict[str, Any]:
    """Is attention an explanation, for this model? For each attribution method, over `examples`:

    - agreement on the model's own greedy decode (what the lab shows): the mean over examples of the mean
      Spearman ρ between α_t and |a_t| over the steps, and of the share of steps whose most attended source token
      is the most attributed one;
    - where the task has gold alignments (dates, toy tasks): the AER of argmax_j |a_tj| against gold, teacher-forced
      on the gold target, beside the AER of argmax_j α_tj (the card's test "aer") measured the same way.
    A fixed-context model has no attention to compare: its entry holds only the attribution AER.
    """
    from .agreement import METHODS, agreement
    from .attribution import COMPUTE, attribute
    from .decoding import greedy, prepare_source

    result: dict[str, Any] = {"examples": len(examples)}
    has_attention = model.config.attention != "none"
    rho: dict[str, list[float]] = {m: [] for m in METHODS}
    top: dict[str, list[float]] = {m: [] for m in METHODS}
    if has_attention:
        for example in examples:
            trace = attribute(model, greedy(model, example.source), METHODS)
            for method in METHODS:
                found = agreement(trace.attention, trace.attribution[method].array)
                if found["mean_spearman"] is not None:
                    rho[method].append(found["mean_spearman"])
                top[method].append(found["top_match_rate"])
    aligned = [e for e in examples if e.alignment is not None]
    predicted: dict[str, list[list[int]]] = {m: [] for m in METHODS}
    for example in aligned:
        source = prepare_source(model, example.source)
        gold, _ = model.target_vocab.encode(task.tokens(example.target))
        for method in METHODS:
            matrix = COMPUTE[method](model, source.ids, [*gold, EOS_ID]).array
            predicted[method].append([int(abs(row).argmax()) for row in matrix[: len(gold)]])
    for method in METHODS:
        entry: dict[str, Any] = {}
        if has_attention:
            entry["mean_spearman"] = sum(rho[method]) / len(rho[method]) if rho[method] else None
            entry["top_match_rate"] = sum(top[method]) / len(top[method]) if top[method] else None
        if aligned:
            entry["aer"] = metrics.corpus_aer(predicted[method], [e.alignment for e in aligned])
        result[method] = entry
    if aligned and has_attention:
        pairs = [(task.tokens(e.source), task.tokens(e.target)) for e in aligned]
        result["attention_aer"] = metrics.corpus_aer(
            teacher_forced_argmax_attention(model, pairs), [e.alignment for e in aligned]
        )
    return result
