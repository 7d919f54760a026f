"""bench/long_sentences.py's data keeps its promise (10-15 words, not in the training data, every English word known)
and its figures are BLEU and word counts of what the model wrote."""

from __future__ import annotations

import pytest
import sacrebleu
from app_support import load_bench

from seq2seq_viz import load_model
from seq2seq_viz.tasks.engfra import resolve_eng_fra_path
from seq2seq_viz.text import tokenize

long_sentences = load_bench("long_sentences")


@pytest.fixture(scope="module")
def pairs() -> list[tuple[str, str]]:
    return long_sentences.read_sentences()


def test_forty_single_sentences_of_ten_to_fifteen_words_every_word_known(pairs):
    model = load_model("eng-fra-lstm-dot")
    assert len(pairs) == 40 and len({english for english, _ in pairs}) == 40
    for english, french in pairs:
        tokens = tokenize(english, "word", lowercase=True)
        assert 10 <= sum(any(c.isalnum() for c in t) for t in tokens) <= 15, english  # words, not punctuation
        assert sum(t in ".?!" for t in tokens) == 1 and tokens[-1] in ".?!", english  # one sentence, not a join
        assert all(t in model.source_vocab for t in tokens), english
        assert french[-1] in ".?!", french


def test_no_sentence_is_in_the_training_data(pairs):
    path = resolve_eng_fra_path(None)
    if not path.is_file():
        pytest.skip(f"The eng-fra data file {path} is absent.")
    seen = {line.split("\t")[0].strip().lower() for line in path.read_text(encoding="utf-8").splitlines()}
    assert not [english for english, _ in pairs if english.lower() in seen]


def test_a_malformed_line_names_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("# comment\nOne\ttwo.\nno tab here\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"bad.tsv:3: expected 'English<TAB>French'"):
        long_sentences.read_sentences(bad)


def test_figures_are_sacrebleu_and_word_counts_of_the_outputs(pairs):
    result = long_sentences.measure("eng-fra-rnn-none", pairs[:8])
    outputs = result["outputs"]
    assert len(outputs) == 8 and all(isinstance(o, str) for o in outputs)
    expected = sacrebleu.corpus_bleu(outputs, [[french for _, french in pairs[:8]]], lowercase=True).score
    assert result["bleu"] == pytest.approx(expected)
    words = [(len(tokenize(o, "word", lowercase=True)), len(tokenize(f, "word", lowercase=True))) for o, (_, f) in
             zip(outputs, pairs[:8], strict=True)]  # fmt: skip
    short = sum(out < 0.6 * ref for out, ref in words)
    assert result["short"] == short
    assert result["trained_longest"] == load_model("eng-fra-rnn-none").card["task"]["longest_source"] == 27
