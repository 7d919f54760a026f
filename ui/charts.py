"""Pure chart functions: a Trace (or part of one) in, a plotly figure out. No Streamlit, no torch.

Every token that becomes a tick label, hover text or annotation goes through ui.text.chart_label (plotly renders
a subset of HTML). Categorical axes use integer positions with ticktext, so repeated tokens keep their own
row or column. Every attention map uses one perceptually uniform, colour-blind-safe scale (Viridis) on [0, 1].
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go

from .text import chart_labels

if TYPE_CHECKING:  # charts read Traces but never import the core (which imports torch)
    from seq2seq_viz.trace import Step, Trace

ATTENTION_SCALE = "Viridis"  # perceptually uniform, colour-blind-safe; attention maps always span [0, 1]
GATE_SCALE = "Cividis"  # gates are sigmoids in [0, 1]
STATE_SCALE = "RdBu"  # states and vectors are signed: a diverging ColorBrewer scale centred on 0
ACCENT = "#E69F00"  # Okabe-Ito orange: the chosen token, the divergence, the highlighted step
SECOND = "#0072B2"  # Okabe-Ito blue: the other series
MUTED = "#8C8C8C"  # readable on light and dark backgrounds
LINE_COLOR = "0, 114, 178"  # alignment lines (Okabe-Ito blue), alpha = the weight
MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


class NoAttentionError(ValueError):
    """The trace comes from a fixed-context model (attention none): it has no attention matrix."""


def _figure(data: Sequence[dict], height: int, title: str | None = None, top: int = 0, **layout: Any) -> go.Figure:
    """A figure with the lab's margins; `top` is room for an axis drawn above the plot.

    Traces and layout are plain dicts wrapped without plotly's validation: building a figure from validated
    graph objects cost 10–40 ms, 90% of a Step-page click on a new sentence; this costs about 1 ms. The
    tests validate every chart through go.Figure(figure.to_dict()), so nothing invalid gets past them.
    """
    spec = {
        "data": [_drop_none(trace) for trace in data],
        "layout": _drop_none(
            {
                "height": height + top,
                "margin": {**MARGIN, "t": (40 if title else 10) + top},
                "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 14}} if title else None,
                **layout,
            }
        ),
    }
    return go.Figure(spec, _validate=False)


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


def _tick_angle(labels: list[str], room: int = 70) -> int:
    """Tilt the tick labels when they would not fit side by side in about `room` characters."""
    widths = [len(html.unescape(label)) for label in labels]
    return -45 if sum(max(w, 2) + 1 for w in widths) > room else 0


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
) -> go.Figure:
    """Source tokens on x, output tokens on y; hover shows the weight and the energy of each cell.

    highlight outlines row t (the step view); mark draws a dashed line above row t (the divergence);
    gold_rows labels the rows with the reference's tokens (teacher forcing: the token each step was asked for);
    narrow tilts the source labels sooner (a figure in a narrow column).
    """
    weights = attention_matrix(trace)
    energies = energy_matrix(trace)
    xs, ys = source_labels(trace), output_labels(trace, mark_forced)
    if gold_rows and trace.reference_tokens is not None:
        ys = chart_labels(list(trace.reference_tokens[: len(trace.steps)]))
    hover = [
        [
            f"output {i}: {ys[i]}<br>source {j}: {xs[j]}<br>α = {weights[i, j]:.4f}<br>e = {energies[i, j]:.4f}"
            for j in range(len(xs))
        ]
        for i in range(len(ys))
    ]
    heatmap = _trace(
        "heatmap",
        z=weights,
        x=list(range(len(xs))),
        y=list(range(len(ys))),
        zmin=0.0,
        zmax=1.0,
        colorscale=ATTENTION_SCALE,
        colorbar={"title": {"text": "α"}, "thickness": 12, "len": 0.9},
        text=hover,
        hovertemplate="%{text}<extra></extra>",
        xgap=1,
        ygap=1,
    )
    angle = _tick_angle(xs, room=30 if narrow else 70)
    longest = max((len(html.unescape(x)) for x in xs), default=1)
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
        height or max(220, 24 * len(ys) + 60),
        title,
        top=30 + (7 * longest if angle else 0),
        xaxis=_axis(xs, None if title else "source", side="top", tickangle=angle),
        yaxis=_axis(ys, None if title else "output", autorange="reversed"),
        shapes=shapes or None,
    )


def token_probabilities(trace: Trace) -> go.Figure:
    """Each output token with the probability the model gave it when it wrote it."""
    labels = output_labels(trace, mark_forced=trace.mode == "forced_prefix")  # beam steps are "forced" replays
    probs = [step.output_prob for step in trace.steps]
    bars = _trace(
        "bar",
        x=list(range(len(labels))),
        y=probs,
        marker={"color": SECOND},
        text=[f"{p:.2f}" for p in probs],
        textposition="outside",
        customdata=labels,
        hovertemplate="%{customdata}<br>p = %{y:.4f}<extra></extra>",
        cliponaxis=False,
    )
    return _figure(
        [bars],
        230,
        "p(y_t) of each output token",
        xaxis=_axis(labels, tickangle=_tick_angle(labels)),
        yaxis={"range": [0, 1.15], "title": {"text": "p"}, "tickvals": [0, 0.5, 1]},
        showlegend=False,
    )


def alignment_view(trace: Trace, levels: int = 20) -> go.Figure:
    """Source tokens on top, output tokens below, joined by lines whose opacity is the attention weight.

    Lines are grouped into `levels` opacity buckets (one plotly trace each) so long sentences stay fast;
    weights below half a bucket are not drawn.
    """
    weights = attention_matrix(trace)
    xs, ys = source_labels(trace), output_labels(trace)
    n_src, n_out = len(xs), len(ys)
    width = max(n_src, n_out) - 1 or 1
    src_x = [j * width / max(n_src - 1, 1) for j in range(n_src)]
    out_x = [i * width / max(n_out - 1, 1) for i in range(n_out)]
    buckets: dict[int, tuple[list, list]] = {}
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
            line={"color": f"rgba({LINE_COLOR}, {level / levels:.3f})", "width": 1 + 3 * level / levels},
            hoverinfo="skip",
            showlegend=False,
        )
        for level, (line_x, line_y) in sorted(buckets.items())
    ]
    for positions, labels, y, where, name in (
        (src_x, xs, 1, "top center", "source"),
        (out_x, ys, 0, "bottom center", "output"),
    ):
        data.append(
            _trace(
                "scatter",
                x=positions,
                y=[y] * len(labels),
                mode="markers+text",
                text=labels,
                textposition=where,
                textfont={"size": 14},
                marker={"size": 7, "color": MUTED},
                hovertemplate=f"{name} %{{pointNumber}}: %{{text}}<extra></extra>",
                showlegend=False,
            )
        )
    return _figure(
        data,
        230,
        "Alignment: line opacity = attention weight",
        xaxis={"visible": False, "range": [-0.8, width + 0.8]},
        yaxis={"visible": False, "range": [-0.45, 1.45]},
    )


def topk_bars(step: Step, title: str | None = None) -> go.Figure:
    """The most probable next tokens at one step, the chosen one in orange and named."""
    tokens = [token for token, _ in step.topk]
    probs = [prob for _, prob in step.topk]
    labels = chart_labels(tokens)
    colors = [ACCENT if token == step.output_token else SECOND for token in tokens]
    texts = [f"{p:.3f} ◀ chosen" if token == step.output_token else f"{p:.3f}" for token, p in step.topk]
    bars = _trace(
        "bar",
        x=probs,
        y=list(range(len(labels))),
        orientation="h",
        marker={"color": colors},
        text=texts,
        textposition="outside",
        customdata=labels,
        hovertemplate="%{customdata}: p = %{x:.4f}<extra></extra>",
        cliponaxis=False,
    )
    return _figure(
        [bars],
        max(200, 24 * len(labels) + 60),
        title,
        xaxis={"range": [0, 1.35], "title": {"text": "p"}, "tickvals": [0, 0.5, 1]},
        yaxis=_axis(labels, autorange="reversed"),
        showlegend=False,
    )


def vector_strip(values: Sequence[float], name: str, height: int = 90) -> go.Figure:
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
        height,
        None,
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
        colorbar={"thickness": 10, "len": 0.9},
        customdata=[[label] * z.shape[1] for label in row_labels] if z.ndim == 2 else None,
        hovertemplate=f"%{{customdata}} · unit %{{x}}<br>{name} = %{{z:.4f}}<extra></extra>",
    )
    return _figure(
        [heatmap],
        height or max(160, 20 * len(row_labels) + 80),
        title,
        xaxis={"showgrid": False, "zeroline": False, "title": {"text": "hidden unit"}},
        yaxis=_axis(row_labels, autorange="reversed"),
    )


def source_bars(
    values: Sequence[float], trace: Trace, name: str, probability: bool = False, height: int = 200
) -> go.Figure:
    """One value per source token (the energies e_t or the weights α_t of a step)."""
    labels = source_labels(trace)
    bars = _trace(
        "bar",
        x=list(range(len(labels))),
        y=list(values),
        marker={"color": SECOND if not probability else ACCENT},
        customdata=labels,
        hovertemplate=f"%{{customdata}}: {name} = %{{y:.4f}}<extra></extra>",
    )
    yaxis = {"range": [0, 1], "tickvals": [0, 0.5, 1]} if probability else {"zeroline": True}
    return _figure(
        [bars],
        height,
        None,
        xaxis=_axis(labels, tickangle=_tick_angle(labels)),
        yaxis={**yaxis, "title": {"text": name}},
        showlegend=False,
    )


def step_tensor(trace: Trace, t: int, tensor: str, symbol: str) -> go.Figure:
    """The live tensor beside one equation of step t's chain (tensor: a Step field or an encoder-side name)."""
    step = trace.steps[t]
    if tensor == "encoder_states":
        return matrix_heatmap(
            trace.encoder["states"], source_labels(trace), None, name="h", height=60 + 16 * len(trace.source_tokens)
        )
    if tensor == "energies":
        return source_bars(step.energies, trace, "e", height=170)
    if tensor == "weights":
        return source_bars(step.weights, trace, "α", probability=True, height=170)
    if tensor == "probs":
        return topk_bars(step)
    if tensor == "fixed_context":
        return vector_strip(trace.encoder["context"], "c")
    if tensor == "initial_state":
        return vector_strip(trace.encoder["initial_state"][-1], "s_0")
    return vector_strip(getattr(step, tensor), symbol)


def encoder_states(trace: Trace) -> go.Figure:
    return matrix_heatmap(
        trace.encoder["states"], source_labels(trace), "Encoder states h_j (source × hidden unit)", name="h"
    )


def decoder_states(trace: Trace) -> go.Figure:
    return matrix_heatmap(
        [step.state for step in trace.steps],
        output_labels(trace),
        "Decoder states s_t (output × hidden unit)",
        name="s",
    )


def gate_names(trace: Trace) -> list[str]:
    """The gates worth showing for the trace's cell, in textbook order (none for a plain RNN)."""
    return {"gru": ["reset", "update"], "lstm": ["input", "forget", "output"]}.get(trace.model.get("cell"), [])


def gate_heatmap(trace: Trace, side: str, gate: str) -> go.Figure:
    """Gate activations over time for the encoder (rows: source tokens) or decoder (rows: output tokens)."""
    if side == "encoder":
        matrix, rows = trace.encoder["gates"][gate], source_labels(trace)
    else:
        matrix, rows = [step.gates[gate] for step in trace.steps], output_labels(trace)
    return matrix_heatmap(matrix, rows, f"{side.capitalize()} {gate} gate", GATE_SCALE, 0.0, 1.0, name=gate)


def cell_state_heatmap(trace: Trace, side: str) -> go.Figure:
    """The LSTM memory cell over time (signed)."""
    if side == "encoder":
        matrix, rows = trace.encoder["cells"], source_labels(trace)
    else:
        matrix, rows = [step.cell for step in trace.steps], output_labels(trace)
    return matrix_heatmap(matrix, rows, f"{side.capitalize()} cell state c", name="c")


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


def pca_trajectories(trace: Trace) -> go.Figure:
    """Encoder and decoder state trajectories in one shared 2-D PCA space, each point labelled by its token."""
    enc = np.asarray(trace.encoder["states"], dtype=float)
    dec = np.asarray([step.state for step in trace.steps], dtype=float)
    if enc.shape[1] == dec.shape[1]:
        coords, explained = pca_2d(np.vstack([enc, dec]))
        enc_xy, dec_xy = coords[: len(enc)], coords[len(enc) :]
    else:  # different widths cannot share a space: project each on its own
        (enc_xy, explained), (dec_xy, _) = pca_2d(enc), pca_2d(dec)
    data = []
    for xy, labels, name, color, symbol in (
        (enc_xy, source_labels(trace), "encoder h_j", SECOND, "circle"),
        (dec_xy, output_labels(trace), "decoder s_t", ACCENT, "diamond"),
    ):
        data.append(
            _trace(
                "scatter",
                x=xy[:, 0],
                y=xy[:, 1],
                mode="lines+markers+text",
                name=name,
                text=labels,
                textposition="top center",
                marker={"color": color, "size": 9, "symbol": symbol},
                line={"color": color, "width": 1.5},
                hovertemplate=f"{name} %{{pointNumber}}: %{{text}}<extra></extra>",
            )
        )
    return _figure(
        data,
        460,
        "State trajectories, PCA to 2-D",
        xaxis={"title": {"text": f"PC1 ({explained[0]:.0%} of variance)"}, "zeroline": False},
        yaxis={"title": {"text": f"PC2 ({explained[1]:.0%} of variance)"}, "zeroline": False},
        legend={"orientation": "h", "y": -0.15},
    )


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


def teacher_forcing_comparison(teacher: Trace, free_running: Trace) -> go.Figure:
    """p(gold token) at each step when the gold prefix is fed vs when the model's own output is fed."""
    gold = chart_labels(teacher.reference_tokens or [])
    data = [
        _trace(
            "scatter",
            x=list(range(len(teacher.steps))),
            y=[step.gold_prob for step in teacher.steps],
            mode="lines+markers",
            name="teacher-forced: p(gold)",
            marker={"color": SECOND, "symbol": "circle", "size": 9},
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
            marker={"color": ACCENT, "symbol": "diamond", "size": 9},
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
        280,
        "Probability of the gold token at each step",
        xaxis=_axis(gold, "step (gold token)"),
        yaxis={"range": [0, 1.05], "title": {"text": "p(gold)"}},
        legend={"orientation": "h", "y": -0.3},
        **marks,
    )
