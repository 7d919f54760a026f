"""ui.beam_charts against real beam Traces of tiny seeded models: every node of the tree drawn once, the winning path,
pruned and finished nodes, a layout without crossings, width 1 as greedy, and one hypothesis traced by forcing it."""

from __future__ import annotations

import itertools
import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from seq2seq_viz import beam_search, forced_prefix, greedy
from seq2seq_viz.vocab import EOS_ID
from ui import beam_charts
from ui.style import NORMAL, PRESENT, style_for
from ui.text import chart_labels

pytestmark = pytest.mark.usefixtures("validated_charts")  # every figure passes plotly's validation
TEXT = "abcde"
NODE_GROUPS = ("pruned", "kept", "finished (&lt;eos&gt;)", "winning path")


@pytest.fixture(scope="module")
def model(make_model):
    return make_model(0, cell="gru", attention="general", bidirectional=True)


@pytest.fixture(scope="module")
def capped(make_model):
    """A model that never writes <eos>: every hypothesis runs to the step cap (10)."""
    capped = make_model(1, cell="lstm", attention="additive")
    with torch.no_grad():
        capped.decoder.W_s.bias[EOS_ID] = -20.0
    return capped


def _node_traces(figure: go.Figure) -> dict[str, go.Scatter]:
    return {trace.name: trace for trace in figure.data if trace.name in NODE_GROUPS}


def _drawn_ids(figure: go.Figure) -> list[int]:
    return [int(i) for trace in _node_traces(figure).values() for i in trace.customdata]


@pytest.mark.parametrize("width", [1, 3, 5, 10])
def test_every_node_is_drawn_once_where_the_layout_puts_it(model, width):
    trace = beam_search(model, TEXT, beam_size=width)
    figure = beam_charts.tree(trace)
    ids = _drawn_ids(figure)
    assert sorted(ids) == [node.id for node in trace.beam.nodes]
    where = beam_charts.tree_layout(trace)
    for group in _node_traces(figure).values():
        for node_id, x, y in zip(group.customdata, group.x, group.y, strict=True):
            assert (x, y) == pytest.approx(where[int(node_id)])
    steps = {node.t for node in trace.beam.nodes}
    assert list(figure.layout.xaxis.tickvals) == sorted(steps)


def test_pruned_nodes_are_dimmed_and_finished_ones_are_squares(model):
    trace = beam_search(model, TEXT, beam_size=10)
    nodes = trace.beam.nodes
    groups = _node_traces(beam_charts.tree(trace))
    pruned = {n.id for n in nodes if not n.kept}
    assert pruned and set(groups["pruned"].customdata) == pruned
    assert groups["pruned"].opacity < 1 and groups["pruned"].text is None  # dimmed, no label
    winner = set(beam_charts.winning_path(trace))
    finished = {n.id for n in nodes if n.kept and n.finished}
    assert finished, "the seeded model finishes hypotheses at width 10"
    assert set(groups["finished (&lt;eos&gt;)"].customdata) == finished - winner
    assert groups["finished (&lt;eos&gt;)"].marker.symbol == "square"
    for node_id, symbol in zip(groups["winning path"].customdata, groups["winning path"].marker.symbol, strict=True):
        assert symbol == ("square" if nodes[int(node_id)].finished else "circle")


def test_the_winning_path_is_the_best_hypothesis_in_the_accent_colour(model):
    trace = beam_search(model, TEXT, beam_size=4)
    best = trace.beam.nbest[0]
    assert best.score == max(h.score for h in trace.beam.nbest)
    path = beam_charts.winning_path(trace)
    nodes = trace.beam.nodes
    assert [nodes[i].token for i in path] == list(best.tokens) == trace.output_tokens
    assert path[-1] == best.node
    assert nodes[path[-1]].cumulative == pytest.approx(best.logprob, abs=1e-6)
    figure = beam_charts.tree(trace)
    line = next(t for t in figure.data if t.name == "winning path" and t.mode == "lines")
    where = beam_charts.tree_layout(trace)
    assert list(zip(line.x, line.y, strict=True)) == [where[i] for i in [0, *path]]
    assert line.line.color == beam_charts.ACCENT
    assert set(_node_traces(figure)["winning path"].customdata) == {0, *path}
    labels = _node_traces(figure)["winning path"].text
    assert f"{nodes[path[-1]].cumulative:.2f}" in labels[-1]  # a node shows its token and cumulative log p


def test_a_picked_hypothesis_is_dashed_and_the_winner_is_not_drawn_twice(model):
    trace = beam_search(model, TEXT, beam_size=4)
    where = beam_charts.tree_layout(trace)
    second = beam_charts.path_to(trace, trace.beam.nbest[1].node)
    dashed = [t for t in beam_charts.tree(trace, picked=2).data if t.line.dash == "dash"]
    assert len(dashed) == 1 and list(zip(dashed[0].x, dashed[0].y, strict=True)) == [where[i] for i in [0, *second]]
    assert not [t for t in beam_charts.tree(trace, picked=1).data if t.line.dash == "dash"]


def test_children_follow_their_parents_order_so_edges_never_cross(model):
    trace = beam_search(model, TEXT, beam_size=5)
    where = beam_charts.tree_layout(trace)
    nodes = trace.beam.nodes
    for a in nodes:
        for b in nodes:
            if a.t == b.t >= 0 and where[a.parent][1] < where[b.parent][1]:
                assert where[a.id][1] < where[b.id][1]
    assert all(0.0 <= y <= 1.0 for _, y in where.values())


def test_width_one_is_a_single_path_of_greedys_tokens(model, capped):
    for m in (model, capped):
        trace = beam_search(m, TEXT, beam_size=1)
        nodes = trace.beam.nodes
        assert all(node.kept for node in nodes)
        assert [node.parent for node in nodes[1:]] == list(range(len(nodes) - 1))  # a chain
        assert [node.token for node in nodes[1:]] == greedy(m, TEXT).output_tokens


def _labelled(figure: go.Figure) -> dict[int, str]:
    """node id -> its label, for the nodes drawn with one."""
    return {
        int(i): text
        for group in _node_traces(figure).values()
        for i, text in zip(group.customdata, group.text or [""] * len(group.customdata), strict=True)
        if text
    }


def test_a_wide_beam_labels_only_where_there_is_room_and_every_node_hovers(model):
    wide, narrow = beam_search(model, TEXT, beam_size=10), beam_search(model, TEXT, beam_size=3)
    figure = beam_charts.tree(wide)
    assert beam_charts.tree(narrow).layout.height < figure.layout.height <= beam_charts.TREE_MAX_PX  # grows with K
    kept = {n.id for n in wide.beam.nodes if n.kept}
    assert set(_labelled(figure)) == kept  # grown tall enough for every label here
    hover = {int(i): h for g in _node_traces(figure).values() for i, h in zip(g.customdata, g.hovertext, strict=True)}
    assert set(hover) == {n.id for n in wide.beam.nodes}
    for node in wide.beam.nodes[1:]:
        assert f"cumulative log p = {node.cumulative:.4f}" in hover[node.id]

    # squeezed into the smallest tree, labels are left out where they would meet, never the winner's
    where = beam_charts.tree_layout(wide)
    winner = [0, *beam_charts.winning_path(wide)]
    height = beam_charts.TREE_MIN_PX
    labelled = beam_charts.labelled_nodes(wide, where, height, NORMAL, first=winner)
    assert set(winner) <= labelled <= kept and len(labelled) < len(kept) / 2
    # within a step, two labelled nodes are at least a label (two lines) and half a marker apart on screen
    px_per_y = (height - beam_charts._chrome_px(NORMAL)) / 1.2
    room = 2 * 1.25 * NORMAL.font_size + NORMAL.marker_size / 2
    for a in labelled:
        for b in labelled:
            if a < b and where[a][0] == where[b][0] and not {a, b} <= set(winner):
                assert abs(where[a][1] - where[b][1]) * px_per_y >= room, (a, b)


def test_the_picked_path_is_always_labelled(model):
    trace = beam_search(model, TEXT, beam_size=10)
    for rank in range(1, len(trace.beam.nbest) + 1):
        path = beam_charts.path_to(trace, trace.beam.nbest[rank - 1].node)
        assert set(path) <= set(_labelled(beam_charts.tree(trace, picked=rank)))


def test_a_click_selects_nothing_visible(model):
    """The chart's selection styles equal its normal ones: a click picks a hypothesis, it does not dim the tree."""
    for group in _node_traces(beam_charts.tree(beam_search(model, TEXT, beam_size=4))).values():
        assert group.selected.marker.opacity == group.unselected.marker.opacity == 1
        assert group.unselected.textfont.color == group.textfont.color == "rgb(49, 51, 63)"  # Streamlit's text
    dark = _node_traces(beam_charts.tree(beam_search(model, TEXT, beam_size=4), style=style_for(dark=True)))
    assert dark["kept"].unselected.textfont.color == dark["kept"].textfont.color == "rgb(250, 250, 250)"


def test_a_clicked_node_picks_the_hypothesis_it_ends_or_the_best_through_it(model, capped):
    for m in (model, capped):
        trace = beam_search(m, TEXT, beam_size=5)
        beam = trace.beam
        for i, hyp in enumerate(beam.nbest):
            assert beam_charts.hypothesis_at(trace, hyp.node) == i
            for node_id in beam.path(hyp.node):  # a node on the path picks the best hypothesis through it
                picked = beam_charts.hypothesis_at(trace, node_id)
                assert picked <= i and node_id in beam.path(beam.nbest[picked].node)
        on_a_path = {i for hyp in beam.nbest for i in beam.path(hyp.node)}
        elsewhere = [n.id for n in beam.nodes if n.id not in on_a_path]
        assert elsewhere and all(beam_charts.hypothesis_at(trace, i) is None for i in elsewhere)  # pruned, the root


def test_tokens_are_escaped_in_labels_and_hover(model):
    figure = beam_charts.tree(beam_search(model, TEXT, beam_size=10))
    texts = [s for t in _node_traces(figure).values() for s in [*(t.hovertext or ()), *(t.text or ())]]
    assert any("&lt;eos&gt;" in s for s in texts)
    assert not any("<eos>" in s or "<bos>" in s for s in texts)


def test_the_n_best_rows_are_ranked_by_score(model, capped):
    for m in (model, capped):
        trace = beam_search(m, TEXT, beam_size=5)
        rows = beam_charts.nbest_rows(trace)
        assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
        scores = [r["score"] for r in rows]
        assert scores == sorted(scores, reverse=True)
        for row, hyp in zip(rows, trace.beam.nbest, strict=True):
            assert row["score"] == pytest.approx(hyp.logprob / len(hyp.tokens), abs=1e-5)
    assert not beam_charts.any_finished(beam_search(capped, TEXT, beam_size=5))
    assert {r["ends"] for r in beam_charts.nbest_rows(beam_search(capped, TEXT, beam_size=5))} == {"cut at the cap"}


@pytest.mark.parametrize("which", ["finishing", "capped"])
def test_a_hypothesis_is_traced_by_forcing_its_tokens(model, capped, which):
    m = model if which == "finishing" else capped
    trace = beam_search(m, TEXT, beam_size=5)
    rank = len(trace.beam.nbest)  # the last of the n-best, not the one the beam trace itself replays
    hyp = trace.beam.nbest[rank - 1]
    tokens = tuple(hyp.tokens)
    forced = forced_prefix(m, TEXT, list(tokens[: m.config.max_output_len - 1]))
    heatmap = beam_charts.hypothesis_attention(forced, tokens, rank)
    np.testing.assert_allclose(np.asarray(heatmap.data[0].z), np.asarray(forced.attention)[: len(tokens)], atol=1e-12)
    assert list(heatmap.layout.yaxis.ticktext) == chart_labels(list(tokens))
    assert f"#{rank}" in heatmap.layout.title.text
    # p(y_t) of each token equals exp(log p) of its node in the tree, also for the last token of a capped one,
    # which a forced prefix cannot fix (it is read from that step's top-k)
    nodes = trace.beam.nodes
    expected = [math.exp(nodes[i].logprob) for i in beam_charts.path_to(trace, hyp.node)]
    bars = beam_charts.hypothesis_probabilities(forced, tokens, rank)
    np.testing.assert_allclose(np.asarray(bars.data[0].y, dtype=float), expected, rtol=1e-4)
    assert f"log p = {hyp.logprob:.3f}" in bars.layout.title.text
    if which == "capped":
        assert len(tokens) == m.config.max_output_len == len(forced.steps)  # the last step was free, not forced
        assert not forced.steps[-1].forced


def test_presentation_type_makes_a_taller_tree_and_a_dark_page_keeps_its_halo(model):
    trace = beam_search(model, TEXT, beam_size=5)
    normal, present = beam_charts.tree(trace, style=NORMAL), beam_charts.tree(trace, style=PRESENT)
    assert present.layout.height > normal.layout.height
    assert present.layout.font.size == PRESENT.font_size
    dark = beam_charts.tree(trace, style=style_for(dark=True))
    pruned = _node_traces(dark)["pruned"]
    assert pruned.marker.color == style_for(dark=True).muted
    assert "rgb(14, 17, 23)" in _node_traces(dark)["kept"].textfont.shadow
    assert "white" in _node_traces(normal)["kept"].textfont.shadow


def test_a_long_winning_path_drops_the_labels_that_would_cover_each_other(make_model):
    """Thirty steps in the tree's width: the winner's labels (a letter over a cumulative log p such as -12.34) are
    wider than a step, so some go; no two labels of the path overlap (a short path keeps all: the test above)."""
    long = make_model(3, cell="gru", attention="dot", max_output_len=30)
    with torch.no_grad():
        long.decoder.W_s.bias[EOS_ID] = -20.0  # never ends: the path runs to the cap
    trace = beam_search(long, "abcdefghij", beam_size=3)
    winner = [0, *beam_charts.winning_path(trace)]
    assert len(winner) == 31
    where = beam_charts.tree_layout(trace)
    height = beam_charts._tree_height(trace, NORMAL)
    labelled = beam_charts.labelled_nodes(trace, where, height, NORMAL, first=winner)
    on_path = [n for n in winner[1:] if n in labelled]
    step_px = beam_charts.TREE_PLOT_PX / (30 - 1 + beam_charts.X_RIGHT_PAD - beam_charts.X_LEFT)
    nodes = trace.beam.nodes
    for a, b in itertools.pairwise(on_path):
        width = max(  # the wider of two neighbours' labels, as the figure's type draws them
            NORMAL.char_px * max(len(nodes[n].token), len(f"{nodes[n].cumulative:.2f}")) for n in (a, b)
        )
        assert (where[b][0] - where[a][0]) * step_px >= width or where[a][1] != where[b][1]
    assert 10 <= len(on_path) < 30  # thinned, not emptied
