"""Step through: one decoder step at a time, as the chain of equations beside the live tensors of the Trace.

The stepper is an st.fragment: moving between steps reruns only the fragment and reads the cached Trace,
so the model never runs again. Play is the same fragment with run_every set.
"""

from __future__ import annotations

import streamlit as st

from ui import charts, components, equations, state
from ui.text import display_token, md_escape


def page() -> None:
    trace = components.page_trace("Step through")
    if trace is None:
        return
    state.clamp_step(len(trace.steps) - 1)
    timer = st.session_state[state.SPEED] if st.session_state[state.PLAYING] else None
    st.fragment(run_every=timer)(_stepper)(trace, timer)
    components.downloads(trace, components.file_stem(trace), key="step-download")


def _stepper(trace, timer: float | None) -> None:
    components.pace()  # a fragment run skips app.py, so it keeps its own pace
    ss = st.session_state
    last = len(trace.steps) - 1
    playing = bool(ss[state.PLAYING])
    if playing != (timer is not None) or (playing and timer != ss[state.SPEED]):
        st.rerun(scope="app")  # starting, stopping or re-timing the player needs the fragment redefined
    if playing and not ss.pop(state.STEP_CLICKED, False):
        if ss[state.STEP] >= last:
            ss[state.PLAYING] = False
            st.rerun(scope="app")
        ss[state.STEP] = ss[state.STEP] + 1  # a timer tick (widgets of this step are not drawn yet)
    t = state.clamp_step(last)

    _controls(t, last, playing)
    step = trace.steps[t]
    st.markdown(
        md_escape(
            f"Step t = {t} of 0…{last}: the decoder reads y(t−1) = «{display_token(step.input_token)}» "
            f"and writes y(t) = «{display_token(step.output_token)}» with p = {step.output_prob:.3f}"
        )
        + (" *(forced)*" if step.forced and trace.mode == "forced_prefix" else "")
    )
    left, right = st.columns([5, 8], gap="medium")
    with left:
        if trace.attention is not None:
            components.chart(
                charts.attention_heatmap,
                trace,
                highlight=t,
                title="α (rows: output, columns: source), row t outlined",
                narrow=True,
                key="step-heatmap",
            )
        else:
            st.info("This model has no attention, so there is no attention map: the same context c feeds every step.")
            components.chart(charts.token_probabilities, trace, key="step-probs")
    with right:
        _equations(trace, t)
    state.write_url(state.PAGE_STEP)


def _controls(t: int, last: int, playing: bool) -> None:
    first, previous, following, final, play, speed = st.columns([1, 1, 1, 1, 1, 2], vertical_alignment="bottom")
    first.button("First", icon=":material/first_page:", key="step-first", on_click=_go, args=(0,), disabled=t == 0)
    previous.button(
        "Previous", icon=":material/chevron_left:", key="step-previous", on_click=_go, args=(t - 1,), disabled=t == 0
    )
    following.button(
        "Next", icon=":material/chevron_right:", key="step-next", on_click=_go, args=(t + 1,), disabled=t == last
    )
    final.button("Last", icon=":material/last_page:", key="step-last", on_click=_go, args=(last,), disabled=t == last)
    play.button(
        "Pause" if playing else "Play",
        icon=":material/pause:" if playing else ":material/play_arrow:",
        key="step-play",
        on_click=_toggle_play,
        args=(last,),
        disabled=last == 0,
    )
    speed.select_slider(
        "Seconds per step",
        state.SPEEDS,
        key=state.SPEED,
        on_change=_clicked,
    )
    if playing:  # a slider would send back the step it showed, racing the timer: show progress instead
        st.progress(t / max(last, 1), text=f"Playing: step {t} of {last}")
    elif last > 0:
        st.session_state[state.STEP_SLIDER] = t
        st.slider("Step t", 0, last, key=state.STEP_SLIDER, on_change=_slid)


def _go(target: int) -> None:
    _clicked()
    state.set_step(target)


def _slid() -> None:
    _clicked()
    state.set_step(st.session_state[state.STEP_SLIDER])


def _clicked() -> None:
    st.session_state[state.STEP_CLICKED] = True


def _toggle_play(last: int) -> None:
    _clicked()
    ss = st.session_state
    ss[state.PLAYING] = not ss[state.PLAYING]
    if ss[state.PLAYING] and ss[state.STEP] >= last:
        ss[state.STEP] = 0


def _equations(trace, t: int) -> None:
    step = trace.steps[t]
    for number, line in enumerate(equations.chain(trace.model)):
        eq_col, tensor_col = st.columns([2, 3], vertical_alignment="center")
        eq_col.latex(line.latex)
        if line.note:
            eq_col.caption(line.note)
        with tensor_col:
            st.caption(_label(trace, step, line))
            components.chart(charts.step_tensor, trace, t, line.tensor, line.symbol, key=f"step-tensor-{number}")


def _shape(trace, step, line) -> list[int]:
    return step.shapes[line.shape_key or line.tensor]


def _label(trace, step, line) -> str:
    """The tensor's math name, its name in the Trace and its shape as recorded there."""
    shape = _shape(trace, step, line)
    label = f"${line.symbol}$ · `{line.shape_key or line.tensor}` · shape {shape}"
    if line.tensor == "weights":
        label += f" · Σα = {sum(step.weights):.4f}"
    if line.tensor == "state" and "rnn_input" in step.shapes:
        label += f" · input shape {step.shapes['rnn_input']}"
    return label


page()
