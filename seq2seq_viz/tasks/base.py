"""The Task record every dataset builder returns: splits of examples with optional gold alignments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..text import tokenize


@dataclass(frozen=True)
class Example:
    """One source/target pair.

    alignment: for each target token (tokenized at the task's level, no <bos>/<eos>), the source token positions
    that produced it; None when unknown. references: every acceptable target (BLEU uses all); () means (target,).
    """

    source: str
    target: str
    alignment: tuple[tuple[int, ...], ...] | None = None
    references: tuple[str, ...] = ()

    @property
    def all_references(self) -> tuple[str, ...]:
        return self.references or (self.target,)


@dataclass(frozen=True)
class Task:
    """A dataset with deterministic splits and the tokenization level its models use."""

    name: str  # used as the first part of model names
    level: str  # "word" or "char"
    lowercase: bool  # models of this task lowercase their input
    description: str  # one sentence for people
    train: tuple[Example, ...]
    valid: tuple[Example, ...]
    test: tuple[Example, ...]
    extra_tests: dict[str, tuple[Example, ...]] = field(default_factory=dict)  # e.g. {"long": ...}
    provenance: dict[str, Any] = field(default_factory=dict)  # source, license, attribution, sha256, seed
    model_defaults: dict[str, Any] = field(default_factory=dict)  # ModelConfig fields shared by the task's zoo
    train_defaults: dict[str, Any] = field(default_factory=dict)  # TrainConfig fields shared by the task's zoo
    examples: tuple[str, ...] = ()  # inputs to offer in the app
    # the last `joins` training examples join others (eng-fra): they lengthen the inputs but add no word, so the
    # vocabulary counts the others only (counted in, they would lift words seen once over min_freq 2)
    joins: int = 0

    def tokens(self, text: str) -> list[str]:
        return tokenize(text, self.level, self.lowercase)

    def pairs(self, split: str = "train") -> list[tuple[list[str], list[str]]]:
        """Tokenized (source, target) pairs of a split, ready for training."""
        examples = getattr(self, split) if split in ("train", "valid", "test") else self.extra_tests[split]
        return [(self.tokens(e.source), self.tokens(e.target)) for e in examples]

    def vocab_pairs(self) -> list[tuple[list[str], list[str]]]:
        """The tokenized training pairs the vocabularies count: all but the joins."""
        return [(self.tokens(e.source), self.tokens(e.target)) for e in self.train[: len(self.train) - self.joins]]
