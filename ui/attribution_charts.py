"""Attention beside attribution: the attribution matrix on α's scale, one step's two distributions as bars, and
their agreement step by step (Trace -> figures; no st. calls, no torch)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from seq2seq_viz.agreement import agreement, shares
from seq2seq_viz.trace import Trace

from .charts import (
    ACCENT,
    COLORBAR_PX,
    MUTED,
    SECOND,
    Y_AXIS_PX,
    _axis,
    _figure,
    _fit_ticks,
    _label_px,
    _tick_angle,
    _tilted_px,
    _trace,
    attention_cells,
    output_labels,
    plot_px,
    source_labels,
)
from .style import NORMAL, ChartStyle

HALF = 0.5  # every figure of the Attribution page sits in one of two columns


def attribution_heatmap(
    trace: Trace, method: str, highlight: int | None = None, page_share: float = HALF, style: ChartStyle = NORMAL
) -> go.Figure:
    """The attribution's share of each source token per output step, s_tj = |a_tj| / Σ_k |a_tk|, on the α scale
    [0, 1], so it reads beside the attention heatmap; hover gives the signed a_tj too. The source labels fit the
    plot `page_share` of the page leaves (ui.charts.plot_px)."""
    signed = trace.attribution[method].array
    part = shares(signed)
    xs, ys = source_labels(trace), output_labels(trace)
    hover = [
        [
            f"output {i}: {ys[i]}<br>source {j}: {xs[j]}<br>share = {part[i, j]:.3f}<br>a = {signed[i, j]:+.4f}"
            for j in range(len(xs))
        ]
        for i in range(len(ys))
    ]
    heatmap = attention_cells(part.tolist(), hover, style)
    heatmap["colorbar"] = {**heatmap["colorbar"], "title": {"text": "share"}}
    shapes = []
    if highlight is not None:
        for color, width in (("black", 5), ("white", 2)):
            shapes.append({"type": "rect", "x0": -0.5, "x1": len(xs) - 0.5, "y0": highlight - 0.5,
                           "y1": highlight + 0.5, "line": {"color": color, "width": width}})  # fmt: skip
    xaxis = _axis(xs, "source", side="top", tickangle=_tick_angle(xs, room=30, style=style))  # a half-width column
    xaxis = _fit_ticks(xaxis, plot_px(page_share, style, _label_px(ys, style) + COLORBAR_PX), style, across=True)
    return _figure(
        [heatmap],
        max(220, style.row_px * len(ys) + 60),
        None,
        top=int(1.6 * style.font_size + _tilted_px(xaxis, style)),
        style=style,
        xaxis=xaxis,
        yaxis=_axis(ys, "output", autorange="reversed", automargin=True),
        shapes=shapes or None,
    )


def step_bars(trace: Trace, method: str, t: int, page_share: float = HALF, style: ChartStyle = NORMAL) -> go.Figure:
    """Step t: α_t and the attribution's share s_t per source token, side by side (α only when the model has it);
    the labels fit the plot `page_share` of the page leaves."""
    xs = source_labels(trace)
    part = shares(trace.attribution[method].array)[t]
    bars = []
    if trace.attention is not None:
        bars.append(_trace("bar", x=list(range(len(xs))), y=list(trace.attention[t]), name="attention α",
                           marker={"color": SECOND}, customdata=xs,
                           hovertemplate="%{customdata}: α = %{y:.3f}<extra></extra>"))  # fmt: skip
    bars.append(_trace("bar", x=list(range(len(xs))), y=list(part), name="attribution share",
                       marker={"color": ACCENT}, customdata=xs,
                       hovertemplate="%{customdata}: share = %{y:.3f}<extra></extra>"))  # fmt: skip
    xaxis = _axis(xs, tickangle=_tick_angle(xs, room=30, style=style), automargin=True)  # a half-width column
    xaxis = _fit_ticks(xaxis, plot_px(page_share, style, Y_AXIS_PX), style, across=True)
    return _figure(
        bars,
        style.bar_px + _tilted_px(xaxis, style),  # room for tilted labels
        None,
        style=style,
        barmode="group",
        xaxis=xaxis,
        yaxis={"range": [0, 1.05], "tickvals": [0, 0.5, 1], "title": {"text": "weight"}},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},  # above: the tilted labels are below
    )


def agreement_lines(
    trace: Trace, method: str, highlight: int | None = None, page_share: float = HALF, style: ChartStyle = NORMAL
) -> go.Figure:
    """Spearman's ρ between α_t and the attribution's share at each step; a filled marker where the most
    attended source token is also the most attributed one, a hollow one where it is not (labels fitted to the
    plot `page_share` of the page leaves)."""
    found = agreement(trace.attention, trace.attribution[method].array)
    ys = output_labels(trace)
    rho = [np.nan if r is None else r for r in found["spearman"]]
    symbols = ["circle" if match else "circle-open" for match in found["top_match"]]
    line = _trace(
        "scatter",
        x=list(range(len(ys))),
        y=rho,
        mode="lines+markers",
        line={"color": SECOND},
        marker={"symbol": symbols, "size": style.marker_size + 3, "color": SECOND, "line": {"width": 2}},
        customdata=[["yes" if m else "no"] for m in found["top_match"]],
        hovertemplate="step %{x}: ρ = %{y:.2f}<br>same top token: %{customdata[0]}<extra></extra>",
        showlegend=False,
    )
    shapes = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": 0,
               "line": {"color": MUTED, "width": 1, "dash": "dot"}}]  # fmt: skip
    if highlight is not None:
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": highlight - 0.5, "x1": highlight + 0.5,
                       "y0": 0, "y1": 1, "fillcolor": ACCENT, "opacity": 0.15, "line": {"width": 0}})  # fmt: skip
    return _figure(
        [line],
        style.bar_px,
        None,
        style=style,
        xaxis=_fit_ticks(
            _axis(ys, "output step", tickangle=_tick_angle(ys, room=30, style=style), automargin=True),
            plot_px(page_share, style, Y_AXIS_PX),
            style,
            across=True,
        ),
        yaxis={"range": [-1.05, 1.05], "tickvals": [-1, 0, 1], "title": {"text": "Spearman ρ"}},
        shapes=shapes,
    )
