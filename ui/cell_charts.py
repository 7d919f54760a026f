"""Cells charts: a few chosen hidden units over time with their gates, how much of the old state each token keeps,
and each network's states in its own PCA plane. Pure functions (Trace in, figure or numbers out); no Streamlit.

What the Trace holds (seq2seq_viz.decoding): gates of the top recurrent layer only, one row per token. For a
bidirectional encoder each row is [→ forward direction ; ← backward direction], Hd = H/2 units each, like the
states h_j = [→h_j; ←h_j]; encoder unit u < Hd belongs to the forward direction, u ≥ Hd to the backward one.
The decoder is always unidirectional. Encoder and decoder units are different neurons of different networks.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from seq2seq_viz.config import CANDIDATE
from seq2seq_viz.config import GATES as CELL_GATES

from .charts import _axis, _figure, _fit_ticks, _trace, output_labels, pca_2d, plot_px, source_labels
from .style import NORMAL, ChartStyle
from .text import chart_labels

if TYPE_CHECKING:  # charts read Traces but import only the torch-free core (config), never the model side
    from seq2seq_viz.trace import Trace

SIDES = ("encoder", "decoder")
GATES = {  # the σ gates each cell records, in its equations' order; the candidate is a state, not a gate
    cell: tuple(gate for gate in names if gate != CANDIDATE) for cell, names in CELL_GATES.items()
}
KEEP_GATE = {"gru": "update", "lstm": "forget"}  # the gate that carries the old state into the new one
GATE_SYMBOL = {"reset": "r", "update": "z", "input": "i", "forget": "f", "output": "o"}
GATE_MEANING = {  # a panel's label: short, it shares the chart's width with the legend
    "reset": "reset · what the candidate reads",
    "update": "update · 1 keeps the old state",
    "input": "input · what is written",
    "forget": "forget · 1 keeps the old memory",
    "output": "output · what c shows in h",
}
# Okabe-Ito, colour-blind-safe; its black (light pages) or yellow (dark pages) last, where each reads.
_UNIT_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
_DASHES = ("solid", "dash", "dot")
ACCENT = "#E69F00"  # the chosen decoder step
SECOND = "#0072B2"  # the other bars
THIRD = "#009E73"  # the backward direction's bars
ARROW = {0: "→", 1: "←"}


class NoGatesError(ValueError):
    """The trace comes from a plain RNN: it has no gates, so nothing decides how much of the old state survives."""


# ---- reading the Trace ----


def cell_kind(trace: Trace) -> str:
    return str(trace.model.get("cell", "rnn"))


def gate_names(trace: Trace) -> tuple[str, ...]:
    """The gates worth drawing for the trace's cell (none for a plain RNN; the candidate is a state, not a gate)."""
    return GATES.get(cell_kind(trace), ())


def keep_gate(trace: Trace) -> str | None:
    """update (GRU: h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}) or forget (LSTM: c_t = f ⊙ c_{t−1} + i ⊙ g); None for RNN."""
    return KEEP_GATE.get(cell_kind(trace))


def states(trace: Trace, side: str) -> np.ndarray:
    """(N, H): the encoder's h_j (N = source tokens) or the decoder's s_t (N = steps), top layer."""
    if side == "encoder":
        return np.asarray(trace.encoder["states"], dtype=float)
    return np.asarray([step.state for step in trace.steps], dtype=float)


def gates(trace: Trace, side: str, gate: str) -> np.ndarray:
    """(N, H): one gate's activations on one side, top layer."""
    if side == "encoder":
        return np.asarray(trace.encoder["gates"][gate], dtype=float)
    return np.asarray([step.gates[gate] for step in trace.steps], dtype=float)


def memory(trace: Trace, side: str) -> np.ndarray | None:
    """(N, H): the LSTM memory cell c, top layer; None for GRU and RNN."""
    if cell_kind(trace) != "lstm":
        return None
    if side == "encoder":
        return np.asarray(trace.encoder["cells"], dtype=float)
    return np.asarray([step.cell for step in trace.steps], dtype=float)


def directions(trace: Trace, side: str) -> int:
    """2 for a bidirectional encoder (its rows are [→; ←]), else 1."""
    return 2 if side == "encoder" and trace.model.get("bidirectional") else 1


def unit_count(trace: Trace, side: str) -> int:
    return int(states(trace, side).shape[1])


def direction_of(trace: Trace, side: str, unit: int) -> int | None:
    """0 (→) or 1 (←) for a unit of a bidirectional encoder; None where there is one direction."""
    if directions(trace, side) == 1:
        return None
    return 0 if unit < unit_count(trace, side) // 2 else 1


def unit_label(trace: Trace, side: str, unit: int) -> str:
    """A unit as the page names it: its index in h (or s), with the direction it reads in, e.g. "133 ←"."""
    direction = direction_of(trace, side, unit)
    return f"{unit}" if direction is None else f"{unit} {ARROW[direction]}"


def tokens(trace: Trace, side: str) -> list[str]:
    """The x labels of one side (escaped): the source tokens, or each step's output token."""
    return source_labels(trace) if side == "encoder" else output_labels(trace)


def most_variable_units(trace: Trace, side: str, k: int) -> tuple[int, ...]:
    """The k units whose state changes most over time: the largest standard deviation over tokens, first."""
    spread = states(trace, side).std(axis=0)  # (H,)
    order = np.argsort(-spread, kind="stable")
    return tuple(int(u) for u in order[: max(0, k)])


def keep_means(trace: Trace, side: str) -> list[tuple[int | None, np.ndarray]]:
    """Per token, the mean over units of the keep gate (z or f): one (direction, (N,)) per direction."""
    gate = keep_gate(trace)
    if gate is None:
        raise NoGatesError("A plain RNN has no gates: it rewrites its whole state at every step.")
    values = gates(trace, side, gate)
    if directions(trace, side) == 1:
        return [(None, values.mean(axis=1))]
    half = values.shape[1] // 2
    return [(0, values[:, :half].mean(axis=1)), (1, values[:, half:].mean(axis=1))]


# ---- figures ----


def _angle(labels: list[str], width_chars: int, style: ChartStyle) -> int:
    """Tilt tick labels that would not fit side by side in about width_chars characters of the lab's type."""
    room = int(width_chars * NORMAL.font_size / style.font_size)
    return -45 if sum(max(len(html.unescape(label)), 2) + 1 for label in labels) > room else 0


def _marked(labels: list[str], highlight: int | None) -> list[str]:
    """The chosen step's tick in bold (the labels are already escaped, so the markup is ours alone)."""
    return [f"<b>{label}</b>" if i == highlight else label for i, label in enumerate(labels)]


HALF_INSET_PX = 150  # a Cells figure's y axis and unit legend, beside its plot in one of the page's two columns


def _token_axis(labels: list[str], highlight: int | None, style: ChartStyle, **extra) -> dict:
    """The tokens over time, the chosen step's in bold; fitted to half the page (the encoder's and the decoder's
    figures sit side by side), so a long sentence's tokens stand upright, shrink or thin, never overlap."""
    axis = _axis(
        _marked(labels, highlight),
        tickangle=_angle(labels, 40, style),
        automargin=True,
        range=[-0.5, len(labels) - 0.5],
        **extra,
    )
    return _fit_ticks(axis, plot_px(0.5, style, HALF_INSET_PX), style, across=True, keep=highlight)


def _tick_room(labels: list[str], xaxis: dict, style: ChartStyle) -> int:
    """About the height the token ticks take below the plot: automargin takes it from the figure, so a figure
    adds it to keep its plot the size it asked for (tilted labels need more, upright ones their whole length)."""
    longest = max((len(html.unescape(label)) for label in labels), default=1)
    angle = xaxis.get("tickangle") or 0
    size = (xaxis.get("tickfont") or {}).get("size", style.font_size)
    return int(2 * style.font_size + ((1.0 if angle == -90 else 0.7) * 0.62 * size * longest if angle else 0))


def _step_band(highlight: int | None, style: ChartStyle, yref: str = "paper") -> list[dict]:
    """A band behind decoder step t across the whole plot."""
    if highlight is None:
        return []
    return [
        {
            "type": "rect",
            "xref": "x",
            "yref": yref,
            "x0": highlight - 0.5,
            "x1": highlight + 0.5,
            "y0": 0,
            "y1": 1,
            "fillcolor": style.muted,
            "opacity": 0.22,
            "line": {"width": 0},
            "layer": "below",
        }
    ]


def _hover_labels(trace: Trace, side: str) -> list[str]:
    """What one token position is, for hover text (escaped)."""
    if side == "encoder":
        return [f"source {j}: {label}" for j, label in enumerate(source_labels(trace))]
    inputs = chart_labels([step.input_token for step in trace.steps])
    pairs = zip(inputs, output_labels(trace), strict=True)
    return [f"step {t}: reads {i}, writes {o}" for t, (i, o) in enumerate(pairs)]


def _rows(trace: Trace, side: str) -> list[tuple[str, str, np.ndarray, list[float] | None]]:
    """(name, panel label, (N, H) values, y range) per panel, top to bottom: the state, LSTM memory, then gates."""
    index = "j" if side == "encoder" else "t"
    symbol = "h" if side == "encoder" else "s"
    rows = [("state", f"state {symbol}<sub>{index}</sub>", states(trace, side), [-1.08, 1.08])]
    cells = memory(trace, side)
    if cells is not None:
        rows.append(("memory", f"memory c<sub>{index}</sub>", cells, None))
    for gate in gate_names(trace):
        label = f"{GATE_SYMBOL[gate]}<sub>{index}</sub> {GATE_MEANING[gate]}"
        rows.append((gate, label, gates(trace, side, gate), [-0.05, 1.05]))
    return rows


def unit_lines(
    trace: Trace, side: str, units: tuple[int, ...], highlight: int | None = None, style: ChartStyle = NORMAL
) -> go.Figure:
    """The chosen units over time, one panel per quantity sharing the token axis: the state (h_j or s_t), the LSTM
    memory c, then each gate in [0, 1]. One line per unit, the same colour in every panel; highlight marks decoder
    step t with a band and a bold tick.
    """
    labels, hover = tokens(trace, side), _hover_labels(trace, side)
    rows = _rows(trace, side)
    gap = int(1.9 * style.font_size)  # room above each panel for its label
    # A panel is half a line chart, smaller when there are many (an LSTM's five fit about 2.4 line charts).
    panel = max(60, min(style.bar_px // 2, int(2.4 * style.bar_px / len(rows)) - gap))
    total = len(rows) * (panel + gap)
    palette = (*_UNIT_COLORS, style.muted, "#F0E442" if style.dark else "#000000")
    x = list(range(len(labels)))
    data, annotations, axes = [], [], {}
    for r, (name, label, values, y_range) in enumerate(rows):
        axis = "y" if r == 0 else f"y{r + 1}"
        top = 1 - r * (panel + gap) / total - gap / total
        bottom = top - panel / total
        axes["yaxis" if r == 0 else f"yaxis{r + 1}"] = {
            "domain": [max(bottom, 0.0), top],
            "anchor": "x",
            "range": y_range,
            "tickvals": [0, 0.5, 1] if name not in ("state", "memory") else ([-1, 0, 1] if y_range else None),
            "zeroline": name in ("state", "memory"),
            "showgrid": True,
            "fixedrange": True,
        }
        annotations.append(
            {
                "text": label,
                "xref": "paper",
                "yref": "paper",
                "x": 0,
                "y": top,
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": style.font_size},
            }
        )
        for i, unit in enumerate(units):
            data.append(
                _trace(
                    "scatter",
                    x=x,
                    y=values[:, unit],
                    yaxis=axis,
                    mode="lines+markers",
                    name=unit_label(trace, side, unit),
                    legendgroup=str(unit),
                    showlegend=r == 0,
                    meta=[name, unit],
                    line={"color": palette[i % len(palette)], "width": 2, "dash": _DASHES[i // len(palette) % 3]},
                    marker={"size": max(4, style.marker_size - 4)},
                    customdata=hover,
                    hovertemplate=f"%{{customdata}}<br>unit {unit_label(trace, side, unit)} · {name} = "
                    "%{y:.3f}<extra></extra>",
                )
            )
    xaxis = _token_axis(labels, highlight, style, anchor="y" if len(rows) == 1 else f"y{len(rows)}")
    return _figure(
        data,
        total + _tick_room(labels, xaxis, style),
        None,
        style=style,
        xaxis=xaxis,
        **axes,
        annotations=annotations,
        shapes=_step_band(highlight, style) or None,
        legend={"title": {"text": "unit"}, "tracegroupgap": 0, "y": 1, "yanchor": "top"},
        hovermode="closest",
    )


def keep_bars(trace: Trace, side: str, highlight: int | None = None, style: ChartStyle = NORMAL) -> go.Figure:
    """Per token, the mean over units of the gate that keeps the old state: z (GRU) or f (LSTM), in [0, 1].

    A bidirectional encoder gets one bar per direction: → kept what it read to the left, ← to the right.
    highlight colours decoder step t.
    """
    gate = keep_gate(trace)
    means = keep_means(trace, side)
    labels, hover = tokens(trace, side), _hover_labels(trace, side)
    symbol = GATE_SYMBOL[gate]  # type: ignore[index]
    data = []
    for direction, values in means:
        if direction is None:
            colors = [ACCENT if t == highlight else SECOND for t in range(len(values))]
            name = f"mean {symbol}"
        else:
            colors = SECOND if direction == 0 else THIRD
            name = f"{ARROW[direction]} mean {symbol}"
        data.append(
            _trace(
                "bar",
                x=list(range(len(values))),
                y=values,
                name=name,
                marker={"color": colors},
                text=[f"{v:.2f}" for v in values],
                textposition="outside",
                cliponaxis=False,
                constraintext="both",
                customdata=hover,
                hovertemplate=f"%{{customdata}}<br>{name} = %{{y:.3f}}<extra></extra>",
            )
        )
    xaxis = _token_axis(labels, highlight, style)
    return _figure(
        data,
        style.bar_px - 60 + _tick_room(labels, xaxis, style),
        None,
        style=style,
        xaxis=xaxis,
        yaxis={"range": [0, 1.12], "tickvals": [0, 0.5, 1], "title": {"text": f"mean {symbol}"}, "fixedrange": True},
        barmode="group",
        bargap=0.25,
        uniformtext={"minsize": style.font_size - 1, "mode": "hide"},  # a value that cannot fit its bar is left out
        showlegend=len(means) > 1,
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        shapes=_step_band(highlight, style) or None,
    )


def trajectory(trace: Trace, side: str, highlight: int | None = None, style: ChartStyle = NORMAL) -> go.Figure:
    """One network's states projected onto their own first two principal components, joined in reading order.

    The encoder's h_j and the decoder's s_t come from different networks, so each gets its own plane and its own
    explained variance. highlight rings decoder step t.
    """
    matrix = states(trace, side)
    coords, explained = pca_2d(matrix)
    labels, hover = tokens(trace, side), _hover_labels(trace, side)
    color = SECOND if side == "encoder" else ACCENT
    marked = highlight is not None and 0 <= highlight < len(coords)
    data = [
        _trace(
            "scatter",
            x=coords[:, 0],
            y=coords[:, 1],
            mode="lines+markers+text",
            name="h_j" if side == "encoder" else "s_t",
            text=["" if marked and i == highlight else label for i, label in enumerate(labels)],
            textposition="top center",
            cliponaxis=False,
            marker={"color": color, "size": style.marker_size, "symbol": "circle" if side == "encoder" else "diamond"},
            line={"color": color, "width": 1.5},
            customdata=hover,
            hovertemplate="%{customdata}<br>PC1 %{x:.3f}, PC2 %{y:.3f}<extra></extra>",
        )
    ]
    if marked:  # a ring around step t, its label above the ring
        data.append(
            _trace(
                "scatter",
                x=[coords[highlight, 0]],
                y=[coords[highlight, 1]],
                mode="markers+text",
                text=[f"<b>{labels[highlight]}</b>"],
                textposition="top center",
                cliponaxis=False,
                name=f"step {highlight}",
                marker={
                    "size": 2 * style.marker_size + 4,
                    "color": "rgba(0,0,0,0)",
                    "line": {"color": style.muted, "width": 3},
                },
                hoverinfo="skip",
            )
        )
    return _figure(
        data,
        style.bar_px + 110,
        None,
        style=style,
        xaxis={"title": {"text": f"PC1 ({explained[0]:.0%} of variance)"}, "range": _padded(coords[:, 0], 0.1),
               "zeroline": False, "automargin": True},
        yaxis={"title": {"text": f"PC2 ({explained[1]:.0%} of variance)"}, "range": _padded(coords[:, 1], 0.18),
               "zeroline": False, "automargin": True},
        showlegend=False,
    )  # fmt: skip


def _padded(values: np.ndarray, share: float) -> list[float]:
    """An axis range around values with room for the token labels and the ring at its ends."""
    low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 0.0)
    pad = share * (high - low) or 1.0
    return [low - pad, high + pad]
