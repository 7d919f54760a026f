"""AppTest of Cells: the units shown and why, their gates, the keep gate per token, the shared decoder step, the
cell's equations and each network's own PCA, against the Trace and numpy computed here."""

from __future__ import annotations

import numpy as np
import pytest
from app_support import (  # noqa: F401  (zoo is a fixture)
    assert_clean,
    decode_array,
    figures,
    gate_of,
    load,
    run_app,
    states_of,
    zoo,
)

from seq2seq_viz import greedy
from ui import cell_charts, state
from ui.charts import output_labels, source_labels
from ui.text import display_token, md_escape

CELLS_PAGE = "ui/views/cells.py"
STEP_PAGE = "ui/views/step.py"
K_KEY, STEP_SLIDER = state.CELLS_UNITS_K, state.CELLS_STEP_SLIDER
PICKED = {"encoder": "cells_encoder_units", "decoder": "cells_decoder_units"}


@pytest.fixture(scope="module", autouse=True)
def _zoo(zoo):  # noqa: F811
    return zoo


def _lines(spec: dict, panel: str) -> list[dict]:
    return [line for line in spec["data"] if line["meta"][0] == panel]


def _units_of(spec: dict) -> list[int]:
    return [line["meta"][1] for line in _lines(spec, "state")]


def _pca(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first two principal components by numpy's SVD, and their share of the variance."""
    centred = matrix - matrix.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T, singular[:2] ** 2 / (singular**2).sum()


def _assert_pca(spec: dict, matrix: np.ndarray) -> None:
    coords, explained = _pca(matrix)
    line = spec["data"][0]
    drawn = np.column_stack([decode_array(line["x"]), decode_array(line["y"])])
    for column in range(2):  # a principal direction's sign is arbitrary
        sign = np.sign(drawn[:, column] @ coords[:, column]) or 1.0
        np.testing.assert_allclose(drawn[:, column], sign * coords[:, column], atol=1e-9)
    assert spec["layout"]["xaxis"]["title"]["text"] == f"PC1 ({explained[0]:.0%} of variance)"
    assert spec["layout"]["yaxis"]["title"]["text"] == f"PC2 ({explained[1]:.0%} of variance)"


def test_gru_page_shows_the_most_variable_units_their_gates_the_keep_gate_and_two_pcas(zoo):  # noqa: F811
    at = run_app(CELLS_PAGE, model="reverse-gru-general", text="abc")
    assert_clean(at)
    at.number_input(key=K_KEY).set_value(3).run()
    assert_clean(at)
    trace = greedy(load("reverse-gru-general", zoo), "abc")
    found = figures(at)
    for side in ("encoder", "decoder"):
        spec = found[f"cells-{side}-units"]
        expected = list(np.argsort(-states_of(trace, side).std(axis=0))[:3])
        assert _units_of(spec) == expected
        panels = {"state": states_of(trace, side), **{g: gate_of(trace, side, g) for g in ("reset", "update")}}
        for panel, values in panels.items():
            for line, unit in zip(_lines(spec, panel), expected, strict=True):
                np.testing.assert_allclose(decode_array(line["y"]), values[:, unit], atol=1e-9)
        names = ", ".join(cell_charts.unit_label(trace, side, u) for u in expected)
        assert any(f"Units {names}: the 3 of 8 whose state" in c.value for c in at.caption)
    encoder = _units_of(found["cells-encoder-units"])
    legend = [line["name"] for line in _lines(found["cells-encoder-units"], "state")]
    assert legend == [f"{u} {'→' if u < 4 else '←'}" for u in encoder]  # units 0-3 read →, 4-7 read ←
    assert found["cells-encoder-units"]["layout"]["xaxis"]["ticktext"] == source_labels(trace)

    z = gate_of(trace, "encoder", "update")  # bidirectional: [→ 4 units ; ← 4 units]
    forward, backward = found["cells-encoder-keep"]["data"]
    np.testing.assert_allclose(decode_array(forward["y"]), z[:, :4].mean(axis=1), atol=1e-9)
    np.testing.assert_allclose(decode_array(backward["y"]), z[:, 4:].mean(axis=1), atol=1e-9)
    (decoder,) = found["cells-decoder-keep"]["data"]
    np.testing.assert_allclose(decode_array(decoder["y"]), gate_of(trace, "decoder", "update").mean(axis=1), atol=1e-9)

    _assert_pca(found["cells-encoder-pca"], states_of(trace, "encoder"))
    _assert_pca(found["cells-decoder-pca"], states_of(trace, "decoder"))
    assert found["cells-decoder-pca"]["data"][0]["text"][1:] == output_labels(trace)[1:]  # step 0 is ringed
    latex = [element.value for element in at.latex]
    assert any(r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}" in tex for tex in latex)  # cells.gru_step
    candidate = r"n_t &= \tanh\!\left(W_{in}\,x_t + b_{in} + r_t \odot \left(W_{hn}\,h_{t-1} + b_{hn}\right)\right)"
    assert any(candidate in tex for tex in latex)
    assert any("different networks" in c.value for c in at.caption)  # why two PCA planes
    assert any("right to left (units 4–7)" in c.value for c in at.caption)  # which gate rows are which direction
    assert len(at.get("download_button")) == 2


def test_lstm_page_shows_memory_three_gates_and_the_mean_forget_gate(zoo):  # noqa: F811
    at = run_app(CELLS_PAGE, model="reverse-lstm-additive", text="abc")
    assert_clean(at)
    trace = greedy(load("reverse-lstm-additive", zoo), "abc")
    found = figures(at)
    spec = found["cells-decoder-units"]
    panels = list(dict.fromkeys(line["meta"][0] for line in spec["data"]))
    assert panels == ["state", "memory", "input", "forget", "output"]
    unit = _units_of(spec)[0]
    np.testing.assert_allclose(
        decode_array(_lines(spec, "memory")[0]["y"]), np.asarray([s.cell for s in trace.steps])[:, unit], atol=1e-9
    )
    for side in ("encoder", "decoder"):
        (bars,) = found[f"cells-{side}-keep"]["data"]
        np.testing.assert_allclose(decode_array(bars["y"]), np.mean(gate_of(trace, side, "forget"), axis=1), atol=1e-9)
    latex = "".join(element.value for element in at.latex)
    assert r"c_t &= f_t \odot c_{t-1} + i_t \odot g_t" in latex and r"h_t &= o_t \odot \tanh(c_t)" in latex
    assert any(r"$x_t = [E\,y_{t-1};\, c_t]$" in c.value for c in at.caption)  # Bahdanau: the context joins x_t


def test_a_plain_rnn_says_it_has_no_gates_and_shows_its_equation():
    at = run_app(CELLS_PAGE, model="reverse-rnn-dot", text="abc")
    assert_clean(at)
    assert any("plain RNN has no gates" in info.value for info in at.info)
    assert any(
        r"h_t = \tanh\!\left(W_{ih}\,x_t + b_{ih} + W_{hh}\,h_{t-1} + b_{hh}\right)" in x.value for x in at.latex
    )
    found = figures(at)
    assert set(found) == {"cells-encoder-units", "cells-decoder-units", "cells-encoder-pca", "cells-decoder-pca"}
    assert {line["meta"][0] for line in found["cells-encoder-units"]["data"]} == {"state"}


def test_the_page_reads_and_moves_the_shared_step(zoo):  # noqa: F811
    trace = greedy(load("reverse-gru-general", zoo), "abc")
    at = run_app(CELLS_PAGE, model="reverse-gru-general", text="abc", step="3")  # a link's step reaches Cells
    assert_clean(at)
    assert at.session_state[state.STEP] == 3 and at.slider(key=STEP_SLIDER).value == 3

    at.session_state[state.STEP] = 2  # as Step through leaves it
    at.run()
    found = figures(at)
    (band,) = found["cells-decoder-units"]["layout"]["shapes"]
    assert (band["x0"], band["x1"]) == (1.5, 2.5)
    assert found["cells-decoder-units"]["layout"]["xaxis"]["ticktext"][2] == f"<b>{output_labels(trace)[2]}</b>"
    colors = found["cells-decoder-keep"]["data"][0]["marker"]["color"]
    assert [i for i, c in enumerate(colors) if c == cell_charts.ACCENT] == [2]
    assert "shapes" not in found["cells-encoder-units"]["layout"]  # the encoder has no decoder step
    said = md_escape(f"Step t = 2 reads «{display_token(trace.steps[2].input_token)}» and writes")
    assert any(said in c.value for c in at.caption)

    at.slider(key=STEP_SLIDER).set_value(5).run()  # moved on Cells...
    assert_clean(at)
    assert at.session_state[state.STEP] == 5
    assert figures(at)["cells-decoder-units"]["layout"]["shapes"][0]["x0"] == 4.5
    at.switch_page(STEP_PAGE).run()  # ...and Step through opens at the same step
    assert_clean(at)
    assert at.session_state[state.STEP] == 5 and at.slider(key=state.STEP_SLIDER).value == 5


def test_the_users_own_units_replace_the_most_variable_ones_until_the_model_changes(zoo):  # noqa: F811
    at = run_app(CELLS_PAGE, model="reverse-gru-general", text="abc")
    at.multiselect(key=PICKED["encoder"]).set_value([6, 1]).run()
    assert_clean(at)
    trace = greedy(load("reverse-gru-general", zoo), "abc")
    found = figures(at)
    assert _units_of(found["cells-encoder-units"]) == [6, 1]
    np.testing.assert_allclose(
        decode_array(_lines(found["cells-encoder-units"], "update")[0]["y"]), gate_of(trace, "encoder", "update")[:, 6]
    )
    assert _units_of(found["cells-decoder-units"]) == list(np.argsort(-states_of(trace, "decoder").std(axis=0))[:8])
    assert any("Units 6 ←, 1 →: your choice (of 8)." in c.value for c in at.caption)

    at.selectbox(key=state.CELL).set_value("lstm").run()  # another network: its units are other neurons
    assert_clean(at)
    assert not at.multiselect(key=PICKED["encoder"]).value
    assert len(_units_of(figures(at)["cells-encoder-units"])) == 8


def test_bad_input_on_cells_is_one_warning():
    at = run_app(CELLS_PAGE, model="reverse-gru-general", text="")
    assert not at.exception and not at.error
    assert len(at.warning) == 1 and not at.get("plotly_chart")
