"""The dates task: dates written by people in English, French, German or Spanish → ISO YYYY-MM-DD, gold-aligned."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache

import babel
from babel.core import get_cldr_version
from babel.dates import format_date, get_date_format, tokenize_pattern

from ..text import normalize, tokenize
from .base import Example, Task

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2099, 12, 31)
N_TRAIN, N_VALID, N_TEST = 20000, 1000, 2000

LOCALES = ("en", "fr", "de", "es")
CLDR_WIDTHS = ("full", "long", "medium")  # "short" is left out: it writes 2-digit years and en-US month-first "3/3/99"

# A style names one way of writing a date: "<locale>:<CLDR width>" comes from babel, the rest are written by hand.
# The only all-numeric styles are year-first ISO-like ones and German medium "03.03.1999" (day-first, 4-digit year);
# with no month-first numeric style in the task, every written date names exactly one day.
ENGLISH_STYLES = ("en:ordinal-of-month", "en:month-ordinal", "en:day-month")  # 3rd of March 1999 / March 3rd, 1999 / …
ISO_STYLES = ("iso:unpadded", "iso:padded")  # 1999-3-3 / 1999-03-03
STYLES: tuple[str, ...] = (
    *(f"{locale}:{width}" for locale in LOCALES for width in CLDR_WIDTHS),
    *ENGLISH_STYLES,
    *ISO_STYLES,
)

# CLDR pattern letters this task knows, and the role of the text each one writes. Anything else (an era "G", a
# stand-alone month "L") means CLDR changed under us, and the builder stops rather than guess an alignment.
_ROLE_OF_LETTER = {"E": "weekday", "d": "day", "M": "month", "y": "year"}
_COMPONENT_OF_ROLE = {
    "weekday": date.weekday,
    "day": lambda day: day.day,
    "month": lambda day: day.month,
    "year": lambda day: day.year,
}


@dataclass(frozen=True)
class DatePart:
    """One piece of a written date: its role ("weekday", "day", "month", "year" or "literal") and its text."""

    role: str
    text: str


# format_date costs ~10 µs and one field depends on one component of the date only (the month name on the month,
# ...), so caching on (locale, field pattern, component) turns the ~25k formats of a build into a few hundred.
_FIELD_TEXT: dict[tuple[str, str, int], str] = {}


def _field_text(day: date, locale: str, pattern: str, role: str) -> str:
    key = (locale, pattern, _COMPONENT_OF_ROLE[role](day))
    if key not in _FIELD_TEXT:
        _FIELD_TEXT[key] = format_date(day, pattern, locale=locale)
    return _FIELD_TEXT[key]


@cache
def _cldr_pattern(locale: str, width: str) -> tuple[tuple[str, object], ...]:
    """babel's CLDR date pattern (e.g. "EEEE, d. MMMM y") split into ("field", (letter, count)) and ("chars", text)."""
    return tuple(tokenize_pattern(get_date_format(width, locale=locale).pattern))


def _cldr_parts(day: date, locale: str, width: str) -> list[DatePart]:
    """The CLDR pattern's literals, and each of its fields formatted alone."""
    parts = []
    for kind, value in _cldr_pattern(locale, width):
        if kind == "chars":
            parts.append(DatePart("literal", value))
            continue
        letter, count = value
        if letter not in _ROLE_OF_LETTER:
            raise ValueError(f"The CLDR {width} date pattern of {locale!r} uses the field {letter * count!r}.")
        role = _ROLE_OF_LETTER[letter]
        parts.append(DatePart(role, _field_text(day, locale, letter * count, role)))
    return parts


def ordinal_suffix(number: int) -> str:
    """The English ordinal suffix: 1 → "st", 2 → "nd", 3 → "rd", 11 → "th", 22 → "nd"."""
    if 11 <= number % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")


def date_parts(day: date, style: str) -> list[DatePart]:
    """The pieces that, concatenated, write `day` in `style` (one of STYLES)."""
    if style not in STYLES:
        raise ValueError(f"There is no date style {style!r}; the styles are {', '.join(STYLES)}.")
    locale, _, variant = style.partition(":")
    if variant in CLDR_WIDTHS:
        return _cldr_parts(day, locale, variant)
    year = DatePart("year", str(day.year))
    if locale == "iso":
        width = 2 if variant == "padded" else 1
        dash = DatePart("literal", "-")
        return [year, dash, DatePart("month", f"{day.month:0{width}d}"), dash, DatePart("day", f"{day.day:0{width}d}")]
    month = DatePart("month", _field_text(day, "en", "MMMM", "month"))
    # The ordinal suffix ("rd") is a literal: the day's value lives in its digits only.
    number = DatePart("day", str(day.day))
    suffix = ordinal_suffix(day.day)
    if variant == "ordinal-of-month":
        return [number, DatePart("literal", f"{suffix} of "), month, DatePart("literal", " "), year]
    if variant == "month-ordinal":
        return [month, DatePart("literal", " "), number, DatePart("literal", f"{suffix}, "), year]
    return [number, DatePart("literal", " "), month, DatePart("literal", " "), year]  # "day-month"


@lru_cache(maxsize=4096)  # a few hundred distinct pieces make up every date
def _normalize_piece(text: str) -> str:
    """What normalize(..., lowercase=True) makes of a piece, without the whole-string whitespace collapse.

    babel writes non-breaking and narrow non-breaking spaces; NFKC and the space folding turn them into " ".
    """
    folded = unicodedata.normalize("NFKC", text)
    return "".join(" " if char.isspace() else char for char in folded).lower()


def iso_date(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


def render_date(day: date, style: str) -> Example:
    """Write `day` in `style`, with the ISO target and its gold character alignment.

    Each target character aligns to the source characters that determine it: the 4 year digits 1:1 to the
    source's year digits; both month digits to the whole month (a name like "march", or the digits "3" / "03");
    both day digits to the day's digits (not an ordinal suffix); the two "-" to nothing. Weekdays determine nothing.
    """
    parts = date_parts(day, style)
    pieces = [_normalize_piece(part.text) for part in parts]
    source = normalize("".join(part.text for part in parts))  # case kept for display; the task lowercases
    # Positions were computed piece by piece; they are only valid if normalizing the whole changed nothing else.
    if tokenize(source, "char", lowercase=True) != list("".join(pieces)):
        raise AssertionError(f"Normalizing {source!r} ({style}) moved characters; its alignment would be wrong.")

    spans: dict[str, tuple[int, ...]] = {}
    start = 0
    for part, piece in zip(parts, pieces, strict=True):
        if part.role != "literal":
            spans[part.role] = tuple(range(start, start + len(piece)))
        start += len(piece)
    if len(spans["year"]) != 4:
        raise AssertionError(f"{source!r} ({style}) does not write the year with 4 digits.")

    month, day_of_month = spans["month"], spans["day"]
    alignment = (*((i,) for i in spans["year"]), (), month, month, (), day_of_month, day_of_month)
    return Example(source=source, target=iso_date(day), alignment=alignment)


def _draw_examples(rng: random.Random, n: int, seen: dict[str, str]) -> tuple[Example, ...]:
    """n examples whose lowercased sources are not in `seen` (which maps them to their targets, and grows)."""
    n_days = (LAST_DAY - FIRST_DAY).days + 1
    examples = []
    while len(examples) < n:
        example = render_date(FIRST_DAY + timedelta(days=rng.randrange(n_days)), rng.choice(STYLES))
        key = normalize(example.source, lowercase=True)
        if key in seen:
            if seen[key] != example.target:
                raise AssertionError(f"{example.source!r} could be {seen[key]} or {example.target}.")
            continue
        seen[key] = example.target
        examples.append(example)
    return tuple(examples)


def build_dates(seed: int = 0) -> Task:
    """20k/1k/2k dates from 1900–2099 in STYLES; no source string (lowercased) appears in two splits."""
    rng = random.Random(f"dates:{seed}")
    seen: dict[str, str] = {}
    test = _draw_examples(rng, N_TEST, seen)
    valid = _draw_examples(rng, N_VALID, seen)
    train = _draw_examples(rng, N_TRAIN, seen)
    return Task(
        name="dates",
        level="char",
        lowercase=True,
        description="Rewrite a date written in English, French, German or Spanish as YYYY-MM-DD.",
        train=train,
        valid=valid,
        test=test,
        provenance={
            "source": "generated",
            "generator": "seq2seq_viz.tasks.dates with babel's CLDR date formats (full, long, medium)"
            " in en, fr, de, es, plus hand-written English and ISO-like variants",
            "babel_version": babel.__version__,
            "cldr_version": get_cldr_version(),
            "license": "generated by this project; the month and weekday names and the date patterns are "
            "Unicode CLDR data (via babel), under the Unicode License",
            "years": f"{FIRST_DAY.year}-{LAST_DAY.year}",
            "seed": seed,
        },
        model_defaults={
            "level": "char",
            "lowercase": True,
            "embedding_size": 32,
            "hidden_size": 128,
            "bidirectional": True,
            "max_source_len": 64,
            "max_output_len": 12,
        },
        train_defaults={"epochs": 12, "batch_size": 64, "lr": 3e-3},
        examples=(
            "Saturday, July 20, 1969",
            "3rd of March 1999",
            "mardi 14 juillet 2015",
            "3. Oktober 1990",
            "9 de noviembre de 1989",
            "2024-2-29",
        ),
    )
