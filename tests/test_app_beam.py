"""AppTest of Beam search: the tree, the n-best and a picked hypothesis against decodes recomputed here; width 1 is
greedy; the page's own width, whatever the sidebar's mode; picking by a click on the tree or a row of the table; a
model without attention; a sentence, not a traceback."""

from __future__ import annotations

import json

import numpy as np
import pytest
from app_support import assert_clean, decode_array, figures, heatmap_z, load, run_app, zoo  # noqa: F401  (fixture)
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from seq2seq_viz import decode, forced_prefix, greedy
from ui import cache, state
from ui.text import chart_labels

BEAM_PAGE = "ui/views/beam.py"
NODE_GROUPS = ("pruned", "kept", "finished (&lt;eos&gt;)", "winning path")


@pytest.fixture(scope="module", autouse=True)
def _zoo(zoo):  # noqa: F811
    return zoo


def _node_ids(tree: dict) -> dict[str, list[int]]:
    return {
        t["name"]: [int(i) for i in decode_array(t["customdata"])]
        for t in tree["data"]
        if t["name"] in NODE_GROUPS and "markers" in t["mode"]
    }


def _winning_labels(tree: dict) -> list[str]:
    """The tokens of the winning path's nodes as the chart labels them (a node reads "token<br>cumulative")."""
    group = next(t for t in tree["data"] if t["name"] == "winning path" and "markers" in t["mode"])
    return [label.split("<br>")[0] for label in group["text"]]


def _path(beam, node_id: int) -> list[int]:
    """Walked here from the parents, not with Beam.path: the node ids from step 0 down to node_id."""
    nodes = {n.id: n for n in beam.nodes}
    path = []
    while nodes[node_id].parent is not None:
        path.append(node_id)
        node_id = nodes[node_id].parent
    return path[::-1]


def _send_selection(at: AppTest, key: str, selection: dict) -> AppTest:
    """Run the page as after a click changed the selection of the chart or table `key`.

    AppTest can neither click a plotly point nor a table row, so this sends what the browser sends then: the
    element's widget state (the selection as JSON) beside the other widgets' (AppTest's own _run, as run() does).
    """
    elements = [*at.get("plotly_chart"), *at.dataframe]
    element = next(e for e in elements if e.proto.id.endswith(f"-{key}"))
    states = at._tree.get_widget_states()
    clicked = WidgetState(id=element.proto.id, string_value=json.dumps(selection))
    states.widgets.append(clicked)
    return at._run(states)


def _click_node(at: AppTest, node_id: int) -> AppTest:
    """A click on the tree's node node_id: plotly's point, with the node id the chart put in its customdata."""
    point = {"curve_number": 4, "point_number": 0, "point_index": 0, "x": 0, "y": 0.5, "customdata": node_id}
    return _send_selection(at, "beam-tree", {"selection": {"points": [point], "point_indices": [0], "box": [],
                                                           "lasso": []}})  # fmt: skip


def _table_selection(at: AppTest) -> list[int]:
    """The n-best table's selected rows (its state on the server)."""
    return list(at.session_state["beam-nbest"]["selection"]["rows"])


def _sent_table_selection(at: AppTest) -> list[int] | None:
    """The rows this run told the browser to select (None: it left the table's selection as it was)."""
    sent = at.dataframe[0].proto.selection_state
    return json.loads(sent)["selection"]["rows"] if sent else None


def _assert_traced(at: AppTest, model, beam, index: int) -> None:
    """The page traces the n-best's hypothesis `index`: its heatmap, probabilities, dashed path, picker and row."""
    hyp = beam.nbest[index]
    shown = figures(at)
    np.testing.assert_allclose(
        heatmap_z(shown["beam-heatmap"]), np.asarray(_forced(model, "abcd", hyp.tokens).attention), atol=1e-9
    )
    assert f"#{index + 1}" in shown["beam-heatmap"]["layout"]["title"]["text"]
    nodes = {n.id: n for n in beam.nodes}
    expected = [np.exp(nodes[i].logprob) for i in _path(beam, hyp.node)]
    np.testing.assert_allclose(decode_array(shown["beam-probs"]["data"][0]["y"]), expected, rtol=1e-4)
    dashed = [t["name"] for t in shown["beam-tree"]["data"] if t.get("line", {}).get("dash") == "dash"]
    assert dashed == ([f"n-best #{index + 1}"] if index else [])
    assert at.selectbox(key=state.BEAM_PICK).value == index
    assert _table_selection(at) == [index]


def _forced(model, text: str, tokens: tuple[str, ...]):
    return forced_prefix(model, text, list(tokens[: model.config.max_output_len - 1]))


def test_the_tree_and_the_n_best_are_the_beams(zoo):  # noqa: F811
    at = run_app(BEAM_PAGE, model="reverse-gru-general", text="abc")
    assert_clean(at)
    assert at.slider(key=state.BEAM_PAGE_WIDTH).value == 5
    model = load("reverse-gru-general", zoo)
    beam = decode(model, "abc", "beam", beam_size=5).beam
    tree = figures(at)["beam-tree"]
    drawn = _node_ids(tree)
    assert sorted(i for ids in drawn.values() for i in ids) == [n.id for n in beam.nodes]
    pruned = [n.id for n in beam.nodes if not n.kept]
    assert len(pruned) == len(beam.nodes) - 1 - 5 - 5 * 7  # K kept of K·K candidates after the first step
    assert sorted(drawn["pruned"]) == pruned
    winner = _path(beam, beam.nbest[0].node)
    assert sorted(drawn["winning path"]) == [0, *winner]
    nodes = {n.id: n for n in beam.nodes}
    assert _winning_labels(tree) == chart_labels(["<bos>", *(nodes[i].token for i in winner)])
    assert "K = 5" in tree["layout"]["title"]["text"]

    table = at.dataframe[0].value
    assert list(table["rank"]) == list(range(1, len(beam.nbest) + 1))
    assert list(table["output"]) == [h.text or "(empty)" for h in beam.nbest]
    np.testing.assert_allclose(table["score"], [h.score for h in beam.nbest])
    np.testing.assert_allclose(table["log p"], [h.logprob for h in beam.nbest])
    assert list(table["score"]) == sorted(table["score"], reverse=True)
    assert set(table["ends"]) == {"cut at the cap"}  # the zoo's models never write <eos>
    assert any("no hypothesis wrote the end token" in i.value.lower() for i in at.info)

    best = beam.nbest[0].tokens
    np.testing.assert_allclose(
        heatmap_z(figures(at)["beam-heatmap"]), np.asarray(_forced(model, "abc", best).attention), atol=1e-9
    )
    captions = " ".join(c.value for c in at.caption)
    assert "greedy" in captions and "sidebar" in captions


def test_width_one_is_greedy(zoo):  # noqa: F811
    at = run_app(BEAM_PAGE, model="reverse-lstm-additive", text="hello")
    at.slider(key=state.BEAM_PAGE_WIDTH).set_value(1).run()
    assert_clean(at)
    tokens = greedy(load("reverse-lstm-additive", zoo), "hello").output_tokens
    tree = figures(at)["beam-tree"]
    drawn = _node_ids(tree)
    assert set(drawn) == {"winning path"}  # one path: nothing pruned, nothing beside it
    assert sorted(drawn["winning path"]) == list(range(len(tokens) + 1))
    assert _winning_labels(tree) == chart_labels(["<bos>", *tokens])
    table = at.dataframe[0].value
    assert len(table) == 1
    assert table["output"][0] == greedy(load("reverse-lstm-additive", zoo), "hello").output_text
    assert at.selectbox(key=state.BEAM_PICK).options == [f"#1 · {table['output'][0]} · score {table['score'][0]:.4f}"]


def test_picking_a_hypothesis_traces_it_and_picking_back_decodes_nothing(zoo):  # noqa: F811
    at = run_app(BEAM_PAGE, model="reverse-gru-general", text="abcd")
    model = load("reverse-gru-general", zoo)
    beam = decode(model, "abcd", "beam", beam_size=5).beam
    first = heatmap_z(figures(at)["beam-heatmap"])
    at.selectbox(key=state.BEAM_PICK).set_value(3).run()
    assert_clean(at)
    hyp = beam.nbest[3]
    forced = _forced(model, "abcd", hyp.tokens)
    shown = figures(at)
    np.testing.assert_allclose(heatmap_z(shown["beam-heatmap"]), np.asarray(forced.attention), atol=1e-9)
    assert not np.allclose(heatmap_z(shown["beam-heatmap"]), first)
    assert shown["beam-heatmap"]["layout"]["yaxis"]["ticktext"] == chart_labels(hyp.tokens)
    nodes = {n.id: n for n in beam.nodes}
    expected = [np.exp(nodes[i].logprob) for i in _path(beam, hyp.node)]
    np.testing.assert_allclose(decode_array(shown["beam-probs"]["data"][0]["y"]), expected, rtol=1e-4)
    dashed = [t for t in shown["beam-tree"]["data"] if t.get("line", {}).get("dash") == "dash"]
    assert len(dashed) == 1 and dashed[0]["name"] == "n-best #4"
    decoded = cache.decodes()
    at.selectbox(key=state.BEAM_PICK).set_value(0).run()
    at.selectbox(key=state.BEAM_PICK).set_value(3).run()
    assert_clean(at)
    assert cache.decodes() == decoded  # every decode was cached


def test_a_click_on_a_node_of_the_tree_picks_its_hypothesis(zoo):  # noqa: F811
    at = run_app(BEAM_PAGE, model="reverse-gru-general", text="abcd")
    model = load("reverse-gru-general", zoo)
    beam = decode(model, "abcd", "beam", beam_size=5).beam
    _assert_traced(at, model, beam, 0)
    tree_ids = set(_node_ids(figures(at)["beam-tree"])["winning path"])
    assert {n.id for n in beam.nodes} >= tree_ids  # customdata are the node ids the click sends back
    at = _click_node(at, beam.nbest[3].node)  # the end of the 4th hypothesis (the zoo's never write <eos>)
    assert_clean(at)
    _assert_traced(at, model, beam, 3)
    on_best = _path(beam, beam.nbest[0].node)[1]  # a node inside the best path picks the best through it
    at = _click_node(at, on_best)
    assert_clean(at)
    _assert_traced(at, model, beam, 0)
    at = _click_node(at, beam.nbest[2].node)
    pruned = next(n.id for n in beam.nodes if not n.kept)
    at = _click_node(at, pruned)  # on no hypothesis: the pick stays, and a sentence says why
    assert_clean(at)
    _assert_traced(at, model, beam, 2)
    assert [t.value for t in at.toast] == [
        "No hypothesis of the n-best goes through that node: click one on a blue or orange path."
    ]


def test_a_row_of_the_n_best_picks_its_hypothesis_and_the_row_follows_the_picker(zoo):  # noqa: F811
    at = run_app(BEAM_PAGE, model="reverse-gru-general", text="abcd")
    model = load("reverse-gru-general", zoo)
    beam = decode(model, "abcd", "beam", beam_size=5).beam
    at = _send_selection(at, "beam-nbest", {"selection": {"rows": [2], "columns": [], "cells": []}})
    assert_clean(at)
    _assert_traced(at, model, beam, 2)
    at.selectbox(key=state.BEAM_PICK).set_value(4).run()
    assert_clean(at)
    _assert_traced(at, model, beam, 4)  # the table's selected row moved with the picker
    assert _sent_table_selection(at) == [4]
    at.slider(key=state.BEAM_PAGE_WIDTH).set_value(2).run()  # fewer hypotheses: back to the best, row 0 too
    assert_clean(at)
    assert at.selectbox(key=state.BEAM_PICK).value == 0 and _table_selection(at) == [0]


def test_the_page_keeps_its_own_width_whatever_the_sidebar_says(zoo):  # noqa: F811
    at = run_app(BEAM_PAGE, model="reverse-gru-general", text="abc", mode="beam", width="2")
    assert_clean(at)
    assert at.slider(key=state.BEAM_PAGE_WIDTH).value == 5
    assert len(at.dataframe[0].value) == 5
    at.slider(key=state.BEAM_PAGE_WIDTH).set_value(3).run()
    assert_clean(at)
    assert len(at.dataframe[0].value) == 3
    assert at.query_params["width"] == "2"  # the link keeps the sidebar's width: the page's is its own
    assert at.session_state[state.BEAM_WIDTH] == 2
    at = run_app(BEAM_PAGE, model="reverse-gru-general", text="abc", mode="sample")
    assert_clean(at)
    assert len(at.dataframe[0].value) == 5


def test_a_smaller_width_after_a_pick_falls_back_to_the_best(zoo):  # noqa: F811
    at = run_app(BEAM_PAGE, model="reverse-gru-general", text="abc")
    at.selectbox(key=state.BEAM_PICK).set_value(4).run()
    at.slider(key=state.BEAM_PAGE_WIDTH).set_value(2).run()
    assert_clean(at)
    assert at.selectbox(key=state.BEAM_PICK).index == 0
    assert "#1" in figures(at)["beam-heatmap"]["layout"]["title"]["text"]


def test_a_model_without_attention_shows_the_tree_and_says_there_is_no_map(zoo):  # noqa: F811
    at = run_app(BEAM_PAGE, model="reverse-rnn-none", text="abc")
    assert_clean(at)
    shown = figures(at)
    assert "beam-tree" in shown and "beam-probs" in shown and "beam-heatmap" not in shown
    assert any("no attention map" in i.value for i in at.info)
    model = load("reverse-rnn-none", zoo)
    beam = decode(model, "abc", "beam", beam_size=5).beam
    assert len(at.dataframe[0].value) == len(beam.nbest)
    assert sum(len(ids) for ids in _node_ids(shown["beam-tree"]).values()) == len(beam.nodes)


def test_an_empty_input_is_one_sentence(zoo):  # noqa: F811
    at = run_app(BEAM_PAGE, model="reverse-gru-general", text="   ")
    assert_clean(at)
    assert [w.value.replace("\\", "") for w in at.warning] == ["The input is empty: type a sentence first."]
    assert not figures(at)


def test_presentation_mode_draws_the_tree_in_large_type(zoo):  # noqa: F811
    from ui.style import PRESENT

    at = run_app(BEAM_PAGE, model="reverse-gru-general", text="abc", present="1")
    assert_clean(at)
    shown = figures(at)
    assert shown["beam-tree"]["layout"]["font"]["size"] == PRESENT.font_size
    assert shown["beam-heatmap"]["layout"]["font"]["size"] == PRESENT.font_size
