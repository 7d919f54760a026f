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


@pytest.fixture(scope="session")
def make_model():
    return tiny_model


@pytest.fixture
def validated_charts(monkeypatch):
    """Every chart built in the test goes through plotly's full validation (the app skips it for speed), so an
    invalid property fails the test, and the figure the test reads is plotly's normalized one."""
    import plotly.graph_objects as go

    from ui import beam_charts, cell_charts, charts, compare_charts, zoo_charts

    build = charts._figure

    def validated(*args, **kwargs) -> go.Figure:
        raw = build(*args, **kwargs)
        return go.Figure(data=[trace.to_plotly_json() for trace in raw.data], layout=raw.layout.to_plotly_json())

    for module in (charts, zoo_charts, cell_charts, beam_charts, compare_charts):  # each imported _figure by name
        monkeypatch.setattr(module, "_figure", validated)
