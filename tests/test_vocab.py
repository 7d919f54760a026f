import pytest

from seq2seq_viz.vocab import BOS, EOS, PAD, UNK, UNK_ID, Vocab


def test_specials_first_and_min_freq():
    vocab = Vocab.build([["a", "b", "a"], ["c", "a", "b"]], min_freq=2)
    assert vocab.tokens == (PAD, BOS, EOS, UNK, "a", "b")
    assert "c" not in vocab


def test_unknown_positions_are_reported_not_dropped():
    vocab = Vocab.build([["a", "b"]])
    ids, unknown = vocab.encode(["b", "zz", "a", "qq"])
    assert ids == [vocab.index["b"], UNK_ID, vocab.index["a"], UNK_ID]
    assert unknown == [1, 3]


def test_json_round_trip_and_validation():
    vocab = Vocab.build([["x", "y"]], max_size=5)
    assert len(vocab) == 5
    assert Vocab.from_json(vocab.to_json()) == vocab
    with pytest.raises(ValueError):
        Vocab(("a", "b"))
