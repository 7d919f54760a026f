"""ui.cell_charts against real Traces of tiny seeded models: the units picked, their state and gate lines, the
per-token keep gate, each network's own PCA, and which direction and layer a gate row belongs to."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from app_support import gate_of, states_of

from seq2seq_viz import greedy
from ui import cell_charts
from ui.charts import output_labels, source_labels
from ui.style import NORMAL, PRESENT, style_for

pytestmark = pytest.mark.usefixtures("validated_charts")  # every figure passes plotly's validation
TEXT = "abcde"


@pytest.fixture(scope="module")
def traces(make_model):
    tiny_model = make_model
    return {
        "gru-bi": greedy(tiny_model(0, cell="gru", attention="general", bidirectional=True), TEXT),
        "lstm": greedy(tiny_model(1, cell="lstm", attention="additive"), TEXT),
        "rnn": greedy(tiny_model(2, cell="rnn", attention="dot"), TEXT),
    }


def _panel(figure: go.Figure, name: str) -> list:
    """The lines of one panel (state, memory or a gate), in the order of the units."""
    return [trace for trace in figure.data if trace.meta[0] == name]


# ---- picking units ----


@pytest.mark.parametrize("name", ["gru-bi", "lstm", "rnn"])
@pytest.mark.parametrize("side", ["encoder", "decoder"])
def test_the_most_variable_units_have_the_largest_std_over_tokens(traces, name, side):
    trace = traces[name]
    spread = states_of(trace, side).std(axis=0)  # over tokens, one per unit
    for k in (1, 3, 8):
        units = cell_charts.most_variable_units(trace, side, k)
        assert units == tuple(int(u) for u in np.argsort(-spread)[:k])
        rest = [u for u in range(len(spread)) if u not in units]
        assert not rest or spread[list(units)].min() >= spread[rest].max()
    assert len(cell_charts.most_variable_units(trace, side, 50)) == len(spread)  # never more units than H


def test_bidirectional_encoder_units_are_named_by_direction(traces):
    trace = traces["gru-bi"]  # H = 8: units 0-3 read left to right, 4-7 right to left
    assert [cell_charts.unit_label(trace, "encoder", u) for u in (0, 3, 4, 7)] == ["0 →", "3 →", "4 ←", "7 ←"]
    assert cell_charts.unit_label(trace, "decoder", 7) == "7"  # the decoder has one direction
    assert cell_charts.unit_label(traces["lstm"], "encoder", 7) == "7"


def test_gate_rows_of_a_two_layer_bidirectional_encoder_are_the_top_layer_forward_then_backward(make_model):
    """The labels rest on this: row u < H/2 is the forward cell, u ≥ H/2 the backward one, of the top layer."""
    model = make_model(3, cell="lstm", attention="general", bidirectional=True, layers=2)
    trace = greedy(model, TEXT)
    rnn, half, last = model.encoder.rnn, 4, len(trace.source_tokens) - 1
    below = np.asarray(trace.encoder["layers"][0])  # (S, H): layer 1's outputs, layer 2's inputs

    def forget(suffix: str, x: np.ndarray) -> np.ndarray:
        """f of a cell of layer 2 at its first position (h = 0 there, so only the input and the biases count)."""
        w_ih = getattr(rnn, f"weight_ih_l1{suffix}").detach().numpy()
        bias = (getattr(rnn, f"bias_ih_l1{suffix}") + getattr(rnn, f"bias_hh_l1{suffix}")).detach().numpy()
        rows = slice(half, 2 * half)  # torch stacks i|f|g|o
        return 1 / (1 + np.exp(-(w_ih[rows] @ x + bias[rows])))

    f = np.asarray(trace.encoder["gates"]["forget"])
    np.testing.assert_allclose(f[0, :half], forget("", below[0]), atol=1e-5)  # → starts at the first token
    np.testing.assert_allclose(f[last, half:], forget("_reverse", below[last]), atol=1e-5)  # ← at the last
    assert cell_charts.direction_of(trace, "encoder", half - 1) == 0
    assert cell_charts.direction_of(trace, "encoder", half) == 1


# ---- the unit lines ----


def test_gru_unit_lines_are_each_units_state_reset_and_update(traces):
    trace = traces["gru-bi"]
    units = (5, 0, 2)
    figure = cell_charts.unit_lines(trace, "encoder", units)
    assert [p for p in dict.fromkeys(t.meta[0] for t in figure.data)] == ["state", "reset", "update"]
    expected = {"state": states_of(trace, "encoder"), **{g: gate_of(trace, "encoder", g) for g in ("reset", "update")}}
    for name, values in expected.items():
        lines = _panel(figure, name)
        assert [line.meta[1] for line in lines] == list(units)
        for line, unit in zip(lines, units, strict=True):
            np.testing.assert_allclose(line.y, values[:, unit], atol=1e-12)
    assert [line.name for line in _panel(figure, "state")] == ["5 ←", "0 →", "2 →"]
    assert all(line.showlegend for line in _panel(figure, "state"))  # one legend entry per unit...
    assert not any(line.showlegend for line in _panel(figure, "reset"))  # ...not one per panel
    # the same unit has the same colour in every panel
    assert [line.line.color for line in _panel(figure, "update")] == [
        line.line.color for line in _panel(figure, "state")
    ]
    layout = figure.layout
    assert list(layout.xaxis.ticktext) == source_labels(trace)
    assert tuple(layout.yaxis2.range) == tuple(layout.yaxis3.range) == (-0.05, 1.05)  # gates live in [0, 1]
    tops = [layout.yaxis.domain, layout.yaxis2.domain, layout.yaxis3.domain]
    assert tops[0][0] > tops[1][1] and tops[1][0] > tops[2][1]  # stacked top to bottom, not overlapping
    assert not layout.shapes  # the encoder marks no step


def test_lstm_decoder_lines_have_the_memory_three_gates_and_mark_step_t(traces):
    trace = traces["lstm"]
    t, units = 2, (1, 6)
    figure = cell_charts.unit_lines(trace, "decoder", units, highlight=t)
    assert [p for p in dict.fromkeys(line.meta[0] for line in figure.data)] == [
        "state", "memory", "input", "forget", "output"
    ]  # fmt: skip
    memory = np.asarray([s.cell for s in trace.steps])
    np.testing.assert_allclose(_panel(figure, "memory")[1].y, memory[:, 6], atol=1e-12)
    np.testing.assert_allclose(_panel(figure, "forget")[0].y, gate_of(trace, "decoder", "forget")[:, 1], atol=1e-12)
    ticks = list(figure.layout.xaxis.ticktext)
    expected = output_labels(trace)
    assert ticks[t] == f"<b>{expected[t]}</b>" and ticks[:t] + ticks[t + 1 :] == expected[:t] + expected[t + 1 :]
    (band,) = figure.layout.shapes
    assert (band.x0, band.x1) == (t - 0.5, t + 0.5)


def test_a_plain_rnn_has_only_its_state_and_no_keep_gate(traces):
    trace = traces["rnn"]
    assert cell_charts.gate_names(trace) == () and cell_charts.keep_gate(trace) is None
    figure = cell_charts.unit_lines(trace, "encoder", (0, 1))
    assert {line.meta[0] for line in figure.data} == {"state"}
    with pytest.raises(cell_charts.NoGatesError, match="no gates"):
        cell_charts.keep_bars(trace, "encoder")


# ---- how much of the old state survives ----


def test_gru_keep_bars_are_the_mean_update_gate_per_direction_and_per_step(traces):
    trace = traces["gru-bi"]
    z = np.asarray(trace.encoder["gates"]["update"])  # (S, 8): [→ 4 units ; ← 4 units]
    forward, backward = cell_charts.keep_bars(trace, "encoder").data
    np.testing.assert_allclose(forward.y, z[:, :4].mean(axis=1), atol=1e-12)
    np.testing.assert_allclose(backward.y, z[:, 4:].mean(axis=1), atol=1e-12)
    assert forward.name.startswith("→") and backward.name.startswith("←")
    t = 3
    (decoder,) = cell_charts.keep_bars(trace, "decoder", highlight=t).data
    np.testing.assert_allclose(decoder.y, np.mean([s.gates["update"] for s in trace.steps], axis=1), atol=1e-12)
    colors = list(decoder.marker.color)
    assert colors[t] == cell_charts.ACCENT and colors.count(cell_charts.ACCENT) == 1
    assert list(decoder.text) == [f"{v:.2f}" for v in decoder.y]


def test_lstm_keep_bars_are_the_mean_forget_gate(traces):
    trace = traces["lstm"]
    (encoder,) = cell_charts.keep_bars(trace, "encoder").data
    np.testing.assert_allclose(encoder.y, np.mean(trace.encoder["gates"]["forget"], axis=1), atol=1e-12)
    (decoder,) = cell_charts.keep_bars(trace, "decoder").data
    np.testing.assert_allclose(decoder.y, np.mean([s.gates["forget"] for s in trace.steps], axis=1), atol=1e-12)
    assert "mean f" in decoder.name


# ---- trajectories ----


def _svd_projection(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    centred = matrix - matrix.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T, singular[:2] ** 2 / (singular**2).sum()


def _same_up_to_sign(actual: np.ndarray, expected: np.ndarray) -> None:
    for column in range(2):
        sign = np.sign(actual[:, column] @ expected[:, column]) or 1.0
        np.testing.assert_allclose(actual[:, column], sign * expected[:, column], atol=1e-9)


@pytest.mark.parametrize("name", ["gru-bi", "lstm"])
def test_each_network_is_projected_onto_its_own_principal_components(traces, name):
    trace = traces[name]
    encoder, decoder = states_of(trace, "encoder"), states_of(trace, "decoder")
    joint, _ = _svd_projection(np.vstack([encoder, decoder]))
    sides = (("encoder", encoder, source_labels(trace)), ("decoder", decoder, output_labels(trace)))
    for side, matrix, labels in sides:
        figure = cell_charts.trajectory(trace, side)
        line = figure.data[0]
        coords, explained = _svd_projection(matrix)
        _same_up_to_sign(np.column_stack([line.x, line.y]), coords)
        assert figure.layout.xaxis.title.text == f"PC1 ({explained[0]:.0%} of variance)"
        assert figure.layout.yaxis.title.text == f"PC2 ({explained[1]:.0%} of variance)"
        assert list(line.text) == labels
    shared = cell_charts.trajectory(trace, "encoder").data[0]
    assert not np.allclose(np.abs(np.column_stack([shared.x, shared.y])), np.abs(joint[: len(encoder)]), atol=1e-3)


def test_the_trajectory_rings_decoder_step_t(traces):
    trace, t = traces["lstm"], 4
    figure = cell_charts.trajectory(trace, "decoder", highlight=t)
    path, ring = figure.data
    assert (ring.x[0], ring.y[0]) == (path.x[t], path.y[t])
    assert path.text[t] == "" and ring.text[0] == f"<b>{output_labels(trace)[t]}</b>"  # the label moves above the ring


# ---- style and safety ----


def test_every_chart_follows_the_style(traces):
    trace = traces["lstm"]
    for draw, args in (
        (cell_charts.unit_lines, ("encoder", (0, 1, 2))),
        (cell_charts.keep_bars, ("decoder",)),
        (cell_charts.trajectory, ("encoder",)),
    ):
        normal, present = draw(trace, *args, style=NORMAL), draw(trace, *args, style=PRESENT)
        assert normal.layout.font.size == NORMAL.font_size and present.layout.font.size == PRESENT.font_size
        assert present.layout.height > normal.layout.height
    lines = cell_charts.unit_lines(trace, "encoder", tuple(range(8)), style=style_for(dark=True))
    colors = [line.line.color for line in _panel(lines, "state")]
    assert len(set(colors)) == 8 and "#000000" not in colors  # no black line on a dark page
    assert cell_charts.unit_lines(trace, "encoder", tuple(range(8))).layout.height < 800  # compact: not a barcode


def test_tokens_reach_the_charts_escaped():
    from seq2seq_viz.config import ModelConfig
    from seq2seq_viz.model import Seq2Seq
    from seq2seq_viz.vocab import Vocab

    symbols = Vocab.build([list("ab<>&")])
    config = ModelConfig(task="reverse", level="char", cell="gru", attention="dot", hidden_size=8, embedding_size=6)
    torch.manual_seed(0)
    trace = greedy(Seq2Seq(config, symbols, symbols).eval(), "a<b>&")
    for side, labels in (("encoder", source_labels(trace)), ("decoder", output_labels(trace))):
        assert cell_charts.tokens(trace, side) == labels
        shown = [
            *cell_charts.unit_lines(trace, side, (0,)).layout.xaxis.ticktext,
            *cell_charts.keep_bars(trace, side).layout.xaxis.ticktext,
            *cell_charts.trajectory(trace, side).data[0].text,
        ]
        assert "<" not in "".join(shown)  # every token is escaped (and no step is marked in bold here)
    assert "&lt;" in "".join(source_labels(trace)) and "&amp;" in "".join(source_labels(trace))


def test_a_long_sentences_tokens_thin_around_the_chosen_step(make_model):
    """40 letters and <eos> in half a slide's width (less the y axis and legend): the labels stand upright at the
    smallest type and thin to every k-th, counted so the chosen step's bold label is one of them."""
    trace = greedy(make_model(0, cell="gru", attention="dot"), "abcdefghij" * 4)
    labels = source_labels(trace)
    for highlight in (0, 7, 23):
        for figure in (cell_charts.unit_lines(trace, "encoder", (0, 1), highlight, style=PRESENT),
                       cell_charts.keep_bars(trace, "encoder", highlight, style=PRESENT)):  # fmt: skip
            x = figure.layout.xaxis
            pitch = (1120 / 2 - 150) / len(labels)  # 10 px: under a line of the smallest type
            step = x.tickvals[1] - x.tickvals[0]
            assert x.tickangle == -90 and x.tickfont.size == 11 and step * pitch >= 1.15 * 11 > pitch
            assert highlight in x.tickvals and f"<b>{labels[highlight]}</b>" in x.ticktext
            assert list(x.tickvals) == list(range(highlight % step, len(labels), step))


def test_cell_charts_import_neither_streamlit_nor_torch():
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, ui.cell_charts; print(sorted({'torch', 'streamlit'} & set(sys.modules)))"
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
