"""Teacher forcing vs free-running: feed the gold token or the model's own, see where they part, and intervene."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import cache, charts, components, state
from ui.text import display_token, md_escape, quoted

# Each table has half the main area: 392 px at 1280×720 with the sidebar open. The key columns come first, narrow
# and fixed, so they are never the ones pushed off-screen; the token columns share what is left (and widen on a
# wider screen). The fed token is left out: it is the row above's gold (teacher-forced) or output (free-running).
TABLE_PX = 392
KEY_COLUMNS = {
    "t": st.column_config.NumberColumn("t", width=36, help="The decoder step."),
    "✓": st.column_config.TextColumn("✓", width=36, help="✓ where the model's token is the gold token."),
    "p(gold)": st.column_config.NumberColumn(
        "p(gold)", format="%.4f", width=68, help="The probability the model gave the gold token."
    ),
    "loss": st.column_config.NumberColumn("loss", format="%.3f", width=56, help="−log p(gold)."),
    "p(output)": st.column_config.NumberColumn(
        "p(output)", format="%.4f", width=76, help="The probability of the token the model wrote."
    ),
}


def _columns(table: pd.DataFrame) -> dict:
    """Fixed widths for the key columns, and the room that is left shared by the token columns."""
    keys = [name for name in table.columns if name in KEY_COLUMNS]
    tokens = [name for name in table.columns if name not in KEY_COLUMNS]
    left = TABLE_PX - sum(KEY_COLUMNS[name]["width"] for name in keys)
    token_px = left // max(len(tokens), 1)
    return {
        **{name: KEY_COLUMNS[name] for name in keys},
        **{name: st.column_config.TextColumn(name, width=token_px) for name in tokens},
    }


def page() -> None:
    catalog = cache.catalog()
    selection = state.selection(catalog)
    model = selection.model
    st.header("Teacher forcing vs free-running")
    st.caption(
        "Teacher forcing feeds the gold token at every step (how the model was trained); free-running feeds back the "
        "model's own greedy output (how it is used). The sidebar's decoding mode does not apply on this page."
    )
    pairs = cache.examples(model).get("test_pairs", [])
    pair_col, reference_col = st.columns(2, gap="medium")
    if pairs:
        _show_matching_pair(pairs, selection.text)
        pair_col.selectbox(
            "Test pair (source → reference)",
            [None, *range(len(pairs))],
            key=state.TEST_PAIR,
            format_func=lambda i: "Pick a test pair…" if i is None else _pair_label(pairs[i]),
            on_change=_use_pair,
            args=(pairs,),
        )
    reference_col.text_input(
        "Reference (the gold output)", key=state.REFERENCE, on_change=state.on_input_change, persist_state="session"
    )
    reference = state.reference()
    if not reference.strip():
        st.info(
            "Type the reference translation of the input (or pick a test pair) to compare the two ways of decoding."
        )
        return

    teacher = components.decode(model, selection.text, "teacher_forced", reference=reference)
    if teacher is None:  # its one sentence is shown; the free-running decode would only say it again
        return
    free = components.decode(model, selection.text, "greedy", reference=reference)
    if free is None:
        return
    components.unknown_note(teacher)
    if teacher.unknown_reference_tokens:
        unknown = list(dict.fromkeys(teacher.reference_tokens[i] for i in teacher.unknown_reference_tokens))
        st.warning(
            f"The model cannot write {quoted(unknown)} (not in its output vocabulary), so the gold token there "
            + md_escape("is <unk>.")
        )

    diverged = charts.divergence_step(free)
    _divergence_note(free, diverged)
    tf_col, free_col = st.columns(2, gap="medium")
    with tf_col:
        st.subheader("Teacher-forced")
        st.caption(
            "The gold token is fed at each step (the row above's gold); the model's prediction, p(gold) and the loss "
            "−log p(gold)."
        )
        if teacher.attention is not None:
            components.chart(
                charts.attention_heatmap,
                teacher,
                title="α teacher-forced (rows: gold output, columns: source)",
                mark=diverged,
                gold_rows=True,
                page_share=0.5,
                key="tf-heatmap",
            )
        table = _teacher_table(teacher)
        st.dataframe(table, hide_index=True, width="stretch", column_config=_columns(table))
        if teacher.total_loss is not None:
            st.caption(f"Total loss: {teacher.total_loss:.3f}")
    with free_col:
        st.subheader("Free-running")
        st.caption("The model's own previous output is fed back at each step (greedy): the row above's output.")
        if free.attention is not None:
            components.chart(
                charts.attention_heatmap,
                free,
                title="α free-running (rows: output, columns: source)",
                mark=diverged,
                page_share=0.5,
                key="free-heatmap",
            )
        table = _free_table(free)
        st.dataframe(table, hide_index=True, width="stretch", column_config=_columns(table))
        st.caption(md_escape(f"Output: {free.output_text}"))
    if teacher.attention is not None:
        st.caption("Both maps use the same colour scale, α from 0 to 1; the dashed line marks the first divergence.")
    components.plot(charts.teacher_forcing_comparison(teacher, free, state.chart_style()), key="tf-comparison")

    _intervention(model, selection.text, reference, free, diverged)

    st.subheader("Downloads")
    st.caption("Teacher-forced trace")
    components.downloads(teacher, components.file_stem(teacher), key="tf-download-teacher")
    st.caption("Free-running trace")
    components.downloads(free, components.file_stem(free), key="tf-download-free")


def _pair_label(pair: dict) -> str:
    references = pair.get("references") or [""]
    return f"{pair.get('source', '')}  →  {references[0]}"


def _show_matching_pair(pairs: list[dict], text: str) -> None:
    """The picker names the test pair the input and reference already are (prefilled, linked or typed), rather
    than asking to pick one; it goes back to "Pick…" once they match none."""
    ss = st.session_state
    reference = ss.get(state.REFERENCE, "")
    ss[state.TEST_PAIR] = next(
        (
            i
            for i, pair in enumerate(pairs)
            if pair.get("source", "").strip() == text.strip() and reference.strip() in (pair.get("references") or [])
        ),
        None,
    )


def _use_pair(pairs: list[dict]) -> None:
    index = st.session_state.get(state.TEST_PAIR)
    if index is None:
        return
    pair = pairs[index]
    st.session_state[state.TEXT] = pair["source"]
    st.session_state[state.REFERENCE] = (pair.get("references") or [""])[0]
    state.on_input_change()


def _divergence_note(free, diverged: int | None) -> None:
    gold = free.reference_tokens or []
    if diverged is None:
        st.success("Free-running reproduces the reference exactly: the two ways of decoding never part.")
        return
    wrote = display_token(free.output_tokens[diverged]) if diverged < len(free.output_tokens) else "nothing more"
    expected = display_token(gold[diverged]) if diverged < len(gold) else "nothing more"
    st.warning(
        md_escape(
            f"They diverge at step {diverged}: free-running wrote «{wrote}» where the reference has «{expected}». "
            "From there on the model reads its own mistake."
        )
    )


def _teacher_table(trace) -> pd.DataFrame:
    """Step, ✓, p(gold), loss, then the tokens: the key columns first, so a narrow screen cuts only tokens."""
    return pd.DataFrame(
        [
            {
                "t": step.t,
                "✓": "✓" if step.output_token == step.gold_token else "✗",
                "p(gold)": step.gold_prob,
                "loss": step.loss,
                "gold": display_token(step.gold_token or ""),
                "predicted": display_token(step.output_token),
            }
            for step in trace.steps
        ]
    )


def _free_table(trace) -> pd.DataFrame:
    """Step, ✓ (the gold token was written), p(output), then the tokens."""
    return pd.DataFrame(
        [
            {
                "t": step.t,
                "✓": "✓" if step.output_token == step.gold_token else "✗",
                "p(output)": step.output_prob,
                "output": display_token(step.output_token),
                "gold": display_token(step.gold_token) if step.gold_token is not None else "",
            }
            for step in trace.steps
        ]
    )


def _intervention(model: cache.Model, text: str, reference: str, free, diverged: int | None) -> None:
    st.subheader("What if? Force a token and let free-running continue")
    ss = st.session_state
    last = len(free.steps) - 1
    if ss.get(state.FORCE_AT) is None or ss[state.FORCE_AT] > last:
        ss[state.FORCE_AT] = diverged if diverged is not None and diverged <= last else 0
    at_col, pick_col, typed_col, button_col = st.columns([1, 2, 2, 1], vertical_alignment="bottom")
    t = at_col.number_input("At step", 0, last, key=state.FORCE_AT, step=1)
    topk = free.steps[t].topk
    if ss.get(state.FORCE_PICK) not in range(len(topk)):
        # The runner-up first: forcing the model's own choice would change nothing.
        ss[state.FORCE_PICK] = 1 if len(topk) > 1 else 0
    pick_col.selectbox(
        "Choose from the top-k",
        range(len(topk)),
        key=state.FORCE_PICK,
        format_func=lambda i: f"{display_token(topk[i][0])}   (p = {topk[i][1]:.3f})",
    )
    typed_col.text_input("…or type a token", key=state.FORCE_TYPED, placeholder="a token the model can write")
    button_col.button("Force", icon=":material/bolt:", key="tf-force", on_click=_force, args=(topk,))

    forcing = ss.get(state.FORCING)
    if not forcing:
        st.caption("Pick a step and a token, then press Force.")
        return
    at, token = forcing
    if at > last:
        st.info(f"A token was forced at step {at}, but free-running wrote only steps 0 to {last}: pick a step above.")
        return
    prefix = [*free.output_tokens[:at], token]
    forced = components.decode(model, text, "forced_prefix", reference=reference, prefix=prefix)
    if forced is None:
        return
    st.markdown(md_escape(f"Forced «{display_token(token)}» at step {at}; free-running continued:"))
    components.output_box(forced.output_text, key="forced-output")
    if forced.attention is not None:
        components.chart(
            charts.attention_heatmap,
            forced,
            title="α after the intervention (✎ = forced)",
            mark_forced=True,
            key="forced-heatmap",
        )
    else:
        components.chart(charts.token_probabilities, forced, key="forced-probs")
    components.downloads(forced, components.file_stem(forced), key="tf-download-forced")


def _force(topk: list) -> None:
    ss = st.session_state
    typed = (ss.get(state.FORCE_TYPED) or "").strip()  # core normalizes it as the model's own text
    token = typed if typed else topk[ss.get(state.FORCE_PICK) or 0][0]
    ss[state.FORCING] = (int(ss[state.FORCE_AT]), token)


page()
