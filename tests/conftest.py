"""Shared fixtures: one torch thread, tiny seeded models of every variant."""

from __future__ import annotations

import pytest
import torch

from seq2seq_viz.config import ModelConfig
from seq2seq_viz.model import Seq2Seq
from seq2seq_viz.vocab import Vocab

torch.set_num_threads(1)

LETTERS = Vocab.build([list("abcdefghij")])


def tiny_model(seed: int = 0, **overrides) -> Seq2Seq:
    """An untrained, seeded model over the letters a-j: real weights, real numbers, fast."""
    fields = {"task": "reverse", "level": "char", "hidden_size": 8, "embedding_size": 6, "max_output_len": 10}
    torch.manual_seed(seed)
    return Seq2Seq(ModelConfig(**{**fields, **overrides}), LETTERS, LETTERS).eval()


@pytest.fixture
def make_model():
    return tiny_model
