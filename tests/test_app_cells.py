"""AppTest of Cells: state heatmaps, the gates of each cell kind, and the PCA trajectories against the Trace."""

from __future__ import annotations

import numpy as np
import pytest
from app_support import assert_clean, decode_array, figures, load, run_app, zoo  # noqa: F401  (zoo is a fixture)

from seq2seq_viz import greedy
from ui import charts

CELLS_PAGE = "ui/views/cells.py"


@pytest.fixture(scope="module", autouse=True)
def _zoo(zoo):  # noqa: F811
    return zoo


def _z(spec: dict) -> np.ndarray:
    return decode_array(spec["data"][0]["z"])


def test_gru_states_and_gates_equal_the_trace(zoo):  # noqa: F811
    at = run_app(CELLS_PAGE, model="reverse-gru-general", text="abc")
    assert_clean(at)
    trace = greedy(load("reverse-gru-general", zoo), "abc")
    found = figures(at)
    np.testing.assert_allclose(_z(found["cells-encoder-states"]), trace.encoder["states"], atol=1e-9)
    np.testing.assert_allclose(_z(found["cells-decoder-states"]), [s.state for s in trace.steps], atol=1e-9)
    for gate in ("reset", "update"):
        np.testing.assert_allclose(_z(found[f"cells-encoder-{gate}"]), trace.encoder["gates"][gate], atol=1e-9)
        np.testing.assert_allclose(_z(found[f"cells-decoder-{gate}"]), [s.gates[gate] for s in trace.steps], atol=1e-9)
        assert (
            found[f"cells-encoder-{gate}"]["data"][0]["zmin"],
            found[f"cells-encoder-{gate}"]["data"][0]["zmax"],
        ) == (
            0.0,
            1.0,
        )
    assert "cells-encoder-input" not in found and "cells-decoder-cell" not in found
    pca = found["cells-pca"]
    coords, _ = charts.pca_2d(np.vstack([trace.encoder["states"], [s.state for s in trace.steps]]))
    np.testing.assert_allclose(decode_array(pca["data"][0]["x"]), coords[: len(trace.source_tokens), 0], atol=1e-9)
    np.testing.assert_allclose(decode_array(pca["data"][1]["y"]), coords[len(trace.source_tokens) :, 1], atol=1e-9)
    assert pca["data"][0]["text"] == charts.source_labels(trace)
    assert len(at.get("download_button")) == 2


def test_lstm_shows_input_forget_output_gates_and_the_cell_state(zoo):  # noqa: F811
    at = run_app(CELLS_PAGE, model="reverse-lstm-additive", text="abc")
    assert_clean(at)
    trace = greedy(load("reverse-lstm-additive", zoo), "abc")
    found = figures(at)
    for gate in ("input", "forget", "output"):
        np.testing.assert_allclose(_z(found[f"cells-decoder-{gate}"]), [s.gates[gate] for s in trace.steps], atol=1e-9)
    np.testing.assert_allclose(_z(found["cells-encoder-cell"]), trace.encoder["cells"], atol=1e-9)
    np.testing.assert_allclose(_z(found["cells-decoder-cell"]), [s.cell for s in trace.steps], atol=1e-9)


def test_a_plain_rnn_says_it_has_no_gates():
    at = run_app(CELLS_PAGE, model="reverse-rnn-dot", text="abc")
    assert_clean(at)
    assert any("plain RNN has no gates" in info.value for info in at.info)
    assert not [key for key in figures(at) if key.endswith(("reset", "update", "input", "forget", "output"))]
    assert {"cells-encoder-states", "cells-decoder-states", "cells-pca"} <= set(figures(at))


def test_bad_input_on_cells_is_one_warning():
    at = run_app(CELLS_PAGE, model="reverse-gru-general", text="")
    assert not at.exception and not at.error
    assert len(at.warning) == 1 and not at.get("plotly_chart")
