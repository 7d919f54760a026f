"""The sidebar every page shares: the model picker (only combinations that exist), the input, the mode, the card."""

from __future__ import annotations

from typing import Any

import streamlit as st

from seq2seq_viz.trace import FREE_RUNNING

from . import cache, picker, state
from .text import md_escape

METRIC_NAMES = {
    "exact_match": "exact match",
    "bleu": "BLEU",
    "chrf": "chrF",
    "char_accuracy": "char accuracy",
    "token_accuracy": "token accuracy",
    "accuracy": "accuracy",
    "aer": "AER",
}


def draw(catalog: dict[str, cache.Model], page: str) -> state.Selection:
    """Draw the shared controls and return what they select. Call once per run, before the page."""
    model = state.init(catalog, cache.examples, page)
    with st.sidebar:
        st.toggle(
            "Presentation mode",
            key=state.PRESENT,
            persist_state="session",
            help="For a projector: large type, this sidebar folded away, and Step through one equation at a time "
            "(→ / ← move, Space plays). A link with present=1 opens in it.",
        )
        model = state.SIDEBAR_PICKER.draw(
            catalog,
            on_change=state.on_model_change,
            on_task_change=state.on_task_change,
            task_args=(catalog, cache.examples),
        )
        input_box(state.TEXT, state.on_input_change)
        mode = st.radio(
            "Decoding",
            FREE_RUNNING,
            key=state.MODE,
            format_func=lambda m: state.MODE_LABELS[m],
            horizontal=True,
        )
        if mode == "beam":
            st.slider("Beam width", *state.BEAM_WIDTH_RANGE, key=state.BEAM_WIDTH, persist_state="session")
        elif mode == "sample":
            st.slider("Temperature", *state.TEMPERATURE_RANGE, step=0.1, key=state.TEMPERATURE, persist_state="session")
            st.number_input("Seed", *state.SEED_RANGE, step=1, key=state.SEED, persist_state="session")
        model_card(model)
        problems = cache.catalog_problems()
        if problems:
            with st.expander(f":material/warning: {len(problems)} of your files could not be opened"):
                for sentence in problems:
                    st.caption(md_escape(sentence))
    return state.selection(catalog)


def input_box(key: str, on_change) -> None:
    """The input: the sidebar's, or (on a phone, where the sidebar is a drawer) one on Translate itself."""
    st.text_input(
        "Input",
        key=key,
        max_chars=cache.LIMITS.input_chars,
        on_change=on_change,
        help="Type a sentence and press Enter.",
        placeholder="Type a sentence and press Enter",
    )


def model_card(model: cache.Model) -> None:
    """Name, task, architecture, size, test metrics and data attribution, in a few lines."""
    entry: dict[str, Any] = model.entry
    config = entry.get("config", {})
    st.divider()
    st.markdown(f"**{md_escape(model.name)}**")
    if model.origin != "shipped":
        st.caption(md_escape(f"From {model.origin_label}" + (f": {model.directory}" if model.directory else ".")))
    description = (entry.get("task") or {}).get("description")
    if description:
        st.caption(md_escape(description))
    parts = [
        picker.CELL_LABELS.get(model.cell, model.cell),
        f"attention {picker.ATTENTION_LABELS.get(model.attention, model.attention)}",
        f"hidden {config.get('hidden_size', '?')}",
    ]
    if config.get("bidirectional"):
        parts.append("bidirectional encoder")
    if config.get("layers", 1) > 1:
        parts.append(f"{config['layers']} layers")
    if entry.get("parameters"):
        parts.append(f"{entry['parameters']:,} parameters")
    st.caption(md_escape(" · ".join(parts)))
    test = (entry.get("metrics") or {}).get("test") or {}
    scores = [f"{label} {test[key]:.3f}" for key, label in METRIC_NAMES.items() if isinstance(test.get(key), float)]
    if scores:
        st.caption(md_escape(f"Test ({test.get('examples', '?')} examples): " + " · ".join(scores)))
    provenance = entry.get("provenance") or {}
    if provenance.get("attribution"):
        licence = f", {provenance['license']}" if provenance.get("license") else ""
        st.caption(md_escape(f"Data: {provenance['attribution']}{licence}"))
