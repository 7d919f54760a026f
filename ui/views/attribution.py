"""Attribution: is attention an explanation? The sidebar's decode with attention and an attribution method side by
side, as whole matrices on one scale and at step t, and how well they agree step by step."""

from __future__ import annotations

import streamlit as st

from seq2seq_viz.agreement import agreement
from ui import attribution_charts, cache, charts, components, state
from ui.text import md_escape

HOW = {
    "integrated_gradients": "integrated gradients: the gradient of log p(y_t) averaged along the straight path from "
    "zero embeddings to the source's (32 steps), times the embeddings; its scores add up to the change in log p(y_t)",
    "grad_x_input": "gradient × input: the gradient of log p(y_t) with respect to each source embedding, times the "
    "embedding; cheap, and blind where the model is already sure (a gradient near zero)",
    "occlusion": "occlusion: how much log p(y_t) drops when that one source token is replaced by <unk> and the same "
    "output is scored again",
}


def page() -> None:
    selection = state.selection(cache.catalog())
    model = selection.model
    st.header("Attention and attribution")
    st.caption(
        "Does the attention weight on a source token say how much that token mattered for the output? Attribution "
        "measures it directly: how much each source token contributed to log p(y_t), the log-probability of the "
        "token the model wrote at step t. Both are drawn on one scale: the attribution as each token's share of "
        "|a_t| (its sign is in the hover)."
    )
    ss = st.session_state
    ss.setdefault(state.ATTRIBUTION_METHOD, state.DEFAULT_ATTRIBUTION)
    method = st.segmented_control(
        "Attribution method",
        list(state.ATTRIBUTION_METHODS),
        format_func=state.ATTRIBUTION_METHODS.get,
        key=state.ATTRIBUTION_METHOD,
        required=True,
        help="How a source token's contribution to log p(y_t) is measured.",
    )
    st.caption(md_escape(HOW[method].capitalize() + "."))
    trace = components.decode(model, selection.text, selection.mode, options=selection.options)
    if trace is None:
        return
    components.unknown_note(trace)
    try:
        full = cache.attributed(
            model, trace, cache.trace_key(selection.text, selection.mode, selection.options), method
        )
    except cache.Seq2SeqVizError as exc:
        st.warning(md_escape(str(exc)))
        return
    last = len(full.output_tokens) - 1
    t = min(max(int(ss.get(state.STEP, 0)), 0), last)
    _matrices(full, method, t)
    if last > 0:
        ss[state.ATTRIBUTION_STEP] = t
        st.slider("Output step t (the same step as on Step through)", 0, last, key=state.ATTRIBUTION_STEP,
                  on_change=_slid)  # fmt: skip
    _step(full, method, t)
    _completeness(full, method)
    components.downloads(full, f"{full.model['name']}-attribution", key="attribution-downloads")


def _slid() -> None:
    state.set_step(st.session_state[state.ATTRIBUTION_STEP])


def _matrices(trace, method: str, t: int) -> None:
    left, right = st.columns(2, gap="medium")
    with left:
        st.markdown("**Attention α**")
        if trace.attention is None:
            st.info(
                "No attention: one fixed context vector carries the whole sentence. Attribution still shows which "
                "source words each output depended on."
            )
        else:
            components.chart(
                charts.attention_heatmap, trace, t, None, narrow=True, page_share=0.5, key="attribution-attention"
            )
    with right:
        st.markdown(f"**Attribution: {md_escape(state.ATTRIBUTION_METHODS[method].lower())}**")
        components.chart(attribution_charts.attribution_heatmap, trace, method, t, key="attribution-matrix")


def _step(trace, method: str, t: int) -> None:
    step_col, agree_col = st.columns(2, gap="medium")
    with step_col:
        st.markdown(f"**Step t = {t}: writing «{md_escape(trace.output_tokens[t])}»**")
        components.chart(attribution_charts.step_bars, trace, method, t, key="attribution-step")
    if trace.attention is None:
        return
    found = agreement(trace.attention, trace.attribution[method].array)
    with agree_col:
        st.markdown("**Do they agree?**")
        components.chart(attribution_charts.agreement_lines, trace, method, t, key="attribution-agreement")
        rho = found["spearman"][t]
        top = found["top_match"][t]
        st.caption(
            md_escape(
                f"At step {t}: ρ = {'–' if rho is None else f'{rho:.2f}'}, and the most attended token "
                f"{'is' if top else 'is not'} the most attributed one. Over the sentence: mean ρ "
                f"{'–' if found['mean_spearman'] is None else format(found['mean_spearman'], '.2f')}, same top token "
                f"at {found['top_match_rate']:.0%} of the steps. (Filled markers: same top token.)"
            )
        )


def _completeness(trace, method: str) -> None:
    value = trace.attribution[method]
    if value.completeness_error is None:
        return
    share = value.completeness_error / max(value.completeness_scale or 0.0, 1e-12)
    st.caption(
        md_escape(
            f"Completeness: each row of integrated gradients adds up to log p(y_t) at the source minus at zero "
            f"embeddings, within {value.completeness_error:.3f} (largest change {value.completeness_scale:.2f}, "
            f"so {share:.1%}): the scores can be read as parts of that change."
        )
    )


page()
