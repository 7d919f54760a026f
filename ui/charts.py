"""Pure chart functions: a Trace (or part of one) in, a plotly figure out. No Streamlit, no torch.

Every token that becomes a tick label, hover text or annotation goes through ui.text.chart_label (plotly renders
a subset of HTML). Categorical axes use integer positions with ticktext, so repeated tokens keep their own
row or column. Every attention map uses one perceptually uniform, colour-blind-safe scale (Viridis) on [0, 1].
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from .style import NORMAL, ChartStyle
from .text import chart_labels

if TYPE_CHECKING:  # charts read Traces but never import the core (which imports torch)
    from seq2seq_viz.trace import Step, Trace

ATTENTION_SCALE = "Viridis"  # perceptually uniform, colour-blind-safe; attention maps always span [0, 1]
STATE_SCALE = "RdBu"  # states and vectors are signed: a diverging ColorBrewer scale centred on 0
ACCENT = "#E69F00"  # Okabe-Ito orange: the chosen token, the divergence, the highlighted step
SECOND = "#0072B2"  # Okabe-Ito blue: the other series
MUTED = "#8C8C8C"  # readable on light and dark backgrounds
MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
TOOLBAR_PX = 34  # the band at the top of a titled figure where plotly's toolbar appears


class NoAttentionError(ValueError):
    """The trace comes from a fixed-context model (attention none): it has no attention matrix."""


def _figure(
    data: Sequence[dict],
    height: int,
    title: str | None = None,
    top: int = 0,
    style: ChartStyle = NORMAL,
    **layout: Any,
) -> go.Figure:
    """A figure with the lab's margins and the style's type; `top` is room for an axis drawn above the plot.

    Traces and layout are plain dicts wrapped without plotly's validation: building a figure from validated
    graph objects cost 10–40 ms, 90% of a Step-page click on a new sentence; this costs about 1 ms. The
    tests validate every chart through go.Figure(figure.to_dict()), so nothing invalid gets past them.
    """
    spec = {
        "data": [_typeset_trace(_drop_none(trace), style) for trace in data],
        "layout": _typeset_axes(
            _drop_none(
                {
                    "height": height + top,
                    "margin": {**MARGIN, "t": (TOOLBAR_PX + 20 + 1.2 * style.title_size if title else 10) + top},
                    "title": {
                        "text": title,
                        "x": 0,
                        "xanchor": "left",
                        "y": 1,
                        "yref": "container",
                        "yanchor": "top",
                        "pad": {"t": TOOLBAR_PX},  # below plotly's toolbar, which a phone shows over the title
                        "font": {"size": style.title_size},
                    }
                    if title
                    else None,
                    "font": {"size": style.font_size},
                    "hoverlabel": {"font": {"size": style.font_size}},
                    **layout,
                }
            ),
            style,
        ),
    }
    return go.Figure(spec, _validate=False)


def _typeset_axes(layout: dict, style: ChartStyle) -> dict:
    """Every axis's ticks and title in the style's type (Streamlit's plotly theme sets its own small sizes)."""
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            axis.setdefault("tickfont", {}).setdefault("size", style.font_size)
            if isinstance(axis.get("title"), dict):
                axis["title"].setdefault("font", {}).setdefault("size", style.font_size)
    if isinstance(layout.get("legend"), dict):
        layout["legend"].setdefault("font", {}).setdefault("size", style.font_size)
    return layout


def _typeset_trace(trace: dict, style: ChartStyle) -> dict:
    """A colour bar's ticks and title in the style's type."""
    colorbar = trace.get("colorbar")
    if isinstance(colorbar, dict):
        colorbar.setdefault("tickfont", {}).setdefault("size", style.font_size)
        if isinstance(colorbar.get("title"), dict):
            colorbar["title"].setdefault("font", {}).setdefault("size", style.font_size)
    return trace


def _trace(kind: str, **props: Any) -> dict:
    """One plotly trace as a dict: _trace("heatmap", z=z) is go.Heatmap(z=z) without the validation cost."""
    return {"type": kind, **props}


def _drop_none(spec: Any) -> Any:
    """Leave out the keys whose value is None, at every depth of dicts (None inside a list is data: a gap)."""
    if isinstance(spec, dict):
        return {key: _drop_none(value) for key, value in spec.items() if value is not None}
    if isinstance(spec, list) and spec and isinstance(spec[0], dict):
        return [_drop_none(item) for item in spec]
    return spec


def _axis(labels: list[str], title: str | None = None, **extra) -> dict:
    """A categorical axis over integer positions, so duplicate tokens keep their own row or column."""
    return {
        "tickmode": "array",
        "tickvals": list(range(len(labels))),
        "ticktext": labels,
        "title": {"text": title} if title else None,
        "showgrid": False,
        "zeroline": False,
        **extra,
    }


MIN_TICK_PX = 11  # the smallest tick type drawn; labels denser than that are thinned instead (hover names them all)
LINE = 1.15  # a tick label's line, in font sizes (tight line spacing): labels closer than that overlap


def _fit_ticks(axis: dict, px: float, style: ChartStyle, across: bool = False, keep: int | None = None) -> dict:
    """A categorical axis (_axis) whose labels fit `px` pixels of plot: the style's type while each label has a
    line to itself; then smaller type, down to MIN_TICK_PX; then every k-th label, counted so that label `keep`
    (the step being explained) is one of them. across: an x axis, whose tilted labels turn upright (-90°) before
    they shrink, as tilted ones need 1.4× the room. A long source on a projector otherwise draws its words over
    each other."""
    labels, n = axis["ticktext"], len(axis["ticktext"])
    if not n:
        return axis
    pitch = px / n  # pixels from one label's centre to the next
    room = pitch * (0.7 if across and axis.get("tickangle") else 1.0)  # across a -45° tilt, the lines are closer
    if room >= LINE * style.font_size:
        return axis
    if across:
        axis["tickangle"] = -90
    size = max(MIN_TICK_PX, int(pitch / LINE))
    step = math.ceil(LINE * size / pitch)
    axis["tickfont"] = {"size": min(size, style.font_size)}
    if step > 1:
        start = keep % step if keep is not None and 0 <= keep < n else 0
        axis["tickvals"], axis["ticktext"] = axis["tickvals"][start::step], labels[start::step]
    return axis


COLORBAR_PX = 90  # a heatmap's colour bar, its numbers and title, and the gap before it
Y_AXIS_PX = 90  # a bar chart's y axis (its numbers and title) and its margins


def plot_px(page_share: float, style: ChartStyle, inset: float) -> float:
    """About how many pixels wide a figure's plot is drawn when the figure gets `page_share` of the page's content
    width (style.content_px, the narrowest the page is laid out for) and `inset` of them go to its axis labels,
    colour bar and margins. Tick labels are fitted to it (_fit_ticks): a wider screen only gives them more room."""
    return max(style.content_px * page_share - inset, 1.0)


def _label_px(labels: list[str], style: ChartStyle) -> float:
    """About how wide the longest of these tick labels is drawn (a row's labels sit beside the plot)."""
    return style.char_px * max((len(html.unescape(label)) for label in labels), default=1)


def _tilted_px(axis: dict, style: ChartStyle) -> int:
    """The height an x axis's tilted or upright labels take beyond a flat row's (none for flat labels)."""
    angle = axis.get("tickangle") or 0
    if not angle:
        return 0
    size = (axis.get("tickfont") or {}).get("size", style.font_size)
    longest = max((len(html.unescape(label)) for label in axis["ticktext"]), default=1)
    return int((1.0 if angle == -90 else 0.6) * 0.62 * size * longest)


def _tick_angle(labels: list[str], room: int = 70, style: ChartStyle = NORMAL) -> int:
    """Tilt the tick labels when they would not fit side by side in about `room` characters of the lab's type
    (fewer of a larger type)."""
    widths = [len(html.unescape(label)) for label in labels]
    room = int(room * NORMAL.font_size / style.font_size)
    return -45 if sum(max(w, 2) + 1 for w in widths) > room else 0


@functools.lru_cache(maxsize=8)
def attention_scale(floor: float = 0.0) -> str | tuple[tuple[float, str], ...]:
    """Viridis over [0, 1], or the part of it from `floor` up (a dark page: its near-black start would vanish)."""
    if floor <= 0:
        return ATTENTION_SCALE
    stops = np.linspace(floor, 1.0, 11)
    colors = plotly.colors.sample_colorscale(ATTENTION_SCALE, list(stops))
    return tuple((i / 10, color) for i, color in enumerate(colors))


def attention_matrix(trace: Trace) -> np.ndarray:
    """α as an array of shape (T, S): one row per output token, one column per source token."""
    if trace.attention is None:
        raise NoAttentionError("This model has no attention (fixed context), so there is no attention map.")
    return np.asarray(trace.attention, dtype=float)


def energy_matrix(trace: Trace) -> np.ndarray:
    """e as an array of shape (T, S)."""
    if trace.steps and trace.steps[0].energies is None:
        raise NoAttentionError("This model has no attention (fixed context), so there are no energies.")
    return np.asarray([step.energies for step in trace.steps], dtype=float)


def source_labels(trace: Trace) -> list[str]:
    return chart_labels(trace.source_tokens, trace.unknown_source_tokens)


def output_labels(trace: Trace, mark_forced: bool = False) -> list[str]:
    labels = chart_labels(trace.output_tokens)
    if mark_forced:
        labels = [f"{label} ✎" if step.forced else label for label, step in zip(labels, trace.steps, strict=True)]
    return labels


def attention_heatmap(
    trace: Trace,
    highlight: int | None = None,
    title: str | None = "Attention weights α (rows: output, columns: source)",  # None: axis titles instead
    mark: int | None = None,
    mark_forced: bool = False,
    height: int | None = None,
    gold_rows: bool = False,
    narrow: bool = False,
    hide_from: int | None = None,
    page_share: float = 1.0,
    style: ChartStyle = NORMAL,
) -> go.Figure:
    """Source tokens on x, output tokens on y; hover shows the weight and the energy of each cell.

    highlight outlines row t (the step view); mark draws a dashed line above row t (the divergence);
    gold_rows labels the rows with the reference's tokens (teacher forcing: the token each step was asked for);
    narrow tilts the source labels sooner (a figure in a narrow column); hide_from leaves the rows from that one
    on empty and their outputs "?" (predict, then reveal), so nothing in the figure gives them away. page_share:
    the part of the page's content width the figure gets (a column's); the source labels fit the plot it leaves
    (plot_px), and with a fixed height the row labels fit that (_fit_ticks), so a long sentence's words never
    overlap.
    """
    weights = attention_matrix(trace)
    energies = energy_matrix(trace)
    xs, ys = source_labels(trace), output_labels(trace, mark_forced)
    if gold_rows and trace.reference_tokens is not None:
        ys = chart_labels(list(trace.reference_tokens[: len(trace.steps)]))
    hidden = len(ys) if hide_from is None else max(hide_from, 0)
    z: list[list[float | None]] = [list(row) for row in weights]
    hover = [
        [
            f"output {i}: {ys[i]}<br>source {j}: {xs[j]}<br>α = {weights[i, j]:.4f}<br>e = {energies[i, j]:.4f}"
            for j in range(len(xs))
        ]
        for i in range(len(ys))
    ]
    for i in range(hidden, len(ys)):
        ys[i], z[i], hover[i] = "?", [None] * len(xs), [f"output {i}: not revealed yet"] * len(xs)
    heatmap = attention_cells(z, hover, style, hoverongaps=True)
    xaxis = _axis(
        xs, None if title else "source", side="top", tickangle=_tick_angle(xs, room=30 if narrow else 70, style=style)
    )
    yaxis = _axis(ys, None if title else "output", autorange="reversed", automargin=True)
    xaxis = _fit_ticks(xaxis, plot_px(page_share, style, _label_px(ys, style) + COLORBAR_PX), style, across=True)
    if height:
        yaxis = _fit_ticks(yaxis, height - 10 - MARGIN["b"], style, keep=highlight)
    shapes = []
    if highlight is not None:
        for color, width in (("black", 5), ("white", 2)):  # a double outline reads on every colour of the scale
            shapes.append(
                {
                    "type": "rect",
                    "x0": -0.5,
                    "x1": len(xs) - 0.5,
                    "y0": highlight - 0.5,
                    "y1": highlight + 0.5,
                    "line": {"color": color, "width": width},
                }
            )
    if mark is not None:
        shapes.append(
            {
                "type": "line",
                "x0": -0.5,
                "x1": len(xs) - 0.5,
                "y0": mark - 0.5,
                "y1": mark - 0.5,
                "line": {"color": ACCENT, "width": 3, "dash": "dash"},
            }
        )
    return _figure(
        [heatmap],
        height or max(220, style.row_px * len(ys) + 60),
        title,
        top=int(1.6 * style.font_size + _tilted_px(xaxis, style)),
        style=style,
        xaxis=xaxis,
        yaxis=yaxis,
        shapes=shapes or None,
    )


def attention_cells(z: Any, hover: list[list[str]], style: ChartStyle = NORMAL, **extra: Any) -> dict:
    """The heatmap trace of an attention matrix (rows: output, columns: source) on the one α scale, [0, 1]."""
    rows, columns = len(z), len(z[0]) if len(z) else 0
    return _trace(
        "heatmap",
        z=z,
        x=list(range(columns)),
        y=list(range(rows)),
        zmin=0.0,
        zmax=1.0,
        colorscale=attention_scale(style.scale_floor),
        colorbar={"title": {"text": "α"}, "thickness": 12, "len": 0.9},
        text=hover,
        hovertemplate="%{text}<extra></extra>",
        xgap=1,
        ygap=1,
        **extra,
    )


def token_probabilities(
    trace: Trace,
    hide_from: int | None = None,
    narrow: bool = False,
    page_share: float = 1.0,
    style: ChartStyle = NORMAL,
) -> go.Figure:
    """Each output token with the probability the model gave it when it wrote it (hide_from: as in the heatmap).

    The probabilities sit inside the bars' hover and, when there is room, above them; labels tilt before they
    would touch (narrow: a figure in a narrow column; page_share: as in the heatmap).
    """
    labels = output_labels(trace, mark_forced=trace.mode == "forced_prefix")  # beam steps are "forced" replays
    probs: list[float | None] = [step.output_prob for step in trace.steps]
    if hide_from is not None:
        for i in range(max(hide_from, 0), len(labels)):
            labels[i], probs[i] = "?", None
    title = "p(y_t) of each output token"
    return probability_bars(labels, probs, title, room=30 if narrow else 60, page_share=page_share, style=style)


def probability_bars(
    labels: list[str],
    probs: list[float | None],
    title: str,
    room: int = 60,
    page_share: float = 1.0,
    style: ChartStyle = NORMAL,
) -> go.Figure:
    """One bar per token (labels already chart_label-escaped) with its probability; the values sit above the bars
    when `room` characters hold them, and labels tilt before they would touch; past that they stand upright,
    shrink and thin to fit the plot `page_share` of the page leaves (_fit_ticks)."""
    angle = _tick_angle(labels, room=room, style=style)
    crowded = len(labels) * 5 > room * NORMAL.font_size / style.font_size
    bars = _trace(
        "bar",
        x=list(range(len(labels))),
        y=probs,
        marker={"color": SECOND},
        text=None if crowded else ["" if p is None else f"{p:.2f}" for p in probs],
        textposition="outside",
        textfont={"size": style.font_size},
        customdata=labels,
        hovertemplate="%{customdata}<br>p = %{y:.4f}<extra></extra>",
        cliponaxis=False,
    )
    xaxis = _fit_ticks(
        _axis(labels, tickangle=angle, automargin=True), plot_px(page_share, style, Y_AXIS_PX), style, True
    )
    return _figure(
        [bars],
        style.bar_px + _tilted_px(xaxis, style),
        title,
        style=style,
        xaxis=xaxis,
        yaxis={"range": [0, 1.15], "title": {"text": "p"}, "tickvals": [0, 0.5, 1]},
        showlegend=False,
    )


def _row_labels(labels: list[str], room: int, style: ChartStyle) -> int:
    """How a row of evenly spaced token labels fits `room` characters of the lab's type: on 1 line, staggered over
    2 (or, for characters, up to 4) lines, or 0: each label turned upright.

    Two labels k slots apart touch when their half widths add up to more than k slots."""
    widths = [len(html.unescape(label)) + 1 for label in labels]
    slot = room * NORMAL.font_size / style.font_size / max(len(labels), 1)

    def fits(apart: int) -> bool:
        return all((widths[i] + widths[i + apart]) / 2 <= apart * slot for i in range(len(widths) - apart))

    characters = sorted(widths)[len(widths) // 2] <= 2  # a character-level model: upright letters read worse
    return next((lines for lines in (1, 2, 3, 4) if (lines < 3 or characters) and fits(lines)), 4 if characters else 0)


def alignment_view(trace: Trace, levels: int = 20, room: int = 30, style: ChartStyle = NORMAL) -> go.Figure:
    """Source tokens on top, output tokens below, joined by lines whose opacity is the attention weight.

    Lines are grouped into `levels` opacity buckets (one plotly trace each) so long sentences stay fast;
    weights below half a bucket are not drawn. On a dark page every drawn line is at least faintly visible.
    Labels never overlap: a row that does not fit `room` characters staggers, or stands its labels upright, and
    upright ones closer than a line of type are thinned to every k-th.
    """
    weights = attention_matrix(trace)
    xs, ys = source_labels(trace), output_labels(trace)
    n_src, n_out = len(xs), len(ys)
    width = max(n_src, n_out) - 1 or 1
    src_x = [j * width / max(n_src - 1, 1) for j in range(n_src)]
    out_x = [i * width / max(n_out - 1, 1) for i in range(n_out)]
    buckets: dict[int, tuple[list, list]] = {}
    floor = style.line_alpha_floor
    for i in range(n_out):
        for j in range(n_src):
            level = round(weights[i, j] * levels)
            if level == 0:
                continue
            line_x, line_y = buckets.setdefault(level, ([], []))
            line_x += [src_x[j], out_x[i], None]
            line_y += [1, 0, None]
    data: list[dict] = [
        _trace(
            "scatter",
            x=line_x,
            y=line_y,
            mode="lines",
            line={
                "color": f"rgba({style.line_rgb}, {floor + (1 - floor) * level / levels:.3f})",
                "width": 1 + 3 * level / levels,
            },
            hoverinfo="skip",
            showlegend=False,
        )
        for level, (line_x, line_y) in sorted(buckets.items())
    ]
    annotations: list[dict] = []
    extra = {"top": 0.0, "bottom": 0.0}  # px the labels need beyond one line of type, above and below
    font = {"size": style.font_size + 1}
    for positions, labels, y, side, name in (
        (src_x, xs, 1, "top", "source"),
        (out_x, ys, 0, "bottom", "output"),
    ):
        lines = _row_labels(labels, room, style)
        texts = labels
        if lines > 1:  # label i goes i mod lines lines further out (padded with blank lines toward the dots)
            texts = [
                "<br>".join([label, *[" "] * (i % lines)] if y else [*[" "] * (i % lines), label])
                for i, label in enumerate(labels)
            ]
            extra[side] = 1.3 * font["size"] * (lines - 1)
        elif lines == 0:  # upright; where even upright lines would touch, every k-th (the hover names them all)
            longest = max(len(html.unescape(label)) for label in labels)
            extra[side] = 0.62 * font["size"] * longest
            pitch = room * NORMAL.char_px / len(labels)  # px from one label to the next (room: NORMAL characters)
            every = math.ceil(LINE * font["size"] / pitch)
            annotations += [
                {"x": x, "y": y, "text": label, "textangle": -90, "showarrow": False, "font": font,
                 "yshift": (1 if y else -1) * (8 + 0.31 * font["size"] * len(html.unescape(label)))}
                for x, label in list(zip(positions, labels, strict=True))[::every]
            ]  # fmt: skip
        data.append(
            _trace(
                "scatter",
                x=positions,
                y=[y] * len(labels),
                mode="markers" if lines == 0 else "markers+text",
                text=None if lines == 0 else texts,
                textposition=f"{side} center",
                textfont=font,
                marker={"size": 7, "color": style.muted},
                customdata=labels,
                hovertemplate=f"{name} %{{pointNumber}}: %{{customdata}}<extra></extra>",
                showlegend=False,
                cliponaxis=False,
            )
        )
    label_px = 1.6 * font["size"]
    plot_px = style.bar_px - 2 * label_px  # the lines' own height; the labels get their own room
    top_px, bottom_px = label_px + extra["top"], label_px + extra["bottom"]
    return _figure(
        data,
        int(plot_px + top_px + bottom_px),
        "Alignment: line opacity = attention weight",
        style=style,
        xaxis={"visible": False, "range": [-0.8, width + 0.8]},
        yaxis={"visible": False, "range": [-bottom_px / plot_px, 1 + top_px / plot_px]},
        annotations=annotations or None,
        margin={
            **MARGIN,
            "l": 8 * style.font_size // 2,
            "r": 8 * style.font_size // 2,
            "t": TOOLBAR_PX + 20 + int(1.2 * style.title_size),
        },
    )


def topk_bars(
    step: Step, title: str | None = None, height: int | None = None, top: int | None = None, style: ChartStyle = NORMAL
) -> go.Figure:
    """The most probable next tokens at one step (the `top` first of them), the chosen one in orange and named."""
    ranked = list(step.topk[:top] if top else step.topk)
    chosen = [pair for pair in step.topk if pair[0] == step.output_token]
    if chosen and chosen[0] not in ranked:  # a sampled token below the cut is still the one to show
        ranked[-1] = chosen[0]
    tokens = [token for token, _ in ranked]
    probs = [prob for _, prob in ranked]
    labels = chart_labels(tokens)
    colors = [ACCENT if token == step.output_token else SECOND for token in tokens]
    texts = [f"{p:.3f} ◀ chosen" if token == step.output_token else f"{p:.3f}" for token, p in ranked]
    bars = _trace(
        "bar",
        x=probs,
        y=list(range(len(labels))),
        orientation="h",
        marker={"color": colors},
        text=texts,
        textposition="outside",
        textfont={"size": style.font_size},
        customdata=labels,
        hovertemplate="%{customdata}: p = %{x:.4f}<extra></extra>",
        cliponaxis=False,
    )
    return _figure(
        [bars],
        height or max(200, style.row_px * len(labels) + 60),
        title,
        style=style,
        xaxis={"range": [0, 1.35], "title": {"text": "p"}, "tickvals": [0, 0.5, 1]},
        yaxis=_axis(labels, autorange="reversed"),
        showlegend=False,
    )


def vector_strip(
    values: Sequence[float], name: str, height: int | None = None, style: ChartStyle = NORMAL
) -> go.Figure:
    """A vector (s_t, c_t, ŝ_t, ...) as one row of coloured cells, signed scale centred on 0."""
    row = np.asarray(values, dtype=float)[None, :]
    bound = max(float(np.abs(row).max()) if row.size else 1.0, 1e-6)
    heatmap = _trace(
        "heatmap",
        z=row,
        zmin=-bound,
        zmax=bound,
        colorscale=STATE_SCALE,
        showscale=False,
        hovertemplate=f"{name}[%{{x}}] = %{{z:.4f}}<extra></extra>",
    )
    return _figure(
        [heatmap],
        height or style.strip_px,
        None,
        style=style,
        xaxis={"showgrid": False, "zeroline": False, "title": {"text": "unit"}, "title_standoff": 2},
        yaxis={"visible": False},
    )


def matrix_heatmap(
    matrix: Sequence[Sequence[float]],
    row_labels: list[str],
    title: str | None,
    scale: str = STATE_SCALE,
    zmin: float | None = None,
    zmax: float | None = None,
    name: str = "value",
    height: int | None = None,
    style: ChartStyle = NORMAL,
) -> go.Figure:
    """Rows are tokens (time), columns are hidden units. Signed scales are centred on 0."""
    z = np.asarray(matrix, dtype=float)
    if zmin is None or zmax is None:
        bound = max(float(np.abs(z).max()) if z.size else 1.0, 1e-6)
        zmin, zmax = -bound, bound
    heatmap = _trace(
        "heatmap",
        z=z,
        y=list(range(len(row_labels))),
        zmin=zmin,
        zmax=zmax,
        colorscale=scale,
        colorbar={"thickness": 10, "len": 0.9, "nticks": 3},
        customdata=[[label] * z.shape[1] for label in row_labels] if z.ndim == 2 else None,
        hovertemplate=f"%{{customdata}} · unit %{{x}}<br>{name} = %{{z:.4f}}<extra></extra>",
    )
    height = height or max(160, style.unit_row_px * len(row_labels) + 80)
    titled = TOOLBAR_PX + 20 + 1.2 * style.title_size if title else 10
    plot = height - titled - MARGIN["b"] - 2.5 * style.font_size  # less the x axis's numbers and title
    return _figure(
        [heatmap],
        height,
        title,
        style=style,
        xaxis={"showgrid": False, "zeroline": False, "title": {"text": "hidden unit"}},
        yaxis=_fit_ticks(_axis(row_labels, autorange="reversed"), plot, style),
    )


def source_bars(
    values: Sequence[float],
    trace: Trace,
    name: str,
    probability: bool = False,
    height: int | None = None,
    page_share: float = 1.0,
    style: ChartStyle = NORMAL,
) -> go.Figure:
    """One value per source token (the energies e_t or the weights α_t of a step); the labels fit the plot `page_share`
    of the page leaves (_fit_ticks)."""
    labels = source_labels(trace)
    bars = _trace(
        "bar",
        x=list(range(len(labels))),
        y=list(values),
        marker={"color": SECOND if not probability else ACCENT},
        customdata=labels,
        hovertemplate=f"%{{customdata}}: {name} = %{{y:.4f}}<extra></extra>",
    )
    yaxis = {"range": [0, 1.05], "tickvals": [0, 0.5, 1]} if probability else {"zeroline": True}
    xaxis = _axis(labels, tickangle=_tick_angle(labels, style=style), automargin=True)
    xaxis = _fit_ticks(xaxis, plot_px(page_share, style, Y_AXIS_PX), style, across=True)
    return _figure(
        [bars],
        height or style.bar_px - 30,
        None,
        style=style,
        xaxis=xaxis,
        yaxis={**yaxis, "title": {"text": name}},
        showlegend=False,
    )


def step_tensor(
    trace: Trace,
    t: int,
    tensor: str,
    symbol: str,
    max_px: int | None = None,
    page_share: float = 1.0,
    style: ChartStyle = NORMAL,
) -> go.Figure:
    """The live tensor beside one equation of step t's chain (tensor: a Step field or an encoder-side name).

    max_px caps the height of the taller tensors (H, the top-k), so a slide keeps to one screen; page_share: the part
    of the page's width the figure gets, which a long source's labels are fitted to."""
    step = trace.steps[t]

    def capped(height: int) -> int:
        return min(height, max_px) if max_px else height

    if tensor == "encoder_states":
        rows = len(trace.source_tokens)
        height = capped(60 + int(0.8 * style.unit_row_px) * rows)
        return matrix_heatmap(trace.encoder["states"], source_labels(trace), None, name="h", height=height, style=style)
    if tensor == "energies":
        return source_bars(step.energies, trace, "e", page_share=page_share, style=style)
    if tensor == "weights":
        return source_bars(step.weights, trace, "α", probability=True, page_share=page_share, style=style)
    if tensor == "probs":
        fit = len(step.topk) if not max_px else max(3, (max_px - 60) // style.row_px)  # rows of readable type
        return topk_bars(step, height=capped(max(200, style.row_px * len(step.topk) + 60)), top=fit, style=style)
    if tensor == "fixed_context":
        return vector_strip(trace.encoder["context"], "c", style=style)
    if tensor == "initial_state":
        return vector_strip(trace.encoder["initial_state"][-1], "s_0", style=style)
    return vector_strip(getattr(step, tensor), symbol, style=style)


def pca_2d(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project rows onto the first two principal components (numpy SVD).

    Returns (coordinates (N, 2), explained variance ratio (2,)). Fewer than two components pad with zeros.
    """
    x = np.asarray(matrix, dtype=float)
    centred = x - x.mean(axis=0, keepdims=True)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    k = min(2, vt.shape[0])
    coords = np.zeros((x.shape[0], 2))
    coords[:, :k] = centred @ vt[:k].T
    variance = singular**2
    explained = np.zeros(2)
    if variance.sum() > 0:
        explained[:k] = variance[:k] / variance.sum()
    return coords, explained


def divergence_step(free_running: Trace) -> int | None:
    """The first step where the free-running output differs from the gold token (None if it never does)."""
    gold = free_running.reference_tokens
    if gold is None:
        return None
    output = free_running.output_tokens
    for t in range(max(len(gold), len(output))):
        if t >= len(gold) or t >= len(output) or gold[t] != output[t]:
            return t
    return None


def teacher_forcing_comparison(teacher: Trace, free_running: Trace, style: ChartStyle = NORMAL) -> go.Figure:
    """p(gold token) at each step when the gold prefix is fed vs when the model's own output is fed."""
    gold = chart_labels(teacher.reference_tokens or [])
    data = [
        _trace(
            "scatter",
            x=list(range(len(teacher.steps))),
            y=[step.gold_prob for step in teacher.steps],
            mode="lines+markers",
            name="teacher-forced: p(gold)",
            marker={"color": SECOND, "symbol": "circle", "size": style.marker_size},
            line={"color": SECOND},
            customdata=gold[: len(teacher.steps)],
            hovertemplate="step %{x}, gold %{customdata}<br>p = %{y:.4f}<extra></extra>",
        ),
        _trace(
            "scatter",
            x=[step.t for step in free_running.steps if step.gold_prob is not None],
            y=[step.gold_prob for step in free_running.steps if step.gold_prob is not None],
            mode="lines+markers",
            name="free-running: p(gold)",
            marker={"color": ACCENT, "symbol": "diamond", "size": style.marker_size},
            line={"color": ACCENT, "dash": "dot"},
            customdata=gold,
            hovertemplate="step %{x}, gold %{customdata}<br>p = %{y:.4f}<extra></extra>",
        ),
    ]
    diverged = divergence_step(free_running)
    marks = {}
    if diverged is not None:
        marks = {
            "shapes": [
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "paper",
                    "x0": diverged,
                    "x1": diverged,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": ACCENT, "width": 2, "dash": "dash"},
                }
            ],
            "annotations": [
                {"x": diverged, "y": 1.05, "text": "diverges", "showarrow": False, "font": {"color": ACCENT}}
            ],
        }
    return _figure(
        data,
        style.bar_px + 50,
        "Probability of the gold token at each step",
        style=style,
        xaxis=_axis(gold, "step (gold token)"),
        yaxis={"range": [0, 1.05], "title": {"text": "p(gold)"}},
        legend={"orientation": "h", "y": -0.3},
        **marks,
    )
