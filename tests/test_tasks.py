"""Dataset builders: dates (babel-generated, gold-aligned), the toy tasks, and eng-fra (skipped without its file)."""

from __future__ import annotations

import hashlib
import re
from datetime import date

import pytest
from babel.dates import format_date

from seq2seq_viz.errors import DataError
from seq2seq_viz.tasks import dates as dates_module
from seq2seq_viz.tasks.base import Task
from seq2seq_viz.tasks.dates import CLDR_WIDTHS, LOCALES, STYLES, build_dates, date_parts, render_date
from seq2seq_viz.tasks.engfra import DEFAULT_PATH, ENV_VAR, REPO_ROOT, build_eng_fra, resolve_eng_fra_path
from seq2seq_viz.tasks.toy import RULES, build_toy
from seq2seq_viz.text import normalize

SPLITS = ("train", "valid", "test")


def _keys(examples) -> set[str]:
    return {normalize(example.source, lowercase=True) for example in examples}


def _assert_disjoint(*splits) -> None:
    """No source (as the model sees it) appears twice, within a split or across splits."""
    assert len(set().union(*(_keys(split) for split in splits))) == sum(len(split) for split in splits)


# ---------------------------------------------------------------------------------------------------- dates


@pytest.fixture(scope="module")
def dates() -> Task:
    return build_dates(seed=0)


# Every month name or abbreviation a source can spell, lowercased, mapped to its month number.
MONTH_OF_NAME = {
    format_date(date(2001, month, 1), pattern, locale=locale).lower(): month
    for locale in LOCALES
    for pattern in ("MMMM", "MMM")
    for month in range(1, 13)
}


def test_dates_sizes_and_metadata(dates):
    assert (len(dates.train), len(dates.valid), len(dates.test)) == (20000, 1000, 2000)
    assert (dates.name, dates.level, dates.lowercase) == ("dates", "char", True)
    assert dates.model_defaults["max_output_len"] == 12 and dates.model_defaults["bidirectional"] is True
    assert dates.provenance["seed"] == 0 and "Unicode" in dates.provenance["license"]
    for text in dates.examples:  # the app's examples are dates the task can write
        assert len(dates.tokens(text)) <= dates.model_defaults["max_source_len"]


def test_dates_are_deterministic_and_seeded(dates):
    assert build_dates(seed=0) == dates
    other = build_dates(seed=1)
    assert other.test != dates.test and other.train != dates.train


def test_dates_splits_are_disjoint(dates):
    _assert_disjoint(dates.train, dates.valid, dates.test)


def test_dates_targets_are_iso_days_in_range(dates):
    for split in SPLITS:
        for example in getattr(dates, split):
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", example.target)
            assert date(1900, 1, 1) <= date.fromisoformat(example.target) <= date(2099, 12, 31)


def test_dates_alignments_point_at_the_characters_that_determine_the_target(dates):
    for example in dates.train + dates.valid + dates.test:
        source = dates.tokens(example.source)
        target = dates.tokens(example.target)
        assert len(example.alignment) == len(target) == 10
        assert all(0 <= i < len(source) for positions in example.alignment for i in positions)
        under = ["".join(source[i] for i in positions) for positions in example.alignment]
        year, month, day = example.target.split("-")
        assert under[:4] == list(year)  # 1:1, digit by digit
        assert example.alignment[4] == example.alignment[7] == ()  # the "-" come from nowhere
        assert example.alignment[5] == example.alignment[6] and example.alignment[8] == example.alignment[9]
        month_text, day_text = under[5], under[8]
        assert (int(month_text) if month_text.isdigit() else MONTH_OF_NAME[month_text]) == int(month)
        assert day_text.isdigit() and int(day_text) == int(day)  # an ordinal suffix is not part of the day


def test_dates_use_every_language_and_no_ambiguous_numeric_form(dates):
    sources = [example.source for example in dates.train]
    for marker in ("March", "Wednesday", "mars", "mercredi", "März", "Mittwoch", "marzo", "miércoles", "rd of "):
        assert any(marker in source for source in sources), marker
    assert any(re.fullmatch(r"\d{4}-\d-\d", s) for s in sources) and any(
        re.fullmatch(r"\d\d\.\d\d\.\d{4}", s) for s in sources
    )
    for source in sources:
        assert "/" not in source  # no en-US "3/3/1999"
        assert re.search(r"\d{4}", source)  # years are always written in full
        if re.fullmatch(r"[\d.\-]+", source):  # all-numeric: year first (ISO-like) or German day.month.year
            assert re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}|\d\d\.\d\d\.\d{4}", source)


@pytest.mark.parametrize(
    ("day", "style", "source", "alignment"),
    [
        (
            date(1999, 3, 3),
            "en:full",
            "Wednesday, March 3, 1999",
            ((20,), (21,), (22,), (23,), (), (11, 12, 13, 14, 15), (11, 12, 13, 14, 15), (), (17,), (17,)),
        ),
        (
            date(2013, 6, 1),
            "en:medium",
            "Jun 1, 2013",
            ((7,), (8,), (9,), (10,), (), (0, 1, 2), (0, 1, 2), (), (4,), (4,)),
        ),
        (
            date(1999, 3, 3),
            "en:ordinal-of-month",
            "3rd of March 1999",
            ((13,), (14,), (15,), (16,), (), (7, 8, 9, 10, 11), (7, 8, 9, 10, 11), (), (0,), (0,)),
        ),
        (
            date(2088, 11, 22),
            "en:month-ordinal",
            "November 22nd, 2088",
            ((15,), (16,), (17,), (18,), (), tuple(range(8)), tuple(range(8)), (), (9, 10), (9, 10)),
        ),
        (
            date(1999, 3, 3),
            "fr:full",
            "mercredi 3 mars 1999",
            ((16,), (17,), (18,), (19,), (), (11, 12, 13, 14), (11, 12, 13, 14), (), (9,), (9,)),
        ),
        (
            date(1901, 1, 9),
            "fr:medium",
            "9 janv. 1901",
            ((8,), (9,), (10,), (11,), (), (2, 3, 4, 5, 6), (2, 3, 4, 5, 6), (), (0,), (0,)),
        ),
        (
            date(1999, 3, 3),
            "de:full",
            "Mittwoch, 3. März 1999",
            ((18,), (19,), (20,), (21,), (), (13, 14, 15, 16), (13, 14, 15, 16), (), (10,), (10,)),
        ),
        (
            date(1950, 10, 31),
            "de:medium",
            "31.10.1950",
            ((6,), (7,), (8,), (9,), (), (3, 4), (3, 4), (), (0, 1), (0, 1)),
        ),
        (
            date(2024, 12, 25),
            "es:long",
            "25 de diciembre de 2024",
            ((19,), (20,), (21,), (22,), (), tuple(range(6, 15)), tuple(range(6, 15)), (), (0, 1), (0, 1)),
        ),
        (
            date(1999, 3, 3),
            "es:full",
            "miércoles, 3 de marzo de 1999",
            ((25,), (26,), (27,), (28,), (), (16, 17, 18, 19, 20), (16, 17, 18, 19, 20), (), (11,), (11,)),
        ),
        (date(2000, 2, 29), "iso:unpadded", "2000-2-29", ((0,), (1,), (2,), (3,), (), (5,), (5,), (), (7, 8), (7, 8))),
        (
            date(2000, 2, 9),
            "iso:padded",
            "2000-02-09",
            ((0,), (1,), (2,), (3,), (), (5, 6), (5, 6), (), (8, 9), (8, 9)),
        ),
    ],
)
def test_hand_checked_dates(day, style, source, alignment):
    example = render_date(day, style)
    assert example.source == source
    assert example.target == day.isoformat()
    assert example.alignment == alignment


@pytest.mark.parametrize("style", [style for style in STYLES if style.split(":")[1] in CLDR_WIDTHS])
def test_cldr_parts_rebuild_babels_own_formatting(style):
    # The alignment is only right if formatting field by field writes exactly what babel writes for the whole date.
    locale, width = style.split(":")
    for month in range(1, 13):
        for day in (date(1900, month, 1), date(1987, month, 13), date(2099, month, 28)):
            assert "".join(part.text for part in date_parts(day, style)) == format_date(day, width, locale=locale)


def test_non_breaking_spaces_from_cldr_keep_the_alignment(monkeypatch):
    # CLDR 47 writes plain spaces in these dates, but other versions use U+00A0 / U+202F; normalize() makes them " ".
    pattern = (("field", ("d", 1)), ("chars", "\u00a0"), ("field", ("M", 4)), ("chars", "\u202f"), ("field", ("y", 1)))
    monkeypatch.setattr(dates_module, "_cldr_pattern", lambda locale, width: pattern)
    example = render_date(date(1999, 3, 3), "fr:long")
    assert example.source == "3 mars 1999"
    assert example.alignment == ((7,), (8,), (9,), (10,), (), (2, 3, 4, 5), (2, 3, 4, 5), (), (0,), (0,))


def test_unknown_date_style_is_refused():
    with pytest.raises(ValueError, match="no date style"):
        render_date(date(2000, 1, 1), "en:short")


# ---------------------------------------------------------------------------------------------------- toy tasks


@pytest.mark.parametrize("name", sorted(RULES))
def test_toy_alignments_and_disjoint_splits(name):
    task = build_toy(name, seed=0, n_train=2000, n_valid=200, n_test=300)
    splits = (task.train, task.valid, task.test, task.extra_tests["long"])
    _assert_disjoint(*splits)
    for example in (example for split in splits for example in split):
        source, target = example.source, example.target
        assert len(example.alignment) == len(target)
        assert all(len(positions) == 1 and 0 <= positions[0] < len(source) for positions in example.alignment)
        assert [source[positions[0]] for positions in example.alignment] == list(target)
        expected = {"reverse": source[::-1], "copy": source, "sort": "".join(sorted(source))}[name]
        assert target == expected
        if name == "reverse":
            assert example.alignment == tuple((len(source) - 1 - j,) for j in range(len(source)))
        if name == "sort":  # a permutation of the source positions
            assert sorted(positions[0] for positions in example.alignment) == list(range(len(source)))


# ---------------------------------------------------------------------------------------------------- eng-fra


@pytest.fixture(scope="module")
def eng_fra_path():
    path = resolve_eng_fra_path(None)
    if not path.is_file():
        pytest.skip(f"The eng-fra data file {path} is absent; set {ENV_VAR} to a copy of it to run these tests.")
    return path


@pytest.fixture(scope="module")
def eng_fra(eng_fra_path) -> Task:
    return build_eng_fra(eng_fra_path, seed=0)


@pytest.fixture(scope="module")
def french_by_english(eng_fra_path) -> dict[str, list[str]]:
    """Every French translation of each English sentence, in file order, read independently of the builder."""
    groups: dict[str, list[str]] = {}
    for line in eng_fra_path.read_text(encoding="utf-8").splitlines():
        english, french = line.split("\t")
        groups.setdefault(normalize(english, lowercase=True), []).append(french)
    return groups


def test_eng_fra_sizes_and_provenance(eng_fra, eng_fra_path, french_by_english):
    data = eng_fra_path.read_bytes()
    n_pairs = len(data.decode("utf-8").splitlines())
    assert (len(eng_fra.valid), len(eng_fra.test)) == (1000, 2000)
    held_out_pairs = sum(len(french_by_english[key]) for key in _keys(eng_fra.valid + eng_fra.test))
    joins = eng_fra.provenance["joined_training_pairs"]
    assert len(eng_fra.train) - joins + held_out_pairs == n_pairs  # every train pair is its own example, then joins
    assert joins == 12000
    assert eng_fra.provenance["sha256"] == hashlib.sha256(data).hexdigest()
    assert eng_fra.provenance["pairs"] == n_pairs
    assert eng_fra.provenance["license"] == "CC-BY 2.0 (France)"
    assert (eng_fra.name, eng_fra.level, eng_fra.lowercase) == ("eng-fra", "word", True)
    assert all(example.alignment is None for example in eng_fra.train[:100] + eng_fra.test)


def test_eng_fra_no_english_sentence_in_two_splits(eng_fra):
    originals = eng_fra.train[: len(eng_fra.train) - eng_fra.provenance["joined_training_pairs"]]
    train, valid, test = _keys(originals), _keys(eng_fra.valid), _keys(eng_fra.test)
    assert not train & valid and not train & test and not valid & test
    assert len(valid) == 1000 and len(test) == 2000  # one example per English sentence


def test_eng_fra_references_are_every_translation_in_file_order(eng_fra, french_by_english):
    for example in eng_fra.valid + eng_fra.test:
        french = french_by_english[normalize(example.source, lowercase=True)]
        distinct = {normalize(text, lowercase=True): text for text in reversed(french)}  # the first spelling wins
        assert example.target == french[0] == example.references[0]
        assert sorted(example.references) == sorted(distinct.values())
        assert list(example.references) == sorted(example.references, key=french.index)  # in file order
    assert sum(len(example.references) > 1 for example in eng_fra.test) > 300  # tu/vous, gender: many have several


def test_eng_fra_test_covers_every_length(eng_fra):
    lengths = {min(len(example.source.split()), 9) for example in eng_fra.test}
    assert lengths == set(range(1, 10))


def test_eng_fra_is_deterministic_and_seeded(eng_fra, eng_fra_path):
    assert build_eng_fra(eng_fra_path, seed=0) == eng_fra
    assert build_eng_fra(eng_fra_path, seed=1).test != eng_fra.test


def test_eng_fra_missing_file_is_a_data_error(tmp_path):
    missing = tmp_path / "nowhere.tsv"
    with pytest.raises(DataError, match=ENV_VAR) as caught:
        build_eng_fra(missing)
    assert str(missing) in str(caught.value)


@pytest.mark.parametrize("bad_line", ["just english", "one\ttwo\tthree", "english\t "])
def test_eng_fra_malformed_line_is_a_data_error(tmp_path, bad_line):
    path = tmp_path / "bad.tsv"
    path.write_text(f"Go.\tVa !\n{bad_line}\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"Line 2 of .*bad\.tsv"):
        build_eng_fra(path)


def test_eng_fra_path_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert (REPO_ROOT / "seq2seq_viz").is_dir()
    assert resolve_eng_fra_path(None) == DEFAULT_PATH == REPO_ROOT.parent / "shared" / "data" / "eng-fra.tsv"
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "from-env.tsv"))
    assert resolve_eng_fra_path(None) == tmp_path / "from-env.tsv"
    assert resolve_eng_fra_path(tmp_path / "given.tsv") == tmp_path / "given.tsv"  # the argument wins


def test_eng_fra_env_var_points_the_builder_at_another_file(tmp_path, monkeypatch):
    path = tmp_path / "mine.tsv"
    path.write_text("".join(f"I have {n} cats.\tJ'ai {n} chats.\n" for n in range(6500)), encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, str(path))
    task = build_eng_fra()
    assert task.provenance["file"] == "mine.tsv" and task.provenance["pairs"] == 6500
    assert (len(task.train), len(task.valid), len(task.test)) == (3500 + 4 * 175, 1000, 2000)  # + 1 join per 20


def test_eng_fra_joined_tests_are_test_sentences_only_and_fill_every_length(eng_fra):
    """test_joined: 250 joins per length bucket, 10-27 words; each a run of whole test sentences (found again by
    splitting at the test sources it starts with), so no training or validation sentence is in one; the first
    reference is the parts' first targets joined, and every reference is one choice of a reference per part."""
    import itertools

    joined = eng_fra.extra_tests["joined"]
    by_source = {example.source: example for example in eng_fra.test}
    other = {normalize(e.source, lowercase=True) for e in eng_fra.train + eng_fra.valid}
    counts = dict.fromkeys(((10, 13), (14, 17), (18, 22), (23, 27)), 0)
    for example in joined:
        parts, rest = [], example.source
        while rest:
            head = next(s for s in sorted(by_source, key=len, reverse=True) if rest == s or rest.startswith(s + " "))
            parts.append(by_source[head])
            rest = rest[len(head) + 1 :]
        assert len(parts) >= 2 and len({p.source for p in parts}) == len(parts)
        assert not {normalize(p.source, lowercase=True) for p in parts} & other
        words = sum(_words_of(p.source) for p in parts)
        bucket = next(b for b in counts if b[0] <= words <= b[1])
        counts[bucket] += 1
        assert example.target == " ".join(p.target for p in parts)
        products = {" ".join(c) for c in itertools.product(*(p.all_references for p in parts))}
        assert set(example.references) <= products and 1 <= len(example.references) <= 20
    assert counts == dict.fromkeys(counts, 250)


def _words_of(text: str) -> int:
    """Words as the buckets count them: word tokens holding a letter or digit (punctuation apart)."""
    from seq2seq_viz.text import tokenize

    return sum(any(c.isalnum() for c in token) for token in tokenize(text, "word", lowercase=True))


def test_eng_fra_training_joins_hold_training_sentences_only(eng_fra):
    """Each joined training pair is 3-5 original training pairs, found again by splitting it at the training
    sources it starts with; so no test or validation sentence enters training through a join. 3,000 joins fill
    each length bucket of test_joined, 10-27 words."""
    count = eng_fra.provenance["joined_training_pairs"]
    originals, joins = eng_fra.train[:-count], eng_fra.train[-count:]
    assert count == 4 * 3000
    targets: dict[str, list[str]] = {}
    for e in originals:
        targets.setdefault(e.source, []).append(e.target)
    by_first_word: dict[str, list[str]] = {}
    for source in {e.source for e in originals}:
        by_first_word.setdefault(source.split()[0], []).append(source)
    held_out = _keys(eng_fra.valid + eng_fra.test)
    parts_seen = set()
    for example in joins[::4]:
        sources, rest = [], example.source
        while rest:
            candidates = by_first_word[rest.split()[0]]
            head = max((s for s in candidates if rest == s or rest.startswith(s + " ")), key=len)
            sources.append(head)
            rest = rest[len(head) + 1 :]
        assert 2 <= len(sources) <= 5 and not {normalize(s, lowercase=True) for s in sources} & held_out
        parts_seen.add(len(sources))
        assert any(example.target.startswith(target + " ") for target in targets[sources[0]])
    assert parts_seen == {3, 4, 5}  # as many as a bucket's length takes: 3 of the 4.6-word sentences for 10-13
    words = [sum(any(c.isalnum() for c in t) for t in eng_fra.tokens(e.source)) for e in joins]
    for low, high in ((10, 13), (14, 17), (18, 22), (23, 27)):
        assert sum(low <= n <= high for n in words) == 3000
    assert eng_fra.model_defaults["max_source_len"] > max(len(eng_fra.tokens(e.source)) + 1 for e in joins)
    assert eng_fra.model_defaults["max_output_len"] > max(len(eng_fra.tokens(e.target)) + 1 for e in joins)


def test_eng_fra_vocabularies_count_the_original_pairs_not_their_joins(eng_fra):
    """Joins repeat words; counted in, a word seen once would pass min_freq 2 when its pair is joined."""
    from collections import Counter

    from seq2seq_viz.train import build_vocabs

    count = eng_fra.provenance["joined_training_pairs"]
    assert eng_fra.joins == count > 0
    originals = eng_fra.train[:-count]
    assert eng_fra.vocab_pairs() == [(eng_fra.tokens(e.source), eng_fra.tokens(e.target)) for e in originals]
    source_counts = Counter(t for e in originals for t in eng_fra.tokens(e.source))
    target_counts = Counter(t for e in originals for t in eng_fra.tokens(e.target))
    source, target = build_vocabs(eng_fra.vocab_pairs(), min_freq=2)
    assert set(source.tokens[4:]) == {t for t, n in source_counts.items() if n >= 2}
    assert set(target.tokens[4:]) == {t for t, n in target_counts.items() if n >= 2}
    inflated = build_vocabs(eng_fra.pairs("train"), min_freq=2)  # what counting the joins would have given
    assert len(inflated[1]) > len(target) + 1000
    joined_words = {t for e in eng_fra.train[-count:] for t in eng_fra.tokens(e.source)}
    assert joined_words <= set(source_counts)  # a join brings no word of its own
