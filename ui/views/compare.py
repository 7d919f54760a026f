"""Compare: 2 to 4 models on the sidebar's input, side by side: outputs, attention maps, entropy, p(output), and
their test metrics by source length with the input's length marked."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from ui import cache, charts, compare_charts, components, picker, state
from ui.text import md_escape, quoted

if TYPE_CHECKING:
    from seq2seq_viz.trace import Trace

METRIC_COLUMNS = {
    "model": st.column_config.TextColumn("model"),
    "parameters": st.column_config.NumberColumn("parameters", format="%d"),
}


def page() -> None:
    catalog = cache.catalog()
    selection = state.selection(catalog)
    st.header("Compare models")
    st.caption(
        "The same input through several models of one task, decoded the same way (the sidebar's input and "
        "decoding). Every attention map uses one colour scale, α from 0 to 1, so the colours compare across "
        "models. Pick a preset or each model's cell and attention."
    )
    if sum(m.task == selection.model.task for m in catalog.values()) < 2:
        st.info(
            f"The task {selection.model.task} has only one model here, so there is nothing to compare it with: "
            "pick another task in the sidebar."
        )
        return
    names = _comparison(catalog, selection.model)
    models = [catalog[name] for name in names]

    decoded = [_decode(model, selection) for model in models]
    refusals = {message for _, message in decoded if message is not None}
    if all(trace is None for trace, _ in decoded) and len(refusals) == 1:  # the input's fault: say it once
        st.warning(md_escape(refusals.pop()))
        return
    columns = st.columns(len(models), gap="medium")
    traces = []
    for i, (column, (trace, message)) in enumerate(zip(columns, decoded, strict=True)):
        with column:
            traces.append(_output(i, trace, message))
    _heatmaps(models, traces)
    shown = [(m, t) for m, t in zip(models, traces, strict=True) if t is not None]
    if not shown:
        return
    labels = tuple(_short(m, models) for m, _ in shown)
    together = tuple(t for _, t in shown)

    st.subheader("Step by step")
    left, right = st.columns(2, gap="medium")
    with left:
        components.chart(compare_charts.entropy_lines, together, labels, key="compare-entropy")
        st.caption(
            "Entropy of α_t in bits: 0 is all attention on one source token; the dashed line, log₂ S, is attention "
            "spread evenly over all S source tokens. A model without attention has no line."
        )
    with right:
        components.chart(compare_charts.output_prob_lines, together, labels, key="compare-probs")
        st.caption("p(y_t): how sure each model was of the token it wrote at step t.")

    _metrics(shown, labels)


def _comparison(catalog: dict[str, cache.Model], model: cache.Model) -> tuple[str, ...]:
    """The presets row, the count and the pickers; returns the names compared (and keeps them for the URL)."""
    ss = st.session_state
    wanted = ss.get(state.COMPARED)
    if not wanted or any(n not in catalog or catalog[n].task != model.task for n in wanted):
        wanted = ss[state.COMPARED] = picker.default_comparison(catalog, model)
    if ss.get(state.COMPARE_APPLIED) != wanted:  # a preset, a link or a new task: point the pickers at it
        for pick, name in zip(state.COMPARE_PICKERS, wanted, strict=False):
            pick.select(catalog[name])
        ss[state.COMPARE_COUNT] = len(wanted)
    offered = picker.presets(catalog, model)
    low, high = state.COMPARE_RANGE
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    with row:
        st.segmented_control(
            "Models",
            list(range(low, high + 1)),
            key=state.COMPARE_COUNT,
            required=True,
            help=f"How many models side by side ({low} to {high}).",
        )
        if offered:
            st.pills(
                "Presets",
                list(offered),
                key=state.COMPARE_PRESET,
                on_change=_use_preset,
                args=(offered,),
                help="Fill the columns with a lesson's models, built around the sidebar's model.",
            )
    count = int(ss.get(state.COMPARE_COUNT) or low)
    names = []
    pickers = st.columns(count, gap="medium")
    for pick, column in zip(state.COMPARE_PICKERS[:count], pickers, strict=True):
        with column:
            names.append(pick.draw(catalog, task=model.task, compact=True).name)
    ss[state.COMPARED] = ss[state.COMPARE_APPLIED] = tuple(names)
    return tuple(names)


def _use_preset(offered: dict[str, tuple[str, ...]]) -> None:
    chosen = st.session_state.get(state.COMPARE_PRESET)
    if chosen in offered:
        st.session_state[state.COMPARED] = offered[chosen]
    st.session_state[state.COMPARE_PRESET] = None


def _decode(model: cache.Model, selection: state.Selection) -> tuple[Trace | None, str | None]:
    """(the model's cached Trace, None), or (None, the sentence that refused it)."""
    try:
        return cache.trace(model, selection.text, selection.mode, options=selection.options), None
    except cache.Seq2SeqVizError as exc:
        return None, str(exc)


def _output(i: int, trace: Trace | None, message: str | None) -> Trace | None:
    """Under model i's picker: its output, how sure it was, and its unknown tokens (or why it has none)."""
    if trace is None:
        st.warning(md_escape(message or ""))
        return None
    components.output_box(trace.output_text, key=f"compare-output-{i}")
    joint = 1.0
    for step in trace.steps:
        joint *= step.output_prob
    st.caption(md_escape(f"{len(trace.steps)} steps · p(output) = {joint:.3g}"))
    if trace.unknown_source_tokens:
        unknown = [trace.source_tokens[j] for j in trace.unknown_source_tokens]
        st.caption(md_escape(f"Never seen in training: {quoted(unknown, limit=5)} (marked †)."))
    return trace


def _heatmaps(models: list[cache.Model], traces: list) -> None:
    """The attention maps, two to a row: a quarter of a projected page is too narrow to read one."""
    per_row = 2 if len(models) > 2 else len(models)
    for start in range(0, len(models), per_row):
        row = st.columns(per_row, gap="medium")
        for column, i in zip(row, range(start, min(start + per_row, len(models))), strict=False):
            model, trace = models[i], traces[i]
            if trace is None:
                continue
            with column:
                title = f"{i + 1}. {_short(model, models)}"
                if trace.attention is None:
                    st.markdown(f"**{md_escape(title)}**")
                    st.info("No attention: one fixed context vector, the encoder's final state, for the whole output.")
                else:
                    components.chart(
                        charts.attention_heatmap, trace, title=title, page_share=1 / per_row, key=f"compare-heatmap-{i}"
                    )


def _short(model: cache.Model, models: list[cache.Model]) -> str:
    """A legend label: what differs between the compared models (cell and attention), the name when that clashes."""
    text = f"{picker.CELL_LABELS.get(model.cell, model.cell)} · {model.attention}"
    same = [m for m in models if (m.cell, m.attention) == (model.cell, model.attention)]
    return model.name if len(same) > 1 else text


def _source_length(trace, level: str) -> int:
    """The input's length as the test metrics bucket it: characters, or words without punctuation."""
    tokens = [t for t in trace.source_tokens[:-1]]  # the model appends <eos>
    return len(tokens) if level == "char" else sum(any(c.isalnum() for c in t) for t in tokens)


def _metrics(shown: list, labels: tuple[str, ...]) -> None:
    st.subheader("On their test sets")
    entries = tuple((label, model.entry) for label, (model, _) in zip(labels, shown, strict=True))
    first_model, first_trace = shown[0]
    level = (first_model.entry.get("config") or {}).get("level", "word")
    length = _source_length(first_trace, level)
    unit = "characters" if level == "char" else "words"
    seen = {label: compare_charts.longest_seen(entry) for label, entry in entries}
    short = {label: n for label, n in seen.items() if n and length > n}  # those that never saw a source this long
    if short:
        who = "these models" if len(short) == len(entries) else " and ".join(short)
        st.warning(
            md_escape(
                f"Your input has {length} {unit}; {who} never saw a source longer than {max(short.values())} {unit} "
                f"in training, so expect {'them' if len(short) > 1 else 'it'} to falter (a fixed context most of all)."
            )
        )
    rows = compare_charts.metrics_rows(entries)
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config=METRIC_COLUMNS)
    figure = compare_charts.by_length(entries, length, style=state.chart_style())
    if figure is not None:
        components.plot(figure, key="compare-by-length")
        st.caption(md_escape(f"Test score by source length ({unit}); the band marks your input's {length} {unit}."))


page()
