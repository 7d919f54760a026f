"""Vocabularies: token <-> id with the four special tokens, built from counts with a minimum frequency."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)
FRAMING = (PAD, BOS, EOS)  # what output text leaves out; <unk> stays: the model did write "a word I lack"
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3


@dataclass(frozen=True)
class Vocab:
    """An ordered token list; ids are positions. The first four are always <pad> <bos> <eos> <unk>."""

    tokens: tuple[str, ...]
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if tuple(self.tokens[:4]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with {SPECIALS}")
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("a vocabulary must not repeat a token")
        object.__setattr__(self, "index", {t: i for i, t in enumerate(self.tokens)})

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None) -> Vocab:
        """Most frequent first (ties alphabetical, so the order is deterministic)."""
        counts = Counter(tok for seq in sequences for tok in seq)
        kept = sorted(
            (t for t, c in counts.items() if c >= min_freq and t not in SPECIALS), key=lambda t: (-counts[t], t)
        )
        if max_size is not None:
            kept = kept[: max(0, max_size - len(SPECIALS))]
        return cls(SPECIALS + tuple(kept))

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def encode(self, tokens: Sequence[str]) -> tuple[list[int], list[int]]:
        """Ids for the tokens and the positions that were unknown (mapped to <unk>, never dropped)."""
        ids, unknown = [], []
        for pos, tok in enumerate(tokens):
            idx = self.index.get(tok)
            if idx is None:
                unknown.append(pos)
                idx = UNK_ID
            ids.append(idx)
        return ids, unknown

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.tokens[i] for i in ids]

    def to_json(self) -> list[str]:
        return list(self.tokens)

    @classmethod
    def from_json(cls, tokens: list[str]) -> Vocab:
        return cls(tuple(tokens))
