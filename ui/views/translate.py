"""Translate: the output with each token's probability, the attention map and the alignment of one decode."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import cache, charts, components, sidebar, state
from ui.text import md_escape


def page() -> None:
    selection = state.selection(cache.catalog())
    model = selection.model
    st.header("Translate")
    description = (model.entry.get("task") or {}).get("description")
    if description:
        st.caption(md_escape(f"{model.name}: {description}"))

    if state.on_a_phone():  # the sidebar is a drawer over the page there: type here and see the result at once
        state.show_text_on_page()
        sidebar.input_box(state.TEXT_ON_PAGE, state.on_text_on_page)
    examples = state.example_inputs(model, cache.examples(model))
    if examples:
        st.pills(
            "Examples (click one to use it)",
            examples,
            key=state.EXAMPLE,
            on_change=state.use_example,
            format_func=md_escape,
        )

    trace = components.decode(model, selection.text, selection.mode, options=selection.options)
    if trace is None:
        return
    components.unknown_note(trace)
    components.truncation_note(trace)

    st.subheader("Output")
    components.output_box(trace.output_text, key="translate-output")
    st.caption(md_escape(_summary(trace)))

    if trace.attention is None:
        st.info(
            "This model has no attention: the decoder sees one fixed context vector, the encoder's final state, "
            "for the whole output (see Step through). Here is what it wrote, token by token."
        )
        components.chart(charts.token_probabilities, trace, key="translate-probs")
    else:
        heatmap_col, side_col = st.columns([3, 2], gap="medium")
        with heatmap_col:
            components.chart(charts.attention_heatmap, trace, page_share=0.6, key="translate-heatmap")
        with side_col:
            components.chart(charts.token_probabilities, trace, narrow=True, page_share=0.4, key="translate-probs")
            components.chart(charts.alignment_view, trace, key="translate-alignment")
        st.caption(
            "Hover a cell for its weight α and its energy e. Tokens marked † were never seen in training; ␣ is a space."
        )
    if trace.beam:
        _nbest(trace)
    components.downloads(trace, components.file_stem(trace), key="translate-download")


def _summary(trace) -> str:
    mode = {"greedy": "greedy", "beam": "beam search", "sample": "sampling"}.get(trace.mode, trace.mode)
    extras = ", ".join(f"{k} {v}" for k, v in trace.options.items() if v is not None)
    joint = 1.0
    for step in trace.steps:
        joint *= step.output_prob
    return f"{mode}{f' ({extras})' if extras else ''} · {len(trace.steps)} steps · p(output) = {joint:.3g}"


def _nbest(trace) -> None:
    with st.expander(f"The beam's {len(trace.beam.nbest)} finished hypotheses"):
        rows = [
            {"rank": rank + 1, "output": hyp.text, "score (log p / length)": hyp.score, "log p": hyp.logprob}
            for rank, hyp in enumerate(trace.beam.nbest)
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


page()
