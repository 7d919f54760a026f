"""Pure chart functions of the Beam search page: the tree of expansions, the n-best rows, one hypothesis's
attention and probabilities. A beam Trace (or a forced-prefix one) in, plotly figures and rows out; no Streamlit,
no torch. Every token goes through ui.text.chart_label before it becomes a label or hover text.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import plotly.graph_objects as go

from .charts import (
    ACCENT,
    COLORBAR_PX,
    SECOND,
    _axis,
    _figure,
    _fit_ticks,
    _label_px,
    _tick_angle,
    _tilted_px,
    _trace,
    attention_cells,
    attention_matrix,
    plot_px,
    probability_bars,
    source_labels,
)
from .style import NORMAL, ChartStyle
from .text import chart_label, chart_labels

if TYPE_CHECKING:  # charts read Traces but never import the core (which imports torch)
    from seq2seq_viz.trace import BeamNode, Trace

EMPTY = "(empty)"  # the output of a hypothesis that wrote nothing but <eos>
PRUNED_ROOM = 0.15  # a pruned node takes this share of a kept node's vertical room (it has no label)
TREE_MIN_PX, TREE_MAX_PX = 300, 2200  # the tree grows with its kept nodes up to about two screens at width 10
# Labels are fitted to a plot this wide (the wide page at 1280 px): where a label would cover another label or a
# kept node's marker it is left out, and the node tells its numbers on hover. A narrower screen squeezes the steps
# together; the labels kept may then touch.
TREE_PLOT_PX = 1150
PRUNED_OPACITY = 0.4
X_LEFT, X_RIGHT_PAD = -1.7, 0.6  # the x axis: the root at step -1 with room for its label; room after the last
Y_RANGE = (1.08, -0.12)  # reversed: the best hypotheses on top; room for the top labels and the bottom markers


# ---- reading the tree ----


def path_to(trace: Trace, node_id: int) -> list[int]:
    """The node ids from the first expansion (step 0) down to node_id; the root <bos> is left out."""
    return trace.beam.path(node_id)


def winning_path(trace: Trace) -> list[int]:
    """The node ids of the best hypothesis (n-best rank 1)."""
    return path_to(trace, trace.beam.best.node)


def any_finished(trace: Trace) -> bool:
    """Whether a hypothesis of the n-best wrote <eos> (else the cap cut them all and the n-best are the live ones)."""
    return any(hyp.finished for hyp in trace.beam.nbest)


def hypothesis_at(trace: Trace, node_id: int) -> int | None:
    """The n-best index a click on node_id picks: the hypothesis ending there, else the best one whose path goes
    through it; None for a node on no hypothesis of the n-best (pruned, or a branch that died out)."""
    ends = {hyp.node: i for i, hyp in enumerate(trace.beam.nbest)}
    if node_id in ends:
        return ends[node_id]
    for i, hyp in enumerate(trace.beam.nbest):
        if node_id in trace.beam.path(hyp.node):
            return i
    return None


def nbest_rows(trace: Trace) -> list[dict[str, Any]]:
    """One row per hypothesis of the n-best, best first: rank, output, length-normalised score, log p."""
    return [
        {
            "rank": rank,
            "output": hyp.text or EMPTY,
            "score": hyp.score,
            "log p": hyp.logprob,
            "tokens": len(hyp.tokens),
            "ends": "<eos>" if hyp.finished else "cut at the cap",
        }
        for rank, hyp in enumerate(trace.beam.nbest, start=1)
    ]


def tree_layout(trace: Trace) -> dict[int, tuple[int, float]]:
    """node id -> (x, y): x is the step (the root <bos> at -1); y in [0, 1] from the top.

    Children sit in their parent's order, best first, so edges rarely cross; pruned nodes (leaves without a label)
    take less room than kept ones, so the labelled nodes stay apart."""
    by_step: dict[int, list[BeamNode]] = defaultdict(list)
    for node in trace.beam.nodes:
        by_step[node.t].append(node)
    where = {}
    for t in sorted(by_step):
        if t < 0:
            for node in by_step[t]:
                where[node.id] = (t, 0.5)
            continue
        column = sorted(by_step[t], key=lambda n: (where[n.parent][1], -n.cumulative, n.id))
        rooms = [1.0 if node.kept else PRUNED_ROOM for node in column]
        total = sum(rooms) - (rooms[0] + rooms[-1]) / 2
        y = 0.0
        for i, node in enumerate(column):
            if i:
                y += (rooms[i - 1] + rooms[i]) / 2
            where[node.id] = (t, y / total if total else 0.5)
    return where


def _line_px(style: ChartStyle) -> float:
    return 1.25 * style.font_size


def _chrome_px(style: ChartStyle) -> float:
    return 100 + 4 * style.font_size  # title, legend and the step axis below


def _tree_height(trace: Trace, style: ChartStyle) -> int:
    """Room for the fullest step: a kept node gets its two-line label above its marker, a pruned one a sliver."""
    rooms: dict[int, float] = defaultdict(float)
    for node in trace.beam.nodes:
        rooms[node.t] += 1.0 if node.kept else PRUNED_ROOM
    label_px = 2 * _line_px(style) + 0.7 * style.font_size + style.marker_size  # two lines, a marker, a gap
    return int(min(max(TREE_MIN_PX, max(rooms.values()) * label_px + _chrome_px(style)), TREE_MAX_PX))


Box = tuple[float, float, float, float]  # left, top, right, bottom in px of the plot (y grows downwards)


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def labelled_nodes(
    trace: Trace, where: dict[int, tuple[int, float]], height: int, style: ChartStyle, first: list[int]
) -> set[int]:
    """The kept nodes that get a label where the tree is drawn `height` px tall and TREE_PLOT_PX wide.

    `first` (the root, the winning and the picked paths) come first, in path order, each labelled unless its label
    would cover one of theirs already placed: a long output's steps sit closer than its words are wide, and
    overlapping words read as none (the winner's second, fourth, ... label goes, hover still tells). Then the ends
    of the n-best, then the other kept nodes best first, each only where its label (two lines above its marker)
    covers no label already placed and no kept node's marker. The others keep their marker and hover."""
    nodes = trace.beam.nodes
    steps = max(node.t for node in nodes)
    px_x = TREE_PLOT_PX / (steps + X_RIGHT_PAD - X_LEFT)
    px_y = max(height - _chrome_px(style), 1.0) / (Y_RANGE[0] - Y_RANGE[1])
    line, marker, pad = _line_px(style), style.marker_size, 1.0

    def label_box(node: BeamNode) -> Box:
        x, y = where[node.id][0] * px_x, where[node.id][1] * px_y
        width = style.char_px * max(len(html.unescape(chart_label(node.token))), len(f"{node.cumulative:.2f}"))
        if node.parent is None:  # "middle left" of the root's marker
            return (x - marker - width, y - line / 2, x - marker / 2, y + line / 2)
        return (x - width / 2 - pad, y - marker / 2 - 2 * line - pad, x + width / 2 + pad, y - marker / 2)

    placed: dict[int, list[Box]] = defaultdict(list)  # by step: the labels placed and every kept marker
    for node in nodes:
        if node.kept:
            x, y = where[node.id][0] * px_x, where[node.id][1] * px_y
            placed[node.t].append((x - marker / 2, y - marker / 2, x + marker / 2, y + marker / 2))
    widest = max((label_box(node)[2] - label_box(node)[0] for node in nodes if node.kept), default=0.0)
    reach = int(widest // px_x) + 1  # steps apart whose labels can still meet
    rest = sorted((node for node in nodes if node.kept), key=lambda node: -node.cumulative)
    order = dict.fromkeys([*first, *(hyp.node for hyp in trace.beam.nbest), *(node.id for node in rest)])
    shown, paths = set(), []  # paths: the boxes of the first labels placed
    for node_id in order:
        node = nodes[node_id]
        box = label_box(node)
        if node_id in first:
            free = not any(_overlap(box, other) for other in paths)
            if free:
                paths.append(box)
        else:
            near = (other for t in range(node.t - reach, node.t + reach + 1) for other in placed.get(t, ()))
            free = not any(_overlap(box, other) for other in near)
        if free:
            shown.add(node_id)
            placed[node.t].append(box)
    return shown


def _hover(node: BeamNode, rank: int | None, length_penalty: float) -> str:
    if node.parent is None:
        return "start: &lt;bos&gt;"
    fate = "finished (&lt;eos&gt;)" if node.finished and node.kept else "kept" if node.kept else "pruned"
    length = "length" if length_penalty == 1 else f"length^{length_penalty:g}"
    lines = [
        f"step {node.t}: {chart_label(node.token)}",
        f"log p(token) = {node.logprob:.4f}",
        f"cumulative log p = {node.cumulative:.4f}",
        f"score (log p / {length}) = {node.score:.4f}",
        fate + (f" · n-best #{rank}" if rank is not None else ""),
    ]
    return "<br>".join(lines)


def tree(trace: Trace, picked: int | None = None, style: ChartStyle = NORMAL) -> go.Figure:
    """The tree of expansions: a node per candidate (its token and cumulative log p), x = step, an edge from each
    parent; pruned candidates dimmed, finished ones (<eos>) drawn as squares, the winning path in the accent
    colour, and the picked n-best hypothesis (rank, 1-based) dashed when it is not the winner.

    Kept nodes are labelled where there is room (labelled_nodes), every node tells its numbers on hover, and each
    node carries its id as customdata: a click (the page's on_select) reads it to pick a hypothesis. The selection
    styles equal the normal ones, so a click changes nothing on the chart but the pick it makes."""
    nodes = trace.beam.nodes
    where = tree_layout(trace)
    height = _tree_height(trace, style)
    ranks = {hyp.node: rank for rank, hyp in enumerate(trace.beam.nbest, start=1)}
    winner = set(winning_path(trace)) | {0}
    chosen = []
    if picked is not None and 1 < picked <= len(trace.beam.nbest):
        chosen = [0, *path_to(trace, trace.beam.nbest[picked - 1].node)]

    def edges(keep) -> tuple[list, list]:
        xs, ys = [], []
        for node in nodes:
            if node.parent is not None and keep(node):
                (x0, y0), (x1, y1) = where[node.parent], where[node.id]
                xs += [x0, x1, None]
                ys += [y0, y1, None]
        return xs, ys

    def line(xs: list, ys: list, name: str, color: str, width: float, opacity: float = 1.0, dash=None) -> dict:
        return _trace("scatter", x=xs, y=ys, mode="lines", name=name, hoverinfo="skip", opacity=opacity,
                      line={"color": color, "width": width, "dash": dash}, showlegend=False)  # fmt: skip

    data = [
        line(*edges(lambda n: not n.kept), "pruned edges", style.muted, 1, PRUNED_OPACITY),
        line(*edges(lambda n: n.kept and n.id not in winner), "kept edges", SECOND, 1.5),
    ]
    if chosen:
        xs = [where[i][0] for i in chosen]
        ys = [where[i][1] for i in chosen]
        data.append(line(xs, ys, f"n-best #{picked}", SECOND, 3, dash="dash"))
    path = [0, *winning_path(trace)]
    shown = labelled_nodes(trace, where, height, style, first=[*path, *chosen])
    data.append(line([where[i][0] for i in path], [where[i][1] for i in path], "winning path", ACCENT, 4))

    groups = (  # legend name, which nodes, marker
        ("pruned", lambda n: not n.kept, {"color": style.muted, "size": style.marker_size * 0.6}),
        ("kept", lambda n: n.kept and not n.finished and n.id not in winner,
         {"color": SECOND, "size": style.marker_size}),
        ("finished (<eos>)", lambda n: n.kept and n.finished and n.id not in winner,
         {"color": SECOND, "size": style.marker_size + 3, "symbol": "square"}),
        ("winning path", lambda n: n.id in winner,
         {"color": ACCENT, "size": style.marker_size + 3, "line": {"color": "black", "width": 1}}),
    )  # fmt: skip
    for name, member, marker in groups:
        group = [n for n in nodes if member(n)]
        if not group:
            continue
        labelled = name != "pruned"
        symbols = ["square" if n.finished else "circle" for n in group] if name == "winning path" else None
        data.append(
            _trace(
                "scatter",
                x=[where[n.id][0] for n in group],
                y=[where[n.id][1] for n in group],
                customdata=[n.id for n in group],
                mode="markers+text" if labelled else "markers",
                name=html.escape(name, quote=False),
                marker={**marker, **({"symbol": symbols} if symbols else {})},
                opacity=1.0 if labelled else PRUNED_OPACITY + 0.2,
                text=[_label(n) if n.id in shown else "" for n in group] if labelled else None,
                textposition=["middle left" if n.parent is None else "top center" for n in group],
                # a halo in the page's colour keeps a label readable where edges cross it; the winner's labels
                # are bold (orange text on white is too faint to read). The page's own text colour, not the theme's
                # fainter grey for chart text: the labels are what a class reads off a crowded tree.
                textfont={
                    "size": style.font_size,
                    "color": _text_color(style),
                    "weight": "bold" if name == "winning path" else None,
                    "shadow": _halo(style),
                },
                hovertext=[_hover(n, ranks.get(n.id), trace.beam.length_penalty) for n in group],
                hoverinfo="text",
                cliponaxis=False,
                # plotly dims what a click leaves unselected; the pick is drawn as the dashed path instead
                selected={"marker": {"opacity": 1.0}},
                unselected={"marker": {"opacity": 1.0}, "textfont": {"color": _text_color(style)}},
            )
        )
    steps = max((n.t for n in nodes), default=0)
    ticks = ["start", *(str(t) for t in range(steps + 1))]
    return _figure(
        data,
        height,
        f"Tree of expansions, beam width K = {trace.beam.width}",
        style=style,
        xaxis={**_axis(ticks, "decoder step t"), "tickvals": list(range(-1, steps + 1)),
               "range": [X_LEFT, steps + X_RIGHT_PAD]},
        yaxis={"visible": False, "range": list(Y_RANGE)},
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "xanchor": "left"},
        hovermode="closest",
    )  # fmt: skip


def _halo(style: ChartStyle) -> str:
    """A text shadow in the page's background colour all round (Streamlit's light and dark themes)."""
    page = "rgb(14, 17, 23)" if style.dark else "white"
    return ", ".join(f"{dx}px {dy}px 1px {page}" for dx in (-1, 1) for dy in (-1, 1))


def _text_color(style: ChartStyle) -> str:
    """Streamlit's text colour on its light and dark themes (what the labels are drawn in)."""
    return "rgb(250, 250, 250)" if style.dark else "rgb(49, 51, 63)"


def _label(node: BeamNode) -> str:
    if node.parent is None:
        return chart_label(node.token)
    return f"{chart_label(node.token)}<br>{node.cumulative:.2f}"


# ---- one hypothesis, traced by forcing its tokens ----


def hypothesis_probabilities_of(forced: Trace, tokens: tuple[str, ...]) -> list[float | None]:
    """p(y_t) of each of the hypothesis's tokens, read from a forced-prefix decode of them.

    A hypothesis as long as the step cap cannot be forced whole (a forced prefix leaves room for <eos>), so its last
    token was not forced; its step still read the same prefix, and the token is among that step's top-k."""
    probs: list[float | None] = []
    for t, token in enumerate(tokens):
        if t >= len(forced.steps):
            probs.append(None)
            continue
        step = forced.steps[t]
        probs.append(step.output_prob if step.output_token == token else dict(step.topk).get(token))
    return probs


def hypothesis_attention(
    forced: Trace, tokens: tuple[str, ...], rank: int, page_share: float = 1.0, style: ChartStyle = NORMAL
) -> go.Figure:
    """α over the source for each token of the hypothesis (rows), read from a forced-prefix decode of it; the
    source labels fit the plot `page_share` of the page leaves (ui.charts.plot_px)."""
    weights = attention_matrix(forced)[: len(tokens)]
    xs, ys = source_labels(forced), chart_labels(list(tokens))
    hover = [
        [f"output {i}: {ys[i]}<br>source {j}: {xs[j]}<br>α = {weights[i, j]:.4f}" for j in range(len(xs))]
        for i in range(len(weights))
    ]
    xaxis = _axis(xs, side="top", tickangle=_tick_angle(xs, room=40, style=style))
    xaxis = _fit_ticks(xaxis, plot_px(page_share, style, _label_px(ys, style) + COLORBAR_PX), style, across=True)
    heatmap = attention_cells(weights.tolist(), hover, style)
    return _figure(
        [heatmap],
        max(220, style.row_px * len(weights) + 60),
        f"Attention α of hypothesis #{rank}",
        top=int(1.6 * style.font_size + _tilted_px(xaxis, style)),
        style=style,
        xaxis=xaxis,
        yaxis=_axis(ys[: len(weights)], autorange="reversed", automargin=True),
    )


def hypothesis_probabilities(
    forced: Trace, tokens: tuple[str, ...], rank: int, page_share: float = 1.0, style: ChartStyle = NORMAL
) -> go.Figure:
    """Each token of the hypothesis with the probability the model gave it at its step (labels fitted to the plot
    `page_share` of the page leaves)."""
    labels = chart_labels(list(tokens))
    probs = hypothesis_probabilities_of(forced, tokens)
    logp = sum(math.log(p) for p in probs if p)
    title = f"p(y_t) of hypothesis #{rank} (log p = {logp:.3f})"
    return probability_bars(labels, probs, title, room=40, page_share=page_share, style=style)
