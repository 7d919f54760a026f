"""Beam search: the tree of expansions at a width chosen here, the n-best list, and one hypothesis traced.

A hypothesis is picked three ways, all writing state.BEAM_PICK: a click on a node of the tree, a row of the n-best
table, or the picker below it. The table's selected row follows the pick, whichever way it was made.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from ui import beam_charts, cache, components, state
from ui.text import md_escape

if TYPE_CHECKING:
    from seq2seq_viz.trace import Trace


NBEST_COLUMNS = {
    "rank": st.column_config.NumberColumn("rank", width=48),
    "output": st.column_config.TextColumn("output", help="The hypothesis as text, without the start and end tokens."),
    "score": st.column_config.NumberColumn(
        "score", format="%.4f", help="log p(y) / |y|: the length-normalised score the n-best is ranked by."
    ),
    "log p": st.column_config.NumberColumn("log p", format="%.4f", help="The hypothesis's total log-probability."),
    "tokens": st.column_config.NumberColumn(
        "tokens", width=60, help="Its length |y|, the end token included when written."
    ),
    "ends": st.column_config.TextColumn("ends", help="Whether it wrote the end token or the step cap cut it."),
}


def page() -> None:
    selection = state.selection(cache.catalog())
    model = selection.model
    st.header("Beam search")
    st.caption(
        "At every step each of the K live hypotheses proposes its K most likely next tokens; the K best by total "
        "log-probability stay, the rest are pruned. Width 1 keeps only the most likely token: it is greedy decoding. "
        "The width is set here; the sidebar's decoding mode does not apply on this page."
    )
    width_col, _ = st.columns([2, 3])
    width = width_col.slider(
        "Beam width K",
        1,
        cache.LIMITS.beam_width,
        value=state.DEFAULTS[state.BEAM_WIDTH],
        key=state.BEAM_PAGE_WIDTH,
        persist_state="session",
        help=f"How many hypotheses are kept at each step (1 to {cache.LIMITS.beam_width}; 1 is greedy).",
    )
    trace = components.decode(model, selection.text, "beam", options={"beam_size": int(width)})
    if trace is None or not trace.beam:
        return
    components.unknown_note(trace)
    nbest = trace.beam.nbest
    if not beam_charts.any_finished(trace):
        st.info(
            f"No hypothesis wrote the end token within the model's cap of {len(trace.steps)} steps, so the n-best "
            "are the hypotheses still alive when decoding stopped."
        )

    st.session_state.setdefault(state.BEAM_PICK, 0)
    if st.session_state[state.BEAM_PICK] not in range(len(nbest)):  # a smaller width keeps fewer hypotheses
        st.session_state[state.BEAM_PICK] = 0
    picked = int(st.session_state[state.BEAM_PICK])

    components.chart(beam_charts.tree, trace, picked + 1, key=state.BEAM_TREE, on_select=partial(pick_from_tree, trace))
    st.caption(
        md_escape(
            "Each node is a token with its cumulative log-probability. Orange: the winning path; squares: finished "
            "hypotheses (they wrote <eos>); grey: pruned candidates; dashed: the picked hypothesis. Click a node to "
            "trace the hypothesis it ends (or the best one through it), or pick one in the table or the list below. "
            "Where labels would overlap they are left out: hover a node for its numbers."
        )
    )

    st.subheader("The n-best list")
    rows = beam_charts.nbest_rows(trace)
    _select_row(picked)
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config=NBEST_COLUMNS,
        key=state.BEAM_NBEST,
        on_select=pick_from_table,
        selection_mode="single-row-required",
    )

    pick_col, _ = st.columns([3, 2])  # room for a whole sentence at 1280 px
    pick_col.selectbox(
        "Hypothesis to trace",
        list(range(len(nbest))),
        key=state.BEAM_PICK,
        format_func=lambda i: f"#{i + 1} · {nbest[i].text or beam_charts.EMPTY} · score {nbest[i].score:.4f}",
    )
    hypothesis = nbest[picked]
    tokens = hypothesis.tokens
    forced = components.decode(model, selection.text, "forced_prefix", prefix=_forceable(tokens, model))
    if forced is None:
        return
    st.caption(
        md_escape(
            f"Hypothesis #{picked + 1}: the decoder re-run with its {len(tokens)} tokens forced, "
            f"log p = {hypothesis.logprob:.4f}, score = {hypothesis.score:.4f}."
        )
    )
    if forced.attention is None:
        st.info(
            "This model has no attention: the decoder sees one fixed context vector for the whole output, so there "
            "is no attention map. Here is the probability of each token of the hypothesis."
        )
        components.chart(beam_charts.hypothesis_probabilities, forced, tokens, picked + 1, key="beam-probs")
        return
    heatmap_col, probs_col = st.columns([3, 2], gap="medium")
    with heatmap_col:
        components.chart(
            beam_charts.hypothesis_attention, forced, tokens, picked + 1, page_share=0.6, key="beam-heatmap"
        )
    with probs_col:
        components.chart(
            beam_charts.hypothesis_probabilities, forced, tokens, picked + 1, page_share=0.4, key="beam-probs"
        )


def pick_from_tree(trace: Trace) -> None:
    """The tree's on_select: the clicked node (its customdata is its id) picks the hypothesis it ends, or the best
    one through it; a node on none of them (pruned, or a branch that died out) picks nothing and says why."""
    points = st.session_state[state.BEAM_TREE]["selection"]["points"]
    node_ids = [point.get("customdata") for point in points if point.get("customdata") is not None]
    if not node_ids:  # the selection was cleared
        return
    pick = beam_charts.hypothesis_at(trace, int(node_ids[-1]))
    if pick is None:
        st.toast("No hypothesis of the n-best goes through that node: click one on a blue or orange path.")
        return
    st.session_state[state.BEAM_PICK] = pick


def pick_from_table() -> None:
    """The n-best table's on_select: the selected row is the hypothesis of that rank."""
    rows = st.session_state[state.BEAM_NBEST]["selection"]["rows"]
    if rows:
        st.session_state[state.BEAM_PICK] = int(rows[0])


def _select_row(picked: int) -> None:
    """Make the table's selected row the pick (made in the tree or the picker, or reset by a smaller width)."""
    current = st.session_state.get(state.BEAM_NBEST)
    if current is None or list(current["selection"]["rows"]) != [picked]:
        st.session_state[state.BEAM_NBEST] = {"selection": {"rows": [picked], "columns": [], "cells": []}}


def _forceable(tokens: tuple[str, ...], model: cache.Model) -> list[str]:
    """The hypothesis's tokens as a forced prefix: a prefix leaves room for <eos> within the step cap, so a
    hypothesis as long as the cap loses its last token (its step still reads the same prefix)."""
    cap = min(int(model.entry.get("config", {}).get("max_output_len", len(tokens) + 1)), cache.LIMITS.output_steps)
    return list(tokens[: max(cap - 1, 0)])


page()
