"""Models: how every shipped model of the sidebar's task scores, as a cell × attention grid, by length and per card."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import cache, components, picker, state, zoo_charts
from ui.text import md_escape


def page() -> None:
    catalog = cache.catalog()
    selected = state.selection(catalog).model
    entries = {name: model.entry for name, model in catalog.items() if model.task == selected.task}
    st.header("Models")
    st.caption(
        md_escape(
            f"The {len(entries)} shipped {selected.task} model(s), measured on the task's test split (greedy "
            "decoding). Pick another task in the sidebar; the sidebar's model is outlined in orange."
        )
    )
    shared = zoo_charts.settings_summary(zoo_charts.shared_settings(entries))
    if shared and len(entries) > 1:
        differ = zoo_charts.differences(entries)
        besides = f"Besides the cell and the attention, they differ in {'; '.join(differ)}." if differ else (
            "Only the cell and the attention differ.")  # fmt: skip
        st.caption(md_escape(f"Every one of them shares: {shared}. {besides}"))

    metrics = zoo_charts.metrics_of(entries)
    if not metrics:
        st.info("These models' cards record no test metrics: `python -m seq2seq_viz build-zoo --reevaluate` adds them.")
    else:
        picker, _ = st.columns([1, 2])
        metric = picker.selectbox(
            "Measure", metrics, key=state.ZOO_METRIC, format_func=lambda m: m.label, help="Colours the grid below."
        )
        style = state.chart_style()
        components.plot(zoo_charts.variant_heatmap(entries, metric, selected.name, style), key="models-grid")
        if metric.lower_is_better:
            st.caption("Lower is better here: the brightest squares align closest to the gold alignment.")

        st.subheader("By length")
        groups = zoo_charts.line_groups(entries, selected.name)
        kind = _lines_picker(groups, selected)
        shown = {name: entries[name] for name in groups[kind]}
        components.plot(zoo_charts.by_length_chart(shown, selected.name, style), key="models-by-length")
        st.caption(
            "Colour is the attention score; grey lines are fixed-context models (attention none), the whole source "
            "squeezed into one vector. The dash is the cell: GRU solid, LSTM dashed, RNN dotted. The thick line is "
            "the sidebar's model. Click a legend entry to hide its line."
        )

        st.subheader("Every model")
        numbers = zoo_charts.table_numbers(entries)
        table = pd.DataFrame(zoo_charts.table_rows(entries))
        for column in numbers:  # a column missing everywhere is still a number column (it sorts as one)
            table[column] = pd.to_numeric(table[column], errors="coerce")
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={column: st.column_config.NumberColumn(**spec) for column, spec in numbers.items()},
            placeholder="—",
        )
        st.caption(
            "Click a column's header to sort by it; hover a header for its full name. — : not measured (a "
            "fixed-context model has no attention, so no alignment error)."
            if any(metric.field == "aer" for metric in metrics)
            else "Click a column's header to sort by it; hover a header for its full name."
        )

    st.subheader(md_escape(f"Training of {selected.name}"))
    curves = zoo_charts.training_curves(selected.entry, state.chart_style())
    if curves is None:
        st.info("This model's card records no per-epoch history.")
    else:
        components.plot(curves, key="models-training")
    provenance = selected.entry.get("provenance") or {}
    details = [f"sha256 {selected.sha256[:16]}…"] if selected.sha256 else []
    if provenance.get("attribution"):
        details.append(f"data: {provenance['attribution']} ({provenance.get('license', 'license not recorded')})")
    if details:
        st.caption(md_escape(" · ".join(details)))


def _lines_picker(groups: dict[str, list[str]], selected: cache.Model) -> str:
    """Which models the by-length chart draws (a key of groups): by default those with the sidebar's cell, so
    the fixed context and the attention scores of one cell stand apart (Bahdanau's figure), legible on a
    projector; the sidebar's attention across the cells, or every model, one click away."""
    if len(groups) == 1:
        return next(iter(groups))
    ss = st.session_state
    if ss.get(state.ZOO_LINES) not in groups:  # first visit, or a task whose models offer fewer sets
        ss[state.ZOO_LINES] = next(iter(groups))
    labels = {
        "cell": f"{picker.CELL_LABELS.get(selected.cell, selected.cell)}, every attention",
        "attention": f"{picker.ATTENTION_LABELS.get(selected.attention, selected.attention)}, every cell",
        "all": "every model",
    }
    return st.segmented_control(
        "Lines",
        list(groups),
        key=state.ZOO_LINES,
        required=True,
        format_func=lambda kind: f"{labels[kind]} ({len(groups[kind])})",
        help="Which models the chart draws: the sidebar model's cell with every attention score (attention "
        "against the fixed context), its attention score in every cell, or all of them.",
    )


page()
