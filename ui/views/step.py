"""Step through: one decoder step at a time, as the chain of equations beside the live tensors of the Trace.

The stepper is an st.fragment: moving between steps reruns only the fragment and reads the cached Trace,
so the model never runs again. Play is the same fragment with run_every set.

Presentation mode turns a step into a slide per line of its chain (H → s_t → e_t → α_t → c_t → ŝ_t → p(y_t)):
the controls, the heatmap with row t outlined and the current equation with its live tensor fit 1280×720.
Predict, then reveal keeps step t's attention row, output and the tensors that give them away hidden until the
step is revealed; a student first clicks the source token they expect step t to attend to.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui import attribution_charts, cache, charts, components, equations, state, urls
from ui.text import display_token, md_escape

HEATMAP_PRESENT_PX = 380  # a slide's heatmap fills its column whatever the rows (fewer rows, taller ones)
# A slide's columns at 1280×720: the heatmap's 5 of 12, or half for a long source, so its labels keep a readable
# size (the charts fit them to their column's share of the page: ui.charts.plot_px).
SLIDE_COLUMNS, SLIDE_COLUMNS_LONG, LONG_SOURCE = (5, 7), (6, 6), 14
LAB_COLUMNS = (5, 8)
SLIDE_TENSOR_PX = 280  # the tallest a slide's tensor may be (the rest of the slide takes ~400 px of 720)
SYMBOL_OF = {"query": r"s_{t-1}"}  # chain-overview symbols that differ from the line's tensor symbol


def page() -> None:
    trace = components.page_trace("Step through", compact=bool(st.session_state.get(state.PRESENT)))
    if trace is None:
        return
    state.clamp_step(len(trace.steps) - 1)
    timer = st.session_state[state.SPEED] if st.session_state[state.PLAYING] else None
    st.fragment(run_every=timer)(_stepper)(trace, timer)
    if not st.session_state.get(state.PRESENT):
        components.downloads(trace, components.file_stem(trace), key="step-download")


def _stepper(trace, timer: float | None) -> None:
    components.pace()  # a fragment run skips app.py, so it keeps its own pace
    ss = st.session_state
    last = len(trace.steps) - 1
    lines = equations.chain(trace.model)
    present = bool(ss.get(state.PRESENT))
    playing = bool(ss[state.PLAYING])
    if playing != (timer is not None) or (playing and timer != ss[state.SPEED]):
        st.rerun(scope="app")  # starting, stopping or re-timing the player needs the fragment redefined
    if playing and not ss.pop(state.STEP_CLICKED, False):
        if state.at_end(last, len(lines)):
            ss[state.PLAYING] = False
            st.rerun(scope="app")
        state.move(+1, last, len(lines))  # a timer tick (widgets of this step are not drawn yet)
    t = state.clamp_step(last)
    ss[state.SUBSTEP] = min(max(int(ss.get(state.SUBSTEP, 0)), 0), len(lines) - 1)
    reveal_line = _reveal_line(lines)
    shown = state.revealed(t, reveal_line)

    _controls(t, last, lines, playing, present)
    step = trace.steps[t]
    writes = f"«{display_token(step.output_token)}» with p = {step.output_prob:.3f}" if shown else "?"
    st.markdown(
        md_escape(
            f"Step t = {t} of 0…{last}: the decoder reads y(t−1) = «{display_token(step.input_token)}» "
            f"and writes y(t) = {writes}"
        )
        + (" *(forced)*" if step.forced and trace.mode == "forced_prefix" else "")
    )
    body = st.container(key="step-body")  # its two columns stack when the page is narrow (ui.components.LAB_CSS)
    long = len(trace.source_tokens) > LONG_SOURCE
    split = (SLIDE_COLUMNS_LONG if long else SLIDE_COLUMNS) if present else LAB_COLUMNS
    left, right = body.columns(list(split), gap="medium")
    shares = (split[0] / sum(split), split[1] / sum(split))
    hide_from = None if not ss.get(state.PREDICT) else (t + 1 if shown else t)
    with left:
        if trace.attention is not None:
            components.chart(
                charts.attention_heatmap,
                trace,
                highlight=t,
                title=None if present else "α, row t outlined",
                narrow=True,
                hide_from=hide_from,
                height=HEATMAP_PRESENT_PX if present else None,
                page_share=shares[0],
                key="step-heatmap",
            )
        else:
            st.info("No attention here: the same context c feeds every step, so there is no attention map.")
            components.chart(
                charts.token_probabilities,
                trace,
                hide_from=hide_from,
                narrow=True,
                page_share=shares[0],
                key="step-probs",
            )
        if ss.get(state.PREDICT) and not present:
            _predict(trace, t, shown)
        if not present and shown:
            _attribution(trace, t)
    with right:
        if present:
            _slide(trace, t, lines, shares[1])
        else:
            _equations(trace, t, lines, shown, reveal_line, shares[1])
    urls.write(state.PAGE_STEP)


def _attribution(trace, t: int) -> None:
    """On demand (a switch: it costs a few decodes, once per sentence and method): step t's attention beside an
    attribution of log p(y_t) to the source tokens. The Attribution page has the whole matrices."""
    if not st.toggle("Attribution beside α", key=state.STEP_ATTRIBUTION, help="How much each source token "
                     "contributed to log p(y_t), measured, beside where the attention looked (the Attribution page "
                     "shows it all)."):  # fmt: skip
        return
    method = st.radio(  # a horizontal radio wraps in the heatmap's narrow column, where a segmented control is cut
        "Method", list(state.ATTRIBUTION_METHODS), format_func=state.ATTRIBUTION_METHODS.get,
        key=state.STEP_ATTRIBUTION_METHOD, horizontal=True, label_visibility="collapsed",
    )  # fmt: skip
    selection = state.selection(cache.catalog())
    key = cache.trace_key(selection.text, selection.mode, selection.options)
    try:
        full = cache.attributed(selection.model, trace, key, method)
    except cache.Seq2SeqVizError as exc:
        st.warning(md_escape(str(exc)))
        return
    components.chart(attribution_charts.step_bars, full, method, t, key="step-attribution")


def _reveal_line(lines: list[equations.Line]) -> int:
    """The first line whose tensor gives step t away: the energies (their argmax is α's), or, without
    attention, the output distribution."""
    for number, line in enumerate(lines):
        if line.tensor in ("energies", "probs"):
            return number
    return len(lines) - 1


def _controls(t: int, last: int, lines: list[equations.Line], playing: bool, present: bool) -> None:
    """Previous / Next (← / →), Play (Space); outside presentation mode also First / Last, the speed and a slider.

    The buttons sit in one wrapping row at their own width, so at a large zoom they wrap instead of shrinking to
    "P…"; the step, the speed and the reveal switch sit in a second row."""
    at_start, at_end = state.at_start(), state.at_end(last, len(lines))
    buttons = st.container(horizontal=True, vertical_alignment="center", gap="small", key="step-controls")
    with buttons:
        if not present:
            st.button("First", key="step-first", on_click=_go, args=(0,), disabled=t == 0)
        st.button(
            "Previous",
            icon=":material/chevron_left:",
            key="step-previous",
            on_click=_move,
            args=(-1, last, len(lines)),
            disabled=at_start,
            shortcut="Left",
            help="Previous (←): the previous line of the chain in presentation mode, else the previous step",
        )
        st.button(
            "Next",
            icon=":material/chevron_right:",
            key="step-next",
            on_click=_move,
            args=(+1, last, len(lines)),
            disabled=at_end,
            shortcut="Right",
            help="Next (→): the next line of the chain in presentation mode, else the next step",
        )
        if not present:
            st.button("Last", key="step-last", on_click=_go, args=(last,), disabled=t == last)
        st.button(
            "Pause" if playing else "Play",
            icon=":material/pause:" if playing else ":material/play_arrow:",
            key="step-play",
            on_click=_toggle_play,
            args=(last, len(lines)),
            disabled=last == 0 and (not present or len(lines) == 1),
            shortcut="Space",
            help="Play / pause (Space)",
        )
        if present:
            _predict_toggle()
            st.markdown(md_escape(f"t = {t} of {last} · line {st.session_state[state.SUBSTEP] + 1} of {len(lines)}"))
    if present:
        if playing:
            st.progress(t / max(last, 1))
        return
    where, speed, predict = st.columns([3, 1.8, 3.2], vertical_alignment="bottom")
    with predict:
        _predict_toggle()
    speed.select_slider("Seconds per step", state.SPEEDS, key=state.SPEED, on_change=_clicked)
    if playing:  # a slider would send back the step it showed, racing the timer: show progress instead
        where.progress(t / max(last, 1), text=f"Playing: step {t} of {last}")
    elif last > 0:
        st.session_state[state.STEP_SLIDER] = t
        where.slider("Step t", 0, last, key=state.STEP_SLIDER, on_change=_slid)


def _predict_toggle() -> None:
    st.toggle(
        "Predict, then reveal",
        key=state.PREDICT,
        persist_state="session",
        on_change=_clicked,
        help="Hide each step's attention row and output until it is revealed: first guess where it will look.",
    )


def _go(target: int) -> None:
    _clicked()
    state.set_step(target)


def _move(direction: int, last: int, lines: int) -> None:
    _clicked()
    state.move(direction, last, lines)


def _slid() -> None:
    _clicked()
    state.set_step(st.session_state[state.STEP_SLIDER])


def _clicked() -> None:
    st.session_state[state.STEP_CLICKED] = True


def _toggle_play(last: int, lines: int) -> None:
    _clicked()
    ss = st.session_state
    ss[state.PLAYING] = not ss[state.PLAYING]
    if ss[state.PLAYING] and state.at_end(last, lines):
        state.set_step(0)


def _predict(trace, t: int, shown: bool) -> None:
    """Where will it look? The student clicks a source token, then reveals step t's row and sees if they matched."""
    if trace.attention is None:
        st.caption("Predict, then reveal: this model has no attention, so only its outputs are hidden until revealed.")
    elif not shown:
        labels = [display_token(token) for token in trace.source_tokens]
        st.pills(
            f"Where will step t = {t} look? Click the source token you expect it to attend to most.",
            list(range(len(labels))),
            key=state.GUESS,
            format_func=lambda j: md_escape(labels[j]),
        )
    if not shown:
        most = int(np.argmax(trace.steps[t].weights)) if trace.attention is not None else None
        st.button("Reveal step t", icon=":material/visibility:", key="step-reveal", on_click=_reveal, args=(t, most))
        return
    guesses = st.session_state.get(state.GUESSES, {})
    if t in guesses:
        guess, most = guesses[t]
        source = trace.source_tokens
        weight = trace.steps[t].weights[most]
        verdict = "You matched the model" if guess == most else f"You picked «{display_token(source[guess])}»"
        message = f"{verdict}: step {t} attends most to «{display_token(source[most])}» (α = {weight:.2f})."
        (st.success if guess == most else st.info)(md_escape(message))
    if guesses:
        matched = sum(guess == most for guess, most in guesses.values())
        st.caption(f"Your guesses so far: {matched} of {len(guesses)} matched the most-attended token.")


def _reveal(t: int, most: int | None) -> None:
    _clicked()
    state.reveal(t, most)


def _padded(latex: str) -> str:
    """A thin space at each end: a box or a last subscript otherwise overhangs KaTeX's own box by a pixel or two,
    and st.latex scrolls what overhangs."""
    return rf"\,{latex}\,"


def _overview(lines: list[equations.Line], current: int) -> str:
    """The chain as one line of symbols, the current one boxed: H → s_t → e_t → α_t → ..."""
    symbols = [SYMBOL_OF.get(line.tensor, line.symbol) for line in lines]
    return r" \to ".join(rf"\boxed{{{symbol}}}" if i == current else symbol for i, symbol in enumerate(symbols))


def _slide(trace, t: int, lines: list[equations.Line], page_share: float) -> None:
    """One line of step t's chain, large: where it sits in the chain, the equation, its note and its tensor.

    Nothing to hide here when predicting: reaching the line that would give step t away reveals it
    (state.revealed)."""
    number = st.session_state[state.SUBSTEP]
    line = lines[number]
    st.latex(_padded(_overview(lines, number)))
    with st.container(key="step-equation"):
        st.latex(_padded(r"\LARGE " + line.latex))
    step = trace.steps[t]
    if line.note:
        st.markdown(md_escape(line.note))
    st.caption(_label(step, line))
    components.chart(
        charts.step_tensor,
        trace,
        t,
        line.tensor,
        line.symbol,
        max_px=SLIDE_TENSOR_PX,
        page_share=page_share,
        key=f"step-tensor-{number}",
    )


def _equations(trace, t: int, lines: list[equations.Line], shown: bool, reveal_line: int, page_share: float) -> None:
    """Every line of step t's chain, each equation above its live tensor (side by side they did not fit)."""
    step = trace.steps[t]
    for number, line in enumerate(lines):
        with st.container(key=f"step-line-{number}"):
            st.latex(_padded(line.latex))
            st.caption(_label(step, line) + (f" — {md_escape(line.note)}" if line.note else ""))
            if number >= reveal_line and not shown:
                st.caption("Hidden until step t is revealed: it would give away where it looks.")
                continue
            components.chart(
                charts.step_tensor,
                trace,
                t,
                line.tensor,
                line.symbol,
                page_share=page_share,
                key=f"step-tensor-{number}",
            )


def _label(step, line) -> str:
    """The tensor's math name, its name in the Trace and its shape as recorded there."""
    shape = step.shapes[line.shape_key or line.tensor]
    label = f"${line.symbol}$ · `{line.shape_key or line.tensor}` · shape {shape}"
    if line.tensor == "weights":
        label += f" · Σα = {sum(step.weights):.4f}"
    if line.tensor == "state" and "rnn_input" in step.shapes:
        label += f" · input shape {step.shapes['rnn_input']}"
    return label


page()
