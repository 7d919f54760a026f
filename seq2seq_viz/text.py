"""Text normalization, word and character tokenizers, and the detokenizer used for display."""

from __future__ import annotations

import re
import unicodedata

# Apostrophes that French elision uses; NFKC leaves U+2019 alone, so we fold it by hand.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2018": "'"})

# A word token is a number, a run of letters (with inner hyphens or apostrophes as in "aujourd'hui" or "don't"),
# or any single other non-space character.
_WORD_RE = re.compile(
    r"\d+(?:[.,:]\d+)*"  # numbers: 3.5, 10:30, 1,000
    r"|\w+(?:[-']\w+)*"  # words, hyphenated and inner-apostrophe words (elision is split afterwards)
    r"|[^\w\s]",  # punctuation, one char a token
)

# Words whose final apostrophe is French elision; "don't" must stay whole, "j'aime" must split.
_ELIDED = {"j'", "l'", "d'", "m'", "n'", "s'", "t'", "c'", "qu'", "jusqu'", "lorsqu'", "puisqu'", "quoiqu'"}

_NO_SPACE_BEFORE = set(".,!?;:)]}%…»") | {"'", "...", "-"}
_NO_SPACE_AFTER = set("([{«") | {"-"}


def normalize(text: str, lowercase: bool = False) -> str:
    """NFKC-normalize, fold typographic apostrophes, collapse whitespace, optionally lowercase."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    text = " ".join(text.split())
    return text.lower() if lowercase else text


def word_tokenize(text: str) -> list[str]:
    """Split normalized text into words and punctuation; French elision becomes its own token.

    >>> word_tokenize("J'aime l'école, don't you?")
    ["J'", 'aime', "l'", 'école', ',', "don't", 'you', '?']
    """
    tokens: list[str] = []
    for match in _WORD_RE.finditer(text):
        token = match.group(0)
        head, sep, tail = token.partition("'")
        while sep and tail and (head + "'").lower() in _ELIDED:  # "qu'il" matched whole by the word rule
            tokens.append(head + "'")
            token = tail
            head, sep, tail = token.partition("'")
        tokens.append(token)
    return tokens


def char_tokenize(text: str) -> list[str]:
    """Every character is a token, spaces included."""
    return list(text)


def detokenize(tokens: list[str], level: str) -> str:
    """Join tokens back into display text: the inverse of the tokenizer for the common cases."""
    if level == "char":
        return "".join(tokens)
    out = ""
    for token in tokens:
        if not out:
            out = token
        elif token in _NO_SPACE_BEFORE or out.endswith("'") or out[-1] in _NO_SPACE_AFTER:
            out += token
        else:
            out += " " + token
    return out


def tokenize(text: str, level: str, lowercase: bool = False) -> list[str]:
    """Normalize then tokenize at the given level ("word" or "char")."""
    text = normalize(text, lowercase)
    return char_tokenize(text) if level == "char" else word_tokenize(text)
