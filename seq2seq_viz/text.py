"""The text door (admit), normalization, word and character tokenizers, and the detokenizer used for display."""

from __future__ import annotations

import re
import unicodedata

from .errors import InputError
from .limits import check_text
from .options import shown

# What no text may hold: lone UTF-16 surrogates (they cannot be written as UTF-8, so no trace holding one could be
# saved or sent), and control characters other than whitespace (NUL, escapes, DEL, C1), which show as nothing or
# as garbage. Tab, newline, carriage return and the other whitespace controls (\x0b \x0c \x1c-\x1f \x85) are
# whitespace: normalize() folds them into one space.
_REFUSED_RE = re.compile(r"[\ud800-\udfff\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")


def admit(text: object, what: str = "input") -> str:
    """The door every text of a request passes once (a source, a reference, a forced prefix's tokens).

    It must be a str, within the character ceiling (LIMITS.input_chars), and hold only characters that are text:
    a lone surrogate or a non-whitespace control character is refused with one sentence naming it and where it
    is (never replaced: the person sees what to fix, and nothing is decoded that they did not type). Returned
    unchanged; the tokenizer's normalize() (NFKC, apostrophes, whitespace) runs later, as at training time. An
    admitted text and everything made from it encode as UTF-8.
    """
    if not isinstance(text, str):
        raise InputError(f"The {what} must be text, not {shown(text)}.")
    check_text(text, what)
    bad = _REFUSED_RE.search(text)
    if bad:
        code, at = f"U+{ord(bad.group(0)):04X}", f"at character {bad.start() + 1}"
        if "\ud800" <= bad.group(0) <= "\udfff":
            raise InputError(f"The {what} holds a broken character (a lone surrogate, {code}) {at}: remove it.")
        raise InputError(f"The {what} holds a control character ({code}) {at}: remove it.")
    return text


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
