"""The eng-fra task: Tatoeba English→French pairs, split by English sentence, with every translation as a reference."""

from __future__ import annotations

import hashlib
import itertools
import os
import random
from collections.abc import Sequence
from pathlib import Path

from ..errors import DataError
from ..text import normalize, tokenize
from .base import Example, Task

ENV_VAR = "SEQ2SEQ_VIZ_ENG_FRA"
N_VALID, N_TEST = 1000, 2000  # English sentences, not pairs
LESSON_SENTENCES = ("I am cold.", "I love learning.", "The weather is nice today.")  # the lesson plan's examples
LONGEST_STRATUM = 9  # sentences of 9 words or more share one stratum ("9+")
# test_joined: long inputs made of 2-5 test sentences (as many as a length takes on average), 250 per length bucket
# (words) from where the test split stops (its sentences have at most 9 words) to 27
JOINED_BUCKETS = ((10, 13), (14, 17), (18, 22), (23, 27))
JOINED_PER_BUCKET = 250
# Joins of training pairs added to training, built as test_joined is (joined) but of training sentences only: 3,000
# per length bucket (a smaller file: one per 20 training pairs), of as many sentences as the length takes on
# average, 3 for 10-13 words up to 5 for 23-27. Joins of 2-3 would not reach the long buckets: of 71k training
# sentences 279 have more than 7 words, so three of them make 21 words at most but for a few. The 12,000 joins
# hold 293k target tokens beside the originals' 454k (an epoch takes ~1.6x as long).
TRAIN_JOINS_PER_BUCKET = 3000
TRAIN_PAIRS_PER_JOIN = 20
JOINED_REFERENCES_MAX = 20  # references of one join: products of its parts' references, the first ones

# The directory that holds the seq2seq_viz package; the shared data lives beside it (see shared/data/README.md).
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PATH = REPO_ROOT.parent / "shared" / "data" / "eng-fra.tsv"

_HOW_TO_POINT = f"pass data_path or set {ENV_VAR} to a UTF-8 file of english<TAB>french lines"


def resolve_eng_fra_path(data_path: str | os.PathLike[str] | None = None) -> Path:
    """The data file to read: data_path if given, else $SEQ2SEQ_VIZ_ENG_FRA, else ../shared/data/eng-fra.tsv."""
    if data_path:
        return Path(data_path)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return DEFAULT_PATH


def read_pairs(path: Path) -> tuple[list[tuple[str, str]], str]:
    """The (english, french) pairs of a tab-separated file in file order, and the sha256 of its bytes."""
    try:
        data = path.read_bytes()
    except OSError as error:
        reason = "does not exist" if isinstance(error, FileNotFoundError) else f"cannot be read ({error.strerror})"
        raise DataError(f"The English→French data file {path} {reason}; {_HOW_TO_POINT}.") from None
    try:
        text = data.decode("utf-8-sig")  # a leading byte-order mark is harmless, so accept it
    except UnicodeDecodeError:
        raise DataError(f"The English→French data file {path} is not UTF-8 text; {_HOW_TO_POINT}.") from None

    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():  # a blank line (often the last one) carries no pair
            continue
        fields = [field.strip() for field in line.split("\t")]
        if len(fields) != 2 or not all(fields):
            problem = (
                f"has {len(fields)} tab-separated fields instead of 2" if len(fields) != 2 else "has an empty field"
            )
            raise DataError(
                f"Line {number} of {path} {problem} (expected english<TAB>french); fix it, or {_HOW_TO_POINT}."
            )
        pairs.append((fields[0], fields[1]))
    if not pairs:
        raise DataError(f"The English→French data file {path} holds no pairs; {_HOW_TO_POINT}.")
    return pairs, hashlib.sha256(data).hexdigest()


def _proportional_counts(sizes: dict[int, int], n: int) -> dict[int, int]:
    """Split n over strata in proportion to their sizes (largest remainder), giving each stratum of 3 or more
    sentences at least one, so even the rare 1-word and 9-word sentences are tested."""
    total = sum(sizes.values())
    exact = {stratum: n * size / total for stratum, size in sizes.items()}
    counts = {stratum: max(int(share), 1 if sizes[stratum] >= 3 else 0) for stratum, share in exact.items()}
    while sum(counts.values()) < n:  # hand the rest to the strata furthest below their share
        counts[max(counts, key=lambda stratum: (exact[stratum] - counts[stratum], -stratum))] += 1
    while sum(counts.values()) > n:  # the minimum of one overshot: take back from the most over-served
        counts[max((s for s in counts if counts[s] > 1), key=lambda s: (counts[s] - exact[s], -s))] -= 1
    return counts


def _stratum(english_key: str) -> int:
    return min(len(english_key.split()), LONGEST_STRATUM)


def _words(text: str) -> int:
    """Words as the length buckets count them: tokens with a letter or digit (punctuation not counted)."""
    return sum(any(c.isalnum() for c in token) for token in tokenize(text, "word", lowercase=True))


def _join(examples: Sequence[Example], chosen: Sequence[int]) -> Example:
    """The examples at `chosen` joined in order: the sources with a space, the targets with a space, and as
    references the first JOINED_REFERENCES_MAX products of the parts' references (BLEU scores a join against every
    way of translating each of its sentences)."""
    references = [
        " ".join(choice)
        for choice in itertools.islice(
            itertools.product(*(examples[i].all_references for i in chosen)), JOINED_REFERENCES_MAX
        )
    ]
    source = " ".join(examples[i].source for i in chosen)
    return Example(source=source, target=references[0], references=tuple(references))


def joined(
    examples: Sequence[Example], buckets: Sequence[tuple[int, int]], per_bucket: int, rng: random.Random
) -> tuple[Example, ...]:
    """Up to `per_bucket` joins (_join) for each (low, high) source length in words, each of distinct examples of
    `examples`, as many as it takes to reach the bucket on average (2 for 10-13 words of eng-fra's 4.8-word test
    sentences, 5 for 23-27). Everything joined comes from `examples` alone, so joins of test sentences never meet
    a training sentence. Deterministic for a given rng."""
    words = [_words(e.source) for e in examples]
    mean = sum(words) / max(len(words), 1)
    result: list[Example] = []
    for low, high in buckets:
        parts = max(2, round((low + high) / 2 / mean))  # sentences a join of this length holds on average
        found, tries = 0, 0
        while found < per_bucket and len(examples) >= parts and tries < 200 * per_bucket:
            tries += 1
            chosen = rng.sample(range(len(examples)), parts)
            if low <= sum(words[i] for i in chosen) <= high:
                result.append(_join(examples, chosen))
                found += 1
    return tuple(result)


def build_eng_fra(data_path: str | os.PathLike[str] | None = None, seed: int = 0) -> Task:
    """Train on every pair; valid (1000) and test (2000) hold English sentences no train pair has, each scored
    against all its French translations. The held-out sentences are drawn per length (1..9+ words) in proportion."""
    path = resolve_eng_fra_path(data_path)
    pairs, sha256 = read_pairs(path)

    # One group per English sentence as the model sees it (normalized, lowercased), so "Run!" and "run!" stay together.
    groups: dict[str, list[tuple[str, str]]] = {}
    for english, french in pairs:
        groups.setdefault(normalize(english, lowercase=True), []).append((english, french))
    if len(groups) < 2 * (N_VALID + N_TEST):  # held-out sentences must not take more than half of the data
        raise DataError(
            f"{path} has only {len(groups)} distinct English sentences, and the eng-fra task needs at least "
            f"{2 * (N_VALID + N_TEST)} to hold out {N_TEST} for test and {N_VALID} for validation; {_HOW_TO_POINT}."
        )

    rng = random.Random(f"eng-fra:{seed}")
    strata: dict[int, list[str]] = {}
    for key in groups:  # dicts keep file order, so the strata (and the split) depend only on the file and the seed
        strata.setdefault(_stratum(key), []).append(key)
    for keys in strata.values():
        rng.shuffle(keys)
    sizes = {stratum: len(keys) for stratum, keys in strata.items()}
    test_counts = _proportional_counts(sizes, N_TEST)
    valid_counts = _proportional_counts({s: sizes[s] - test_counts[s] for s in sizes}, N_VALID)
    test_keys = [key for s, keys in strata.items() for key in keys[: test_counts[s]]]
    valid_keys = [key for s, keys in strata.items() for key in keys[test_counts[s] : test_counts[s] + valid_counts[s]]]
    # Shuffled so that any prefix of a split (a quick evaluation) is a fair sample of lengths, not the shortest.
    rng.shuffle(test_keys)
    rng.shuffle(valid_keys)

    def scored(key: str) -> Example:
        # File order, so the first translation becomes the target; spellings that normalize alike count once.
        references: dict[str, str] = {}
        for _, french in groups[key]:
            references.setdefault(normalize(french, lowercase=True), french)
        ordered = tuple(references.values())
        return Example(source=groups[key][0][0], target=ordered[0], references=ordered)

    test = tuple(scored(key) for key in test_keys)
    held_out = set(test_keys) | set(valid_keys)
    originals = tuple(
        Example(english, french) for key, group in groups.items() if key not in held_out for english, french in group
    )
    # drawn from the training pairs alone: no test or validation sentence enters training through a join
    per_bucket = min(TRAIN_JOINS_PER_BUCKET, len(originals) // TRAIN_PAIRS_PER_JOIN)
    joins = joined(originals, JOINED_BUCKETS, per_bucket, random.Random(f"eng-fra-train-join:{seed}"))
    train = originals + joins
    return Task(
        name="eng-fra",
        level="word",
        lowercase=True,
        description="Translate a short English sentence into French.",
        train=train,
        valid=tuple(scored(key) for key in valid_keys),
        test=test,
        extra_tests={"joined": joined(test, JOINED_BUCKETS, JOINED_PER_BUCKET, random.Random(f"eng-fra-join:{seed}"))},
        joins=len(joins),
        provenance={
            "source": "Tatoeba Project (tatoeba.org) and manythings.org/anki",
            "license": "CC-BY 2.0 (France)",
            "attribution": "Tatoeba Project (tatoeba.org) and manythings.org/anki",
            "file": path.name,
            "sha256": sha256,
            "pairs": len(pairs),
            "joined_training_pairs": len(joins),  # 3-5 training pairs joined, 10-27 words (joined)
            "seed": seed,
        },
        model_defaults={
            "level": "word",
            "lowercase": True,
            "embedding_size": 128,
            "hidden_size": 256,
            "max_source_len": 48,  # three joined sentences reach 36 tokens
            "max_output_len": 64,  # and their French 45
            "bidirectional": True,  # 128 units each way: sharper, correctly placed alignments at no extra cost
            "dropout": 0.3,  # 71k pairs and H=256: a unidirectional run with 0.2 overfit (train 0.64, valid 1.35)
        },
        train_defaults={"epochs": 12, "batch_size": 64, "lr": 2e-3, "min_freq": 2},
        examples=(
            *LESSON_SENTENCES,
            "Where is the station?",
            "She is reading a book.",
            "We are happy.",
            "He runs fast.",
        ),
    )
