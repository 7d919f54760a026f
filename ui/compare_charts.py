"""Charts and rows of the Compare page: several models' Traces (or model cards) of one input in, figures out.

No Streamlit and no torch. Model i of a comparison has model_colours(n)[i] in every chart (Okabe–Ito, colour-blind
safe), so a colour names one model across the page. Tokens go through chart_labels, model labels through _legend.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go

from .charts import MARGIN, MUTED, TOOLBAR_PX, _figure, _trace
from .style import NORMAL, ChartStyle
from .text import chart_labels
from .zoo_charts import bucket_bounds, longest_seen, metrics_of
from .zoo_charts import by_length as _card_by_length

if TYPE_CHECKING:  # charts read Traces but never import the core (which imports torch)
    from seq2seq_viz.trace import Trace

Entry = Mapping[str, Any]

# Okabe–Ito, without yellow (too light on white) and black (the page's text): blue and orange first, the lab's own
# SECOND and ACCENT. On a dark page the light sky blue leads instead of the darker blue.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
PALETTE_DARK = ("#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#0072B2", "#D55E00")
LEGEND = {"orientation": "h", "x": 0, "xanchor": "left", "yanchor": "top"}


def _below(data: list[dict], height: int, style: ChartStyle, per_row: int = 2) -> tuple[int, dict]:
    """A legend under the x-axis title that never squeezes the plot: (the height it adds, the legend layout).

    Plotly makes room for a legend outside the plot by shrinking the plot, so a class's four models and their
    uniform line (three rows in half a projected page) left a 70 px plot. The figure grows by the legend's rows
    instead, and the legend starts below the axis's ticks and title (its y is in units of the plot's height:
    `height` less _figure's margins for a titled figure)."""
    plot_px = height - (TOOLBAR_PX + 20 + 1.2 * style.title_size) - MARGIN["b"]
    entries = sum(1 for trace in data if trace.get("showlegend", True) is not False and trace.get("name"))
    rows = math.ceil(entries / per_row)
    row_px = int(1.7 * style.font_size) + 4
    axis_px = int(3.2 * style.font_size) + 14  # tick labels, then the axis title
    return rows * row_px + 10, {**LEGEND, "y": -axis_px / plot_px, "font": {"size": style.font_size - 1}}


def _legend(label: str) -> str:
    """A model's label as plotly text: escaped like a token (plotly renders a subset of HTML, "$…$" is MathJax),
    but its spaces stay spaces (chart_label shows a token's spaces as ␣)."""
    return html.escape(label, quote=False).replace("$", "&#36;")


def model_colours(n: int, style: ChartStyle = NORMAL) -> tuple[str, ...]:
    """The colours of n compared models, model i always colour i (distinct for up to len(PALETTE) models)."""
    palette = PALETTE_DARK if style.dark else PALETTE
    if not 0 <= n <= len(palette):
        raise ValueError(f"A comparison shows 1 to {len(palette)} models, not {n}.")
    return palette[:n]


def _check_labels(traces: Sequence[Any], labels: Sequence[str]) -> None:
    if len(traces) != len(labels):
        raise ValueError(f"Each trace needs one label: {len(traces)} traces, {len(labels)} labels.")


def entropy(trace: Trace) -> np.ndarray | None:
    """H(α_t) = −Σ_j α_tj log₂ α_tj in bits, one value per output step (0 log 0 = 0); None for attention none.

    0 bits: all attention on one source token; log₂ S bits: spread evenly over the S source tokens (with <eos>)."""
    if trace.attention is None:
        return None
    weights = np.asarray(trace.attention, dtype=float)  # (T, S)
    # Each row sums to 1 in the model; the Trace rounds to 6 decimals, so renormalize before taking logs.
    weights = weights / weights.sum(axis=1, keepdims=True)
    logs = np.log2(weights, out=np.zeros_like(weights), where=weights > 0)
    return np.maximum(-(weights * logs).sum(axis=1), 0.0)  # a one-hot row is −0.0 (or −1e-16); show it as 0


def _step_line(trace: Trace, values: Sequence[float], label: str, colour: str, what: str, style: ChartStyle) -> dict:
    """One model's line over its output steps; the hover names the model, the step, its token and the value."""
    name = _legend(label)
    return _trace(
        "scatter",
        x=[step.t for step in trace.steps],
        y=list(values),
        name=name,
        mode="lines+markers",
        line={"color": colour, "width": 2.5},
        marker={"color": colour, "size": style.marker_size - 2},
        customdata=chart_labels(trace.output_tokens),
        hovertemplate=f"{name}<br>step %{{x}}: %{{customdata}}<br>{what} = %{{y:.3f}}<extra></extra>",
        cliponaxis=False,
    )


def _steps_axis(traces: Sequence[Trace]) -> dict:
    longest = max((len(trace.steps) for trace in traces), default=1)
    return {
        "title": {"text": "output step t"},
        "range": [-0.3, max(longest - 1, 1) + 0.3],
        "dtick": 1 if longest <= 20 else None,
        "zeroline": False,
    }


def entropy_lines(traces: tuple, labels: tuple[str, ...], style: ChartStyle = NORMAL) -> go.Figure:
    """One line per model: the entropy of α_t (bits) at each output step, with log₂ S, attention spread evenly
    over the S source tokens, as a dashed line (one in grey when every model read the same S tokens, else one in
    each model's colour). A model without attention has a greyed legend entry "(no attention)" and no line."""
    _check_labels(traces, labels)
    colours = model_colours(len(traces), style)
    data: list[dict] = []
    for trace, label, colour in zip(traces, labels, colours, strict=True):
        values = entropy(trace)
        if values is None:
            data.append(
                _trace("scatter", x=[0], y=[None], name=f"{_legend(label)} (no attention)", mode="lines",
                       line={"color": colour, "width": 2.5}, visible="legendonly")  # named, greyed, no line
            )  # fmt: skip
        else:
            data.append(_step_line(trace, values, label, colour, "H", style))
    x_axis = _steps_axis(traces)
    end = x_axis["range"]
    sizes = {len(trace.source_tokens) for trace in traces if trace.attention is not None}
    if len(sizes) == 1:  # the usual case: every model read the same source tokens
        data.append(_uniform_line(next(iter(sizes)), "uniform", style.muted, end))
    else:
        for trace, label, colour in zip(traces, labels, colours, strict=True):
            if trace.attention is not None:
                data.append(_uniform_line(len(trace.source_tokens), f"{_legend(label)}: uniform", colour, end))
    top = max([math.log2(n) for n in sizes if n > 1], default=1.0)
    title = "Entropy of α_t: how spread the attention is"  # a model without attention: greyed in the legend
    extra, legend = _below(data, style.bar_px + 40, style)
    return _figure(
        data,
        style.bar_px + 40 + extra,
        title,
        style=style,
        xaxis=x_axis,
        yaxis={"title": {"text": "H(α_t) in bits"}, "range": [0, 1.08 * top], "zeroline": True},
        legend=legend,
        showlegend=True,
    )


def _uniform_line(size: int, name: str, colour: str, x: list[float]) -> dict:
    """The dashed log₂ S: the entropy of attention spread evenly over S source tokens."""
    bits = math.log2(size)
    return _trace(
        "scatter",
        x=x,
        y=[bits, bits],
        name=f"{name}: log₂ {size} = {bits:.2f}",
        legendgroup="uniform",
        mode="lines",
        line={"color": colour, "dash": "dash", "width": 1.5},
        hovertemplate=f"α spread evenly over {size} source tokens: log₂ {size} = {bits:.3f} bits<extra></extra>",
    )


def output_prob_lines(traces: tuple, labels: tuple[str, ...], style: ChartStyle = NORMAL) -> go.Figure:
    """One line per model: p(y_t), the probability the model gave the token it wrote at step t, on [0, 1]."""
    _check_labels(traces, labels)
    colours = model_colours(len(traces), style)
    data = [
        _step_line(trace, [step.output_prob for step in trace.steps], label, colour, "p", style)
        for trace, label, colour in zip(traces, labels, colours, strict=True)
    ]
    extra, legend = _below(data, style.bar_px + 40, style)
    return _figure(
        data,
        style.bar_px + 40 + extra,
        "p(y_t): the probability of each token written",
        style=style,
        xaxis=_steps_axis(traces),
        yaxis={"title": {"text": "p(y_t)"}, "range": [0, 1], "tickvals": [0, 0.25, 0.5, 0.75, 1]},
        legend=legend,
        showlegend=True,
    )


def _length_series(entries: Sequence[tuple[str, Entry]]) -> tuple[str, list[tuple[int, str, dict[str, float]]]]:
    """(what is measured, [(index in entries, label, {bucket: value})]) of the entries that have by-length metrics
    of the first such entry's measure (BLEU or exact match %)."""
    measured, series = "", []
    for i, (label, entry) in enumerate(entries):
        what, buckets, values = _card_by_length(entry)
        if not buckets or (measured and what != measured):
            continue
        measured = measured or what
        series.append((i, label, dict(zip(buckets, values, strict=True))))
    return measured, series


def by_length(entries: tuple, length: int | None = None, style: ChartStyle = NORMAL) -> go.Figure | None:
    """Each model's test score by source length (BLEU for translation, exact match % for the other tasks, the
    unseen lengths of test_long after the trained ones): one line with markers per model over the length buckets
    in order, and a band at the bucket that holds the input's `length` labelled "your input: N words" (or
    characters). Past the last bucket the band sits in one more slot at the right edge, labelled as longer than
    the test set; below the first, in the first bucket's slot, labelled as shorter. None when no model's card has
    by-length metrics.

    entries: ((label, manifest entry), ...) in the order of the other compare charts, so the colours agree."""
    measured, series = _length_series(entries)
    if not series:
        return None
    colours = model_colours(len(entries), style)
    buckets = sorted({b for _, _, values in series for b in values}, key=bucket_bounds)
    translation = measured == "BLEU"
    unit = "words" if translation else "characters"
    data = [
        _trace(
            "scatter",
            x=[i for i, b in enumerate(buckets) if b in values],
            y=[values[b] for b in buckets if b in values],
            name=_legend(label),
            mode="lines+markers",
            line={"color": colours[index], "width": 2.5},
            marker={"color": colours[index], "size": style.marker_size},
            customdata=[b for b in buckets if b in values],
            hovertemplate=f"{_legend(label)}<br>%{{customdata}} {unit}: {measured} %{{y:.1f}}<extra></extra>",
            cliponaxis=False,
        )
        for index, label, values in series
    ]
    ticks = list(buckets)
    shapes, annotations = [], []
    trained = [n for n in (longest_seen(entry) for _, entry in entries) if n is not None]
    if length is not None:
        where, note = _slot(buckets, length)
        if where == len(buckets):
            last = bucket_bounds(buckets[-1])
            ticks.append(f"&gt; {last[1]}" if last[1] is not None else "longer")
            note = "longer than anything in the test set" if trained else "longer than the lengths measured"
        elif trained and length > max(trained):
            note = "longer than training"
        shapes.append(
            {"type": "rect", "xref": "x", "yref": "paper", "x0": where - 0.45, "x1": where + 0.45, "y0": 0, "y1": 1,
             "fillcolor": MUTED, "opacity": 0.22, "line": {"width": 0}, "layer": "below"}
        )  # fmt: skip
        text = f"your input: {length} {unit if length != 1 else unit[:-1]}" + (f"<br>{note}" if note else "")
        # centred over the band, or flush with its outer edge in the first and last slot, so it is never cut off
        anchor, shift = ("left", -0.45) if where == 0 else ("right", 0.45) if where == len(ticks) - 1 else ("center", 0)
        annotations.append(
            {"x": where + shift, "xref": "x", "xanchor": anchor, "y": 1, "yref": "paper", "yanchor": "bottom",
             "text": text, "align": anchor, "showarrow": False, "font": {"size": style.font_size}}
        )  # fmt: skip
    unseen = sorted({n for n in trained if bucket_bounds(buckets[-1])[0] > n})
    title = f"Test {measured} by {'source' if translation else 'input'} length"
    if unseen and not translation:
        title += f" (past {unseen[0]} {unit}: never seen in training)"
    extra, legend = _below(data, style.bar_px + 60, style, per_row=4)  # the page's full width
    return _figure(
        data,
        style.bar_px + 60 + extra,
        title,
        top=int(2.6 * style.font_size) if length is not None else 0,
        style=style,
        xaxis={
            "tickmode": "array",
            "tickvals": list(range(len(ticks))),
            "ticktext": ticks,
            "range": [-0.5, len(ticks) - 0.5],
            "title": {"text": f"source length ({unit})"},
            "showgrid": False,
            "zeroline": False,
        },
        yaxis={"title": {"text": measured}, "rangemode": "tozero"},
        shapes=shapes or None,
        annotations=annotations or None,
        legend=legend,
        showlegend=True,
    )


def _slot(buckets: list[str], length: int) -> tuple[float, str]:
    """Where the input's length goes on the by-length axis: (position, note). The bucket that holds it; between
    two buckets when it falls in a gap (a bucket no test sentence filled); len(buckets) when past the last."""
    bounds = [bucket_bounds(b) for b in buckets]
    for i, (low, high) in enumerate(bounds):
        if low <= length and (high is None or length <= high):
            return i, ""
        if length < low:
            return (0, "shorter than the test set") if i == 0 else (i - 0.5, "no test bucket")
    return len(buckets), ""


def metrics_rows(entries: tuple) -> list[dict[str, Any]]:
    """One row per model for a table: model (its name), cell, attention, every test metric these models' task has
    (BLEU or exact match %, character accuracy %, AER, …, as zoo_charts names and rounds them; None where a
    model lacks one) and parameters. Numbers stay numbers."""
    by_name = {label: entry for label, entry in entries}
    metrics = metrics_of(by_name)
    rows = []
    for label, entry in entries:
        config = entry.get("config") or {}
        row: dict[str, Any] = {
            "model": str(entry.get("name") or label),
            "cell": config.get("cell"),
            "attention": config.get("attention"),
        }
        for metric in metrics:
            value = metric.value(entry)
            row[metric.label] = None if value is None else metric.rounded(value)
        parameters = entry.get("parameters")
        row["parameters"] = int(parameters) if isinstance(parameters, int | float) else None
        rows.append(row)
    return rows


def input_length(trace: Trace) -> int:
    """The input's length as the cards' by-length metrics count it (seq2seq_viz.evaluate.source_length):
    characters for a character-level model, words without punctuation for a word-level one; <eos> not counted."""
    tokens = trace.source_tokens[:-1] if trace.source_tokens[-1:] == ["<eos>"] else trace.source_tokens
    if (trace.model or {}).get("level") == "char":
        return len(tokens)
    return sum(any(c.isalnum() for c in token) for token in tokens)
