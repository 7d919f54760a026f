"""The pairs task: a person's own tab-separated file of source<TAB>target lines, split by source, sized to fit.

The task is named after the file (`my-notes.tsv` -> `my-notes`, so its models are `my-notes-gru-general`); the
split depends only on the file's pairs and the seed. Every line is checked against the server's ceilings
(limits.LIMITS): a model must be able to read back what it was trained on.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import unicodedata
from pathlib import Path

from ..errors import DataError
from ..limits import LIMITS
from ..text import normalize, tokenize
from .base import Example, Task

BUILDER = "pairs"  # provenance["builder"]: how evaluate knows to rebuild the task from its file
FILE_BYTES_MAX = 64 << 20  # a bigger file is refused before it is read (eng-fra's 200k lines are 4 MB)
PAIRS_MAX = 500_000  # lines of pairs
MIN_SOURCES = 3  # distinct sources: one each for train, valid and test
HELD_OUT_SHARE = 0.1  # of the distinct sources, for valid and again for test
HELD_OUT_MAX = 1000  # sources per held-out split
FEW_PAIRS = 100  # below this many training pairs the CLI warns that the model can only memorize
NAME_CHARS_MAX = 40  # of the task name, so that model names stay readable
EXAMPLES_OFFERED = 5
RESERVED = ("eng-fra", "dates", "reverse", "sort", "copy")  # built-in task names a file may not take over

_FORMAT = "each line must be source<TAB>target (further tab-separated columns are ignored)"


def task_name_for(path: str | os.PathLike[str]) -> str:
    """The task (and model-name prefix) a data file gives: its stem in [a-z0-9-]; a built-in task's name gets
    "-pairs" appended, so a user's `dates.tsv` never passes for the shipped dates task."""
    stem = Path(path).name.split(".")[0]
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()  # "Übung" -> "Ubung"
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_stem.lower()).strip("-")[:NAME_CHARS_MAX].strip("-") or "pairs"
    return f"{slug}-pairs" if slug in RESERVED else slug


def read_pairs_file(path: Path, level: str, lowercase: bool) -> tuple[list[tuple[str, str]], str]:
    """The (source, target) pairs of a tab-separated file in file order, and the sha256 of its bytes.

    Raises DataError, one sentence, for a missing, oversized, non-UTF-8 or malformed file, naming the first bad line.
    """
    try:
        size = path.stat().st_size
        if size > FILE_BYTES_MAX:
            raise DataError(
                f"The data file {path} has {size / (1 << 20):.0f} MB; the lab reads files of at most "
                f"{FILE_BYTES_MAX >> 20} MB."
            )
        data = path.read_bytes()
    except OSError as error:
        reason = (
            "does not exist"
            if isinstance(error, FileNotFoundError)
            else "is a directory, not a file"
            if isinstance(error, IsADirectoryError)
            else f"cannot be read ({error.strerror})"
        )
        raise DataError(f"The data file {path} {reason}; pass --data with a file where {_FORMAT}.") from None
    try:
        text = data.decode("utf-8-sig")  # a leading byte-order mark is harmless, so accept it
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DataError(f"The data file {path} is not UTF-8 text (line {line}); save it as UTF-8.") from None

    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():  # blank lines (often the last one) carry no pair
            continue
        fields = [field.strip() for field in line.split("\t")]
        if len(fields) < 2:
            raise DataError(f"Line {number} of {path} has no tab; {_FORMAT}.")
        source, target = fields[0], fields[1]
        if not source or not target:
            side = "source" if not source else "target"
            raise DataError(f"Line {number} of {path} has an empty {side}; {_FORMAT}.")
        for side, value, most_tokens in (
            ("source", source, LIMITS.source_tokens),
            ("target", target, LIMITS.output_steps - 1),  # one decoder step is left for <eos>
        ):
            if len(value) > LIMITS.input_chars:
                raise DataError(
                    f"Line {number} of {path} has a {side} of {len(value):,} characters; the lab reads at most "
                    f"{LIMITS.input_chars} per side."
                )
            token_list = tokenize(value, level, lowercase)
            longest = max(token_list, key=len, default="")
            if len(longest) > LIMITS.token_chars:  # the app would refuse it as input (limits.check_tokens)
                raise DataError(
                    f"Line {number} of {path} has a word of {len(longest)} characters in its {side}; words may "
                    f"have at most {LIMITS.token_chars}."
                )
            tokens = len(token_list)
            if tokens > most_tokens:
                unit = "characters" if level == "char" else "tokens"
                raise DataError(
                    f"Line {number} of {path} has a {side} of {tokens} {unit}; the lab's models read and write "
                    f"at most {most_tokens} (try --level word, or shorter lines)."
                )
        pairs.append((source, target))
        if len(pairs) > PAIRS_MAX:
            raise DataError(f"The data file {path} has more than {PAIRS_MAX:,} pairs; the lab trains on fewer.")
    if not pairs:
        raise DataError(f"The data file {path} holds no pairs (only blank lines); {_FORMAT}.")
    return pairs, hashlib.sha256(data).hexdigest()


def _held_out(n_sources: int) -> int:
    return max(1, min(HELD_OUT_MAX, int(n_sources * HELD_OUT_SHARE)))


def _longest(texts, level: str, lowercase: bool) -> int:
    return max(len(tokenize(text, level, lowercase)) for text in texts)


def _model_defaults(train_pairs: int, level: str, lowercase: bool, src_len: int, tgt_len: int) -> dict:
    """A model big enough for the data and no bigger: a few hundred pairs need no 256 units."""
    hidden = 64 if train_pairs < 2000 else 128 if train_pairs < 20000 else 256
    return {
        "level": level,
        "lowercase": lowercase,
        "embedding_size": hidden // 2,
        "hidden_size": hidden,
        "bidirectional": True,
        "dropout": 0.0 if train_pairs < 2000 else 0.2 if train_pairs < 20000 else 0.3,
        # Room for inputs somewhat longer than the file's, within the server's ceilings
        "max_source_len": min(LIMITS.source_tokens, max(10, 2 * src_len)),
        "max_output_len": min(LIMITS.output_steps, max(10, 2 * tgt_len + 1)),
    }


def _train_defaults(train_pairs: int, level: str) -> dict:
    """Small files need many short epochs; large ones fewer, with rare words left to <unk>."""
    return {
        "epochs": 40 if train_pairs < 1000 else 20 if train_pairs < 20000 else 12,
        "batch_size": max(4, min(64, train_pairs // 8)),
        "lr": 3e-3 if train_pairs < 20000 else 2e-3,
        "patience": 5 if train_pairs < 1000 else 3,
        "min_freq": 2 if level == "word" and train_pairs >= 20000 else 1,
    }


def build_pairs(
    data_path: str | os.PathLike[str] | None,
    level: str = "word",
    lowercase: bool = False,
    seed: int = 0,
    name: str | None = None,
    expected_sha256: str | None = None,
) -> Task:
    """Group the pairs by source (as the model sees it), hold out ~10% of the sources for test and ~10% for
    validation (at least one each, at most 1000), train on the rest. A held-out source is scored against every
    target the file gives it.

    name: the task name (default: from the file's name). expected_sha256: the file a model was trained on; a
    different file is refused, since its held-out split would not be the one the model never saw.
    """
    if not data_path:
        raise DataError(f"The pairs task trains on your own file: pass --data my.tsv, where {_FORMAT}.")
    if level not in ("word", "char"):
        raise DataError(f"The level must be word or char, not {level!r}.")
    path = Path(data_path)
    pairs, sha256 = read_pairs_file(path, level, lowercase)
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise DataError(
            f"The data file {path} is not the one this model was trained on (its sha256 differs), so its test "
            "split would not be held out; pass --data with the original file."
        )

    groups: dict[str, list[tuple[str, str]]] = {}
    for source, target in pairs:
        groups.setdefault(normalize(source, lowercase), []).append((source, target))
    if len(groups) < MIN_SOURCES:
        raise DataError(
            f"The data file {path} has {len(pairs)} pair(s) with {len(groups)} distinct source(s); a model needs "
            f"at least {MIN_SOURCES} (one each to train, validate and test on)."
        )
    keys = list(groups)  # file order, so the split depends only on the file and the seed
    random.Random(f"pairs:{seed}").shuffle(keys)
    n_held = _held_out(len(keys))
    test_keys, valid_keys, train_keys = keys[:n_held], keys[n_held : 2 * n_held], keys[2 * n_held :]

    def scored(key: str) -> Example:
        references: dict[str, str] = {}  # spellings that normalize alike count once; file order: first is target
        for _, target in groups[key]:
            references.setdefault(normalize(target, lowercase), target)
        ordered = tuple(references.values())
        return Example(source=groups[key][0][0], target=ordered[0], references=ordered)

    train = tuple(Example(source, target) for key in train_keys for source, target in groups[key])
    task_name = name or task_name_for(path)
    return Task(
        name=task_name,
        level=level,
        lowercase=lowercase,
        description=f"Turn each source of {path.name} into its target ({len(pairs):,} pairs).",
        train=train,
        valid=tuple(scored(key) for key in valid_keys),
        test=tuple(scored(key) for key in test_keys),
        provenance={
            "source": f"your own file {path.name}",
            "builder": BUILDER,
            "file": path.name,
            "path": str(path.resolve()),
            "sha256": sha256,
            "pairs": len(pairs),
            "seed": seed,
            "level": level,
            "lowercase": lowercase,
            "license": "not recorded (the file's owner knows)",
        },
        model_defaults=_model_defaults(
            len(train),
            level,
            lowercase,
            _longest((s for s, _ in pairs), level, lowercase),
            _longest((t for _, t in pairs), level, lowercase),
        ),
        train_defaults=_train_defaults(len(train), level),
        examples=tuple(groups[key][0][0] for key in train_keys[:EXAMPLES_OFFERED]),
    )
