"""Train live's chart: the loss and the exact match over the optimizer steps of a run. Pure; no st., no torch."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from .charts import ACCENT, MARGIN, SECOND, TOOLBAR_PX, _figure, _trace
from .style import NORMAL, ChartStyle


def curves(
    losses: Sequence[tuple[int, float]],
    accuracy: Sequence[tuple[int, float]],
    total: int,
    marked: int | None = None,
    style: ChartStyle = NORMAL,
) -> go.Figure:
    """Training loss per step (left axis) and exact match on held-out strings (right axis, 0 to 1) against the
    planned steps; `marked` draws a line at the step of the attention snapshot shown below."""
    data = [
        _trace(
            "scatter",
            x=[s for s, _ in losses],
            y=[v for _, v in losses],
            mode="lines",
            name="loss (cross-entropy per token)",
            line={"color": SECOND, "width": 2},
            hovertemplate="step %{x}<br>loss %{y:.3f}<extra></extra>",
        ),
        _trace(
            "scatter",
            x=[s for s, _ in accuracy],
            y=[v for _, v in accuracy],
            mode="lines+markers",
            name="exact match (held-out)",
            yaxis="y2",
            line={"color": ACCENT, "width": 2},
            marker={"size": style.marker_size},
            hovertemplate="step %{x}<br>exact match %{y:.0%}<extra></extra>",
        ),
    ]
    shapes = None
    if marked is not None:
        shapes = [
            {
                "type": "line",
                "x0": marked,
                "x1": marked,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": style.muted, "width": 2, "dash": "dot"},
            }
        ]
    plot_px = style.bar_px + 40 - (TOOLBAR_PX + 20 + 1.2 * style.title_size) - MARGIN["b"]
    return _figure(
        data,
        style.bar_px + 40 + int(1.7 * style.font_size) + 14,  # the plot, and a legend row under its axis
        "Training loss and exact match",
        style=style,
        xaxis={"title": {"text": "optimizer step"}, "range": [0, max(total, 1)]},
        yaxis={"title": {"text": "loss"}, "rangemode": "tozero"},
        yaxis2={
            "title": {"text": "exact match"},
            "overlaying": "y",
            "side": "right",
            "range": [0, 1.02],
            "tickvals": [0, 0.25, 0.5, 0.75, 1],
            "tickformat": ".0%",
        },
        legend={"orientation": "h", "x": 0, "y": -(3.2 * style.font_size + 14) / plot_px, "yanchor": "top"},
        shapes=shapes,
    )
