from seq2seq_viz.text import char_tokenize, detokenize, normalize, tokenize, word_tokenize


def test_normalize_nfkc_apostrophes_and_spaces():
    assert normalize("Ｊ’aime\u00a0 le  café", lowercase=True) == "j'aime le café"


def test_word_tokenizer_splits_punctuation_and_french_elision():
    assert word_tokenize("J'aime l'école, n'est-ce pas ?") == [
        "J'",
        "aime",
        "l'",
        "école",
        ",",
        "n'",
        "est-ce",
        "pas",
        "?",
    ]
    assert word_tokenize("qu'il") == ["qu'", "il"]


def test_english_contractions_stay_whole():
    assert word_tokenize("I don't know.") == ["I", "don't", "know", "."]
    assert word_tokenize("aujourd'hui") == ["aujourd'hui"]


def test_numbers_stay_whole():
    assert word_tokenize("It costs 3.5 euros at 10:30.") == ["It", "costs", "3.5", "euros", "at", "10:30", "."]


def test_detokenize_puts_elision_and_punctuation_back():
    for text in ["j'aime l'école, n'est-ce pas?", "il fait beau aujourd'hui.", "je n'ai pas d'argent."]:
        assert detokenize(word_tokenize(text), "word") == text


def test_char_level_keeps_spaces():
    assert char_tokenize("a b") == ["a", " ", "b"]
    assert detokenize(tokenize("Hi  there", "char", lowercase=True), "char") == "hi there"
