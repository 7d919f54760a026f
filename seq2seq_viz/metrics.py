"""Scores of decoded outputs: exact match, character accuracy, BLEU (sacrebleu), alignment error rate, by length."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sacrebleu

from .text import detokenize, normalize, word_tokenize

Buckets = Sequence[tuple[int, int | None]]  # inclusive (low, high); high None means "and longer"
LENGTH_BUCKETS: tuple[tuple[int, int | None], ...] = ((1, 3), (4, 6), (7, 9), (10, None))
# Long inputs (eng-fra's test_joined: 2-3 test sentences joined), in words, out to the 27 a join of three reaches
LONG_LENGTH_BUCKETS: tuple[tuple[int, int | None], ...] = ((10, 13), (14, 17), (18, 22), (23, 27), (28, None))


def _check_same_length(name: str, first: Sequence, second: Sequence) -> None:
    if len(first) != len(second):
        raise ValueError(f"{name} needs one entry per sentence on both sides, not {len(first)} and {len(second)}.")
    if not first:
        raise ValueError(f"{name} needs at least one sentence.")


def _canonical(text: str) -> str:
    """The form two translations are compared in: normalized, lowercased, re-tokenized and detokenized.

    Going through the tokenizer makes French typographic spacing ("Va !") equal the detokenizer's "va!".
    """
    return detokenize(word_tokenize(normalize(text, lowercase=True)), "word")


def exact_match(hyps: Sequence[str], refs_list: Sequence[Sequence[str]]) -> float:
    """Fraction of hypotheses equal to at least one of their references: EM = (1/N) Σ_n [∃ r ∈ R_n: hyp_n ≡ r]."""
    _check_same_length("exact_match", hyps, refs_list)
    hits = sum(_canonical(hyp) in {_canonical(ref) for ref in refs} for hyp, refs in zip(hyps, refs_list, strict=True))
    return hits / len(hyps)


def char_accuracy(hyps: Sequence[str], refs: Sequence[str]) -> float:
    """Fraction of character positions right, over the longer string of each pair:

    acc = Σ_n #{i : hyp_n[i] = ref_n[i]} / Σ_n max(|hyp_n|, |ref_n|)   (a missing character is wrong)
    """
    _check_same_length("char_accuracy", hyps, refs)
    right = positions = 0
    for hyp, ref in zip(hyps, refs, strict=True):
        hyp, ref = normalize(hyp, lowercase=True), normalize(ref, lowercase=True)
        right += sum(h == r for h, r in zip(hyp, ref, strict=False))
        positions += max(len(hyp), len(ref))  # the longer string's extra characters are positions got wrong
    return right / positions if positions else 1.0  # only empty pairs: nothing was got wrong


def bleu(hyps: Sequence[str], refs_list: Sequence[Sequence[str]]) -> float:
    """Corpus BLEU (sacrebleu defaults: 13a tokens, exp smoothing; lowercased) against every reference, 0–100:

    BLEU = BP · exp(Σ_{n=1..4} ¼ log p_n),  BP = min(1, exp(1 − r/c)),
    p_n = clipped n-gram matches / hypothesis n-grams (clipped by the max count in any one reference),
    c = hypothesis length, r = the sum over sentences of the reference length closest to each hypothesis.
    """
    _check_same_length("bleu", hyps, refs_list)
    if any(not refs for refs in refs_list):
        raise ValueError("bleu needs at least one reference for every sentence.")
    # sacrebleu wants reference *streams*: stream k holds every sentence's k-th reference. Sentences with fewer
    # references are padded with None, which sacrebleu skips (an empty string would count as a 0-word reference).
    n_streams = max(len(refs) for refs in refs_list)
    streams = [[refs[k] if k < len(refs) else None for refs in refs_list] for k in range(n_streams)]
    return float(sacrebleu.corpus_bleu(list(hyps), streams, lowercase=True).score)


@dataclass(frozen=True)
class AlignmentCounts:
    """The link counts AER is made of; they add up over sentences (corpus AER pools them)."""

    predicted: int  # |A|
    sure: int  # |S|
    predicted_and_sure: int  # |A ∩ S|
    predicted_and_possible: int  # |A ∩ P|

    def __add__(self, other: AlignmentCounts) -> AlignmentCounts:
        return AlignmentCounts(
            self.predicted + other.predicted,
            self.sure + other.sure,
            self.predicted_and_sure + other.predicted_and_sure,
            self.predicted_and_possible + other.predicted_and_possible,
        )

    @property
    def error_rate(self) -> float:
        """AER = 1 − (|A ∩ S| + |A ∩ P|) / (|A| + |S|)."""
        if self.predicted + self.sure == 0:
            raise ValueError("The alignment error rate needs at least one predicted or sure link to score.")
        return 1 - (self.predicted_and_sure + self.predicted_and_possible) / (self.predicted + self.sure)


def alignment_counts(predicted: Sequence[int | None], gold: Sequence[Sequence[int]]) -> AlignmentCounts:
    """Count links for one sentence, in Och & Ney's terms, per target token j:

    A = {(j, predicted[j])}, P = {(j, i) : i ∈ gold[j]}, S = {(j, i) ∈ P : |gold[j]| = 1}.
    A target token is skipped (in none of A, P, S) when its gold set is empty (a "-" of a date aligns to nothing)
    or its prediction is None (no prediction for it).
    """
    if len(predicted) != len(gold):
        raise ValueError(
            f"The predicted alignment has {len(predicted)} target tokens and the gold one {len(gold)}; "
            "they need one entry per target token each."
        )
    n_predicted = n_sure = n_predicted_and_sure = n_predicted_and_possible = 0
    for source_position, gold_positions in zip(predicted, gold, strict=True):
        if source_position is None or not gold_positions:
            continue
        is_sure = len(gold_positions) == 1
        hit = source_position in gold_positions
        n_predicted += 1
        n_sure += is_sure
        n_predicted_and_possible += hit
        n_predicted_and_sure += hit and is_sure
    return AlignmentCounts(n_predicted, n_sure, n_predicted_and_sure, n_predicted_and_possible)


def alignment_error_rate(predicted: Sequence[int | None], gold: Sequence[Sequence[int]]) -> float:
    """Och & Ney's AER of one sentence: 1 − (|A ∩ S| + |A ∩ P|) / (|A| + |S|); 0 is perfect, 1 all wrong.

    predicted: for each target token, the source position attention looked at most (argmax), or None.
    gold: Example.alignment, for each target token the source positions that produced it.
    """
    return alignment_counts(predicted, gold).error_rate


def corpus_aer(predicted_list: Sequence[Sequence[int | None]], gold_list: Sequence[Sequence[Sequence[int]]]) -> float:
    """AER over a corpus, from the link counts pooled over its sentences (not a mean of sentence AERs)."""
    _check_same_length("corpus_aer", predicted_list, gold_list)
    total = AlignmentCounts(0, 0, 0, 0)
    for predicted, gold in zip(predicted_list, gold_list, strict=True):
        total += alignment_counts(predicted, gold)
    return total.error_rate


def bucket_label(bucket: tuple[int, int | None]) -> str:
    """(1, 3) → "1-3", (10, None) → "10+", (5, 5) → "5"."""
    low, high = bucket
    if high is None:
        return f"{low}+"
    return str(low) if low == high else f"{low}-{high}"


def _bucket_indices(lengths: Sequence[int], buckets: Buckets) -> dict[str, list[int]]:
    """Sentence indices per bucket label, non-empty buckets only, in the order of `buckets`."""
    indices: dict[str, list[int]] = {}
    for low, high in buckets:
        members = [n for n, length in enumerate(lengths) if low <= length and (high is None or length <= high)]
        if members:
            indices[bucket_label((low, high))] = members
    return indices


def by_length(lengths: Sequence[int], values: Sequence[float], buckets: Buckets = LENGTH_BUCKETS) -> dict[str, float]:
    """The mean of a per-sentence score within each source-length bucket: {"1-3": mean, ..., "10+": mean}.

    score(bucket) = (1/|bucket|) Σ_{n ∈ bucket} values[n]; empty buckets are left out.
    """
    _check_same_length("by_length", lengths, values)
    return {
        label: sum(values[n] for n in members) / len(members)
        for label, members in _bucket_indices(lengths, buckets).items()
    }


def bleu_by_length(
    sources_lengths: Sequence[int],
    hyps: Sequence[str],
    refs_list: Sequence[Sequence[str]],
    buckets: Buckets = LENGTH_BUCKETS,
) -> dict[str, float]:
    """Corpus BLEU of each source-length bucket (BLEU is a corpus score, so it is not a mean of sentence BLEUs)."""
    _check_same_length("bleu_by_length", sources_lengths, hyps)
    _check_same_length("bleu_by_length", hyps, refs_list)
    return {
        label: bleu([hyps[n] for n in members], [refs_list[n] for n in members])
        for label, members in _bucket_indices(sources_lengths, buckets).items()
    }
