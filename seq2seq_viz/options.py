"""The one gate every decoding option passes: each option's type, range and meaning, in one table (torch-free).

Every strategy in decoding.py sends each of its options through option() before any work is done, and decode()
first refuses names its mode does not know, so the public API, the CLI and the app share one set of rules and
one kind of answer: an InputError whose message is one sentence for a person, e.g.
"The beam width must be a whole number from 1 to 10, not 2.5."

Whole numbers are int (or numpy integers), never bool; numbers are int or float (numpy too), never bool, finite.
What is checked here is an option's type and range; the characters of a text (reference, forced prefix) are
checked at the text door (text.admit), and lengths that depend on the model by decoding itself.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from . import limits
from .errors import InputError
from .limits import excerpt

Kind = Literal["int", "float", "text", "tokens"]


@dataclass(frozen=True)
class Option:
    meaning: str  # what the sentence calls it: "The {meaning} must be ..."
    kind: Kind  # int: a whole number; float: a finite number; text: a str; tokens: a str or a list of str
    low: float | None = None  # inclusive bounds of an int or float (None: no bound)
    high: float | str | None = None  # a number, or the name of a LIMITS field (read at each call: one source)
    optional: bool = False  # None is accepted and means "the default" (no top-k filter, the model's own cap)
    needed: str | None = None  # the sentence when a required option is missing (None given)

    def upper(self) -> float | None:
        return getattr(limits.LIMITS, self.high) if isinstance(self.high, str) else self.high


TOP_K_MAX = 10_000  # any k at least the vocabulary's size means "every token"; larger asks are a mistake
SEED_MAX = 2**63 - 1  # what torch.Generator.manual_seed takes as a non-negative int64

OPTIONS: dict[str, Option] = {
    "beam_size": Option("beam width", "int", 1, "beam_width"),
    "length_penalty": Option("length penalty", "float", 0.0, 5.0),
    "temperature": Option("temperature", "float", 0.05, 10.0),
    "top_k": Option("top-k", "int", 1, TOP_K_MAX, optional=True),
    "seed": Option("seed", "int", 0, SEED_MAX),
    "max_len": Option("step limit (max_len)", "int", 1, "output_steps", optional=True),
    "prefix": Option(
        "forced prefix",
        "tokens",
        high="output_steps",  # tokens in a list, before any is read (one step is left for <eos>: high - 1)
        needed="Forced-prefix decoding needs a prefix: give the first output tokens as text or a list of tokens.",
    ),
    "reference": Option("reference", "text", optional=True),
}

# The options each mode takes (keyword arguments of its strategy in decoding.py; a test holds the two together)
MODE_OPTIONS: dict[str, tuple[str, ...]] = {
    "greedy": ("reference", "max_len"),
    "beam": ("beam_size", "length_penalty", "reference", "max_len"),
    "sample": ("temperature", "top_k", "seed", "reference", "max_len"),
    "teacher_forced": ("reference",),
    "forced_prefix": ("prefix", "reference", "max_len"),
}


def shown(value: Any) -> str:
    """A value as a sentence quotes it: short, never costly, never echoing a long text."""
    if value is None or isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        number = int(value)
        if number.bit_length() > 100:  # str() of a huge int is slow, and past 4,300 digits refused
            return f"a whole number of about {int(number.bit_length() * math.log10(2)) + 1:,} digits"
        return str(number)  # up to 31 digits, shown whole: 18446744073709551616 is 2^64, not "1844…"
    if isinstance(value, float):
        return excerpt(repr(value))
    if isinstance(value, str):
        return repr(excerpt(value))
    name = type(value).__name__
    article = "an" if name[:1].lower() in "aeiou" else "a"
    return f"{article} {excerpt(name)}"


def _bounds(low: float | None, high: float | None) -> str:
    def fmt(x: float) -> str:
        return f"{x:,}" if isinstance(x, int) else f"{x:g}"

    if low is not None and high is not None:
        return f" from {fmt(low)} to {fmt(high)}"
    return f" of at least {fmt(low)}" if low is not None else ""


def _is_whole(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def option(name: str, value: Any) -> Any:
    """The value of one option, checked against its row of OPTIONS and made plain Python (int, float, str, list).

    Raises InputError with one sentence when its type or range is wrong.
    """
    spec = OPTIONS[name]
    if value is None and (spec.optional or spec.needed):
        if spec.optional:
            return None
        raise InputError(spec.needed)
    low, high = spec.low, spec.upper()
    if spec.kind == "int":
        if _is_whole(value) and (low is None or value >= low) and (high is None or value <= high):
            return int(value)
        alternative = " (or None)" if spec.optional else ""
        raise InputError(
            f"The {spec.meaning} must be a whole number{_bounds(low, high)}{alternative}, not {shown(value)}."
        )
    if spec.kind == "float":
        number = None
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            try:
                number = float(value)
            except (OverflowError, ValueError):  # an int too large for a float
                number = None
        if number is not None and math.isfinite(number):
            if (low is None or number >= low) and (high is None or number <= high):
                return number
        raise InputError(f"The {spec.meaning} must be a number{_bounds(low, high)}, not {shown(value)}.")
    if spec.kind == "text":
        if isinstance(value, str):
            return value
        raise InputError(f"The {spec.meaning} must be text, not {shown(value)}.")
    # tokens: a text, or a list (or tuple) of texts, counted before any is read
    if isinstance(value, str):
        return value
    if not isinstance(value, list | tuple):
        raise InputError(f"The {spec.meaning} must be text or a list of tokens, not {shown(value)}.")
    most = int(high) - 1  # one step is left for <eos>
    if len(value) > most:
        raise InputError(f"The {spec.meaning} has {len(value):,} tokens; the lab writes at most {most}.")
    for position, token in enumerate(value, start=1):
        if not isinstance(token, str):
            raise InputError(f"Token {position} of the {spec.meaning} must be text, not {shown(token)}.")
    return list(value)


def check_names(mode: str, given: Mapping[str, Any]) -> None:
    """Refuse option names the mode does not take, saying which it knows (mode is one of MODE_OPTIONS)."""
    known = MODE_OPTIONS[mode]
    unknown = [name for name in given if name not in known]
    if unknown:
        names = ", ".join(repr(excerpt(str(name))) for name in unknown[:3]) + (", …" if len(unknown) > 3 else "")
        plural = "s" if len(unknown) > 1 else ""
        knows = ", ".join(known)
        raise InputError(f"The {mode} mode takes no option{plural} {names}; it knows {knows}.")
