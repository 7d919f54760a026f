"""Metrics against hand-computed values and against sacrebleu called directly."""

from __future__ import annotations

from datetime import date

import pytest
import sacrebleu

from seq2seq_viz.metrics import (
    AlignmentCounts,
    alignment_counts,
    alignment_error_rate,
    bleu,
    bleu_by_length,
    bucket_label,
    by_length,
    char_accuracy,
    corpus_aer,
    exact_match,
)
from seq2seq_viz.tasks.dates import render_date

HYPS = ["the cat sat on the mat today", "a dog barks at the postman"]
REFS = [["The cat sat on a mat today"], ["the dog barks at the postman"]]


def test_bleu_equals_sacrebleu_called_directly():
    expected = sacrebleu.corpus_bleu(HYPS, [[refs[0] for refs in REFS]], lowercase=True).score
    assert bleu(HYPS, REFS) == pytest.approx(expected)
    assert bleu(HYPS, REFS) == pytest.approx(61.8692, abs=1e-3)


def test_bleu_lowercases():
    assert bleu(["The Cat Sat On The Mat"], [["the cat sat on the mat"]]) == pytest.approx(100.0)


def test_more_references_raise_bleu():
    more = [[*REFS[0], "the cat sat on the mat today"], REFS[1]]
    assert bleu(HYPS, more) > bleu(HYPS, REFS)
    assert bleu(HYPS, more) == pytest.approx(
        sacrebleu.corpus_bleu(HYPS, [[more[0][0], more[1][0]], [more[0][1], None]], lowercase=True).score
    )


def test_missing_references_are_padded_with_none_not_an_empty_reference():
    # An empty reference would be the "closest length" of the short first hypothesis and cancel its brevity penalty.
    hyps = ["il est là", "le chat dort sur le lit"]
    refs = [["il est là maintenant avec nous"], ["le chien dort sur le lit", "le chat dort sur le lit"]]
    assert bleu(hyps, refs) == pytest.approx(71.6531, abs=1e-3)
    assert bleu(hyps, refs) < 100


def test_bleu_refuses_mismatched_or_empty_input():
    with pytest.raises(ValueError, match="one entry per sentence"):
        bleu(HYPS, REFS[:1])
    with pytest.raises(ValueError, match="at least one sentence"):
        bleu([], [])
    with pytest.raises(ValueError, match="at least one reference"):
        bleu(HYPS, [REFS[0], []])


def test_exact_match():
    # "Va !" (French typographic spacing) and "va!" (our detokenizer) are the same answer; any reference will do.
    assert exact_match(["Va !", "cours!", "x"], [["va!"], ["Courez !", "Cours !"], ["y"]]) == pytest.approx(2 / 3)
    assert exact_match(["1999-03-03"], [["1999-03-03"]]) == 1.0
    assert exact_match(["1999-03-03"], [["1999-03-04"]]) == 0.0


def test_char_accuracy():
    assert char_accuracy(["1999-03-03"], ["1999-03-04"]) == pytest.approx(9 / 10)
    assert char_accuracy(["abc"], ["abcde"]) == pytest.approx(3 / 5)  # missing characters count as wrong
    assert char_accuracy(["abcde"], ["abc"]) == pytest.approx(3 / 5)  # and so do extra ones
    assert char_accuracy(["1999-03-03", "abc"], ["1999-03-04", "abcde"]) == pytest.approx(12 / 15)  # pooled


GOLD = ((0,), (1, 2), (), (3,))  # token 1 has two possible links, token 2 aligns to nothing


def test_aer_perfect_alignment_is_zero():
    example = render_date(date(1999, 3, 3), "en:full")
    predicted = [positions[0] if positions else None for positions in example.alignment]
    assert alignment_error_rate(predicted, example.alignment) == 0.0
    # Any link inside a possible set is just as right: the last letter of "march" for the month digits.
    predicted[5] = predicted[6] = example.alignment[5][-1]
    assert alignment_error_rate(predicted, example.alignment) == 0.0


def test_aer_all_wrong_is_one():
    example = render_date(date(1999, 3, 3), "en:full")
    assert alignment_error_rate([0] * 10, example.alignment) == 1.0  # position 0 ("w") determines nothing
    assert alignment_error_rate([9, 0, 0, 0], GOLD) == 1.0


def test_aer_hand_computed_mixed_case():
    # A = {(0,0), (1,2), (3,4)} (token 2 skipped: empty gold); S = {(0,0), (3,3)}; P = S ∪ {(1,1), (1,2)}
    # |A∩S| = 1, |A∩P| = 2  →  AER = 1 − (1 + 2) / (3 + 2) = 0.4
    assert alignment_counts([0, 2, 5, 4], GOLD) == AlignmentCounts(
        predicted=3, sure=2, predicted_and_sure=1, predicted_and_possible=2
    )
    assert alignment_error_rate([0, 2, 5, 4], GOLD) == pytest.approx(0.4)
    # Which possible link is hit does not matter: (1, 1) instead of (1, 2) gives the same 0.4.
    assert alignment_error_rate([0, 1, None, 4], GOLD) == pytest.approx(0.4)
    # A possible-only link missed costs nothing in |S|: only |A| grows.  1 − (1 + 1) / (3 + 2) = 0.6
    assert alignment_error_rate([0, 0, None, 4], GOLD) == pytest.approx(0.6)


def test_aer_none_skips_the_token():
    assert alignment_error_rate([0, None, None, 3], GOLD) == 0.0
    assert alignment_counts([0, 1, None, None], GOLD) == AlignmentCounts(2, 1, 1, 2)  # token 3's sure link is skipped


def test_aer_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match="one entry per target token"):
        alignment_error_rate([0, 1], GOLD)


def test_corpus_aer_pools_counts():
    perfect = ([0], ((0,),))  # AER 0
    wrong = ([1, 2, 0], ((0,), (1,), (2,)))  # AER 1
    assert corpus_aer([perfect[0], wrong[0]], [perfect[1], wrong[1]]) == pytest.approx(1 - (1 + 1) / (4 + 4))


def test_by_length_means_and_labels():
    assert by_length([1, 2, 5, 12, 7], [1, 0, 1, 0.5, 0]) == {"1-3": 0.5, "4-6": 1.0, "7-9": 0.0, "10+": 0.5}
    assert by_length([1, 2], [1.0, 0.0]) == {"1-3": 0.5}  # empty buckets are left out
    assert by_length([4, 5, 9], [1, 2, 3], buckets=((4, 4), (5, None))) == {"4": 1, "5+": 2.5}
    assert [bucket_label(b) for b in ((1, 3), (10, None), (5, 5))] == ["1-3", "10+", "5"]


def test_bleu_by_length_is_corpus_bleu_per_bucket():
    lengths = [2, 5, 5, 11]
    hyps = ["a b c d e", "x y z w q", "the cat sat on the mat", "hello there my friend"]
    refs = [["a b c d e"], ["x y z w v"], ["the cat sat on a mat"], ["hello there my friend"]]
    scores = bleu_by_length(lengths, hyps, refs)
    assert list(scores) == ["1-3", "4-6", "10+"]
    assert scores["1-3"] == pytest.approx(100.0) and scores["10+"] == pytest.approx(100.0)
    assert scores["4-6"] == pytest.approx(bleu(hyps[1:3], refs[1:3]))
    assert scores["4-6"] == pytest.approx(59.4217, abs=1e-3)
