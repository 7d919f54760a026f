"""Train live: a small model trained in this session while the class watches its loss fall and its attention form.

The training runs in a child process (seq2seq_viz.live), so the server's other sessions never wait for it; this
page only starts it, polls it twice a second while it runs, and replays the attention snapshots it sent. The
model is this session's alone: it joins the sidebar's picker for this session and can be downloaded, but it is
never written to disk or to the shared model cache.
"""

from __future__ import annotations

import json

import streamlit as st

from seq2seq_viz.errors import Seq2SeqVizError
from seq2seq_viz.limits import LIMITS
from seq2seq_viz.live import LIVE_TASKS, LiveSettings, LiveTraining
from ui import cache, charts, components, picker, state, train_charts
from ui.text import md_escape

POLL_S = 0.5  # how often a running training's progress is redrawn
HIDDEN_SIZES = (16, 32, 64, 128)
TASK_LABELS = {
    "reverse": "reverse the letters",
    "sort": "sort the letters",
    "copy": "copy the letters",
    "dates": "normalize a date",
}
KEYS = {  # the settings' widget keys
    "task": "live_task",
    "cell": "live_cell",
    "attention": "live_attention",
    "hidden_size": "live_hidden",
    "steps": "live_steps",
    "probe": "live_probe",
}


def page() -> None:
    st.header("Train live")
    st.caption(
        "Train a small character-level model here and watch the alignment emerge from noise: the loss falls, the "
        "exact match on held-out strings rises, and the attention on the probe input, captured as it trains, "
        "sharpens into the task's pattern (reverse: the anti-diagonal). It trains in its own process, so nobody "
        "else's lab slows down; the model is yours for this session."
    )
    job: LiveTraining | None = st.session_state.get(state.LIVE_JOB)
    running = job is not None and not job.poll().finished
    settings = _settings(disabled=running)
    buttons = st.container(horizontal=True, gap="small")
    buttons.button(
        "Train",
        type="primary",
        icon=":material/play_arrow:",
        disabled=running or settings is None,
        key="live-train",
        on_click=_start,
    )
    if running:
        buttons.button("Stop", icon=":material/stop:", key="live-stop", on_click=job.stop)
    if job is None:
        return
    if running:
        st.fragment(run_every=POLL_S)(_progress)(job, live=True)
    else:
        _progress(job)
        _finished(job)


def _settings(disabled: bool) -> LiveSettings | None:
    defaults = LiveSettings()
    ss = st.session_state
    ss.setdefault(KEYS["task"], defaults.task)
    ss.setdefault(KEYS["cell"], defaults.cell)
    ss.setdefault(KEYS["attention"], defaults.attention)
    ss.setdefault(KEYS["hidden_size"], defaults.hidden_size)
    ss.setdefault(KEYS["steps"], defaults.steps)
    ss.setdefault(KEYS["probe"], defaults.probe)
    first, second, third = st.columns(3, gap="medium")
    first.selectbox(
        "Task", LIVE_TASKS, key=KEYS["task"], format_func=lambda t: f"{t}: {TASK_LABELS.get(t, t)}", disabled=disabled
    )
    first.text_input(
        "Probe input",
        key=KEYS["probe"],
        max_chars=LIMITS.live_probe_chars,
        disabled=disabled,
        placeholder="the task's own example",
        help="The input whose attention is captured as the model trains (empty: the task's own example).",
    )
    second.selectbox(
        "Cell", ("gru", "lstm", "rnn"), key=KEYS["cell"], format_func=picker.CELL_LABELS.get, disabled=disabled
    )
    second.selectbox(
        "Attention",
        picker.ATTENTION_ORDER,
        key=KEYS["attention"],
        format_func=picker.ATTENTION_LABELS.get,
        disabled=disabled,
    )
    third.select_slider(
        "Hidden size H",
        [h for h in HIDDEN_SIZES if h <= LIMITS.live_hidden_max],
        key=KEYS["hidden_size"],
        disabled=disabled,
        help="The decoder's state size; the bidirectional encoder has H/2 per direction.",
    )
    third.slider(
        "Steps",
        50,
        LIMITS.live_steps_max,
        step=50,
        key=KEYS["steps"],
        disabled=disabled,
        help=f"Optimizer steps of {defaults.batch_size} examples each (at most {LIMITS.live_steps_max} here).",
    )
    try:
        return _chosen()
    except Seq2SeqVizError as exc:
        st.warning(md_escape(str(exc)))
        return None


def _chosen() -> LiveSettings:
    """The settings as the widgets hold them now (ConfigError with a sentence for a bad one)."""
    return LiveSettings(**{field: st.session_state[key] for field, key in KEYS.items()})


def _start() -> None:
    """The Train button's callback: it runs before the script, with the widgets' values of this very click, and
    the run it precedes draws the settings locked. One training per session at a time."""
    try:
        settings = _chosen()
    except Seq2SeqVizError as exc:
        state.notice(str(exc))
        return
    old = st.session_state.get(state.LIVE_JOB)
    if old is not None and not old.poll().finished:
        return  # one training per session at a time
    try:
        job = LiveTraining.start(settings)
    except Seq2SeqVizError as exc:
        state.notice(str(exc))
        return
    st.session_state[state.LIVE_JOB] = job
    st.session_state.pop(state.LIVE_SNAPSHOT, None)


def _progress(job: LiveTraining, live: bool = False) -> None:
    """The progress bar and the curves; while it runs, this is a fragment redrawn every POLL_S seconds."""
    view = job.poll()
    if view.status == "starting":
        st.progress(0.0, text="Starting the trainer…")
    else:
        accuracy = f" · exact match {view.evals[-1].exact_match:.0%}" if view.evals else ""
        speed = f" · {view.tokens_per_second:,.0f} tokens/s" if view.tokens_per_second and not view.finished else ""
        st.progress(view.fraction, text=f"Step {view.step} of {view.total} · {view.seconds:.0f} s{accuracy}{speed}")
    if not view.losses:
        return
    losses = tuple(enumerate(view.losses, start=1))
    accuracy = tuple((e.step, e.exact_match) for e in view.evals)
    marked = st.session_state.get(state.LIVE_SNAPSHOT) if view.finished else None
    figure = train_charts.curves(losses, accuracy, view.total, marked, style=state.chart_style())
    if view.finished or not view.snapshots:
        components.plot(figure, key="live-curves")
    else:  # while it trains: the latest snapshot beside the curves, so the class sees the alignment form
        curves, latest = st.columns([3, 2], gap="medium")
        with curves:
            components.plot(figure, key="live-curves")
        with latest:
            _snapshot(view.snapshots[-1], key="live-latest", page_share=0.4)
    if live and view.finished:
        st.rerun()  # it ended: the whole page once more, so the replay and the model's buttons appear


def _finished(job: LiveTraining) -> None:
    view = job.poll()
    if view.status == "failed":
        st.warning(md_escape(view.error or "The training failed."))
        return
    if view.note:
        st.info(md_escape(view.note))
    if view.snapshots:
        _replay(view.snapshots)
    if view.has_model:
        _use_and_download(job)


def _replay(snapshots) -> None:
    st.subheader("Watch the attention form")
    steps = [s.step for s in snapshots]
    if st.session_state.get(state.LIVE_SNAPSHOT) not in steps:
        st.session_state[state.LIVE_SNAPSHOT] = steps[-1]
    if len(steps) > 1:
        st.select_slider(
            "Snapshot at step",
            steps,
            key=state.LIVE_SNAPSHOT,
            help="The probe input decoded by the model as it was after that many steps (drag, or ← →).",
        )
    step = st.session_state[state.LIVE_SNAPSHOT]
    _snapshot(next(s for s in snapshots if s.step == step), key="live")


def _snapshot(snapshot, key: str, page_share: float = 1.0) -> None:
    """The probe as the model of one step decoded it: its output and its attention (or p(y_t) without any), in
    `page_share` of the page's width."""
    trace = snapshot.trace
    components.output_box(trace.output_text, key=f"{key}-output")
    if trace.attention is None:
        components.chart(charts.token_probabilities, trace, page_share=page_share, key=f"{key}-probs")
    else:
        title = f"Attention after step {snapshot.step}"
        components.chart(
            charts.attention_heatmap, trace, title=title, narrow=True, page_share=page_share, key=f"{key}-heatmap"
        )


def _use_and_download(job: LiveTraining) -> None:
    st.subheader("Your model")
    try:
        weights, card = job.checkpoint_bytes()
    except Seq2SeqVizError as exc:
        st.warning(md_escape(str(exc)))
        return
    row = st.container(horizontal=True, gap="small")
    row.button(
        "Open it on the other pages",
        icon=":material/open_in_new:",
        key="live-use",
        on_click=_use,
        args=(job,),
        help="Adds it to the sidebar's picker for this session only, and picks it.",
    )
    name = json.loads(card).get("name", "live-model")
    row.download_button(
        "Weights (safetensors)",
        data=weights,
        file_name=f"{name}.safetensors",
        mime="application/octet-stream",
        key="live-weights",
        on_click="ignore",
        icon=":material/download:",
    )
    row.download_button(
        "Card (JSON)",
        data=card,
        file_name=f"{name}.json",
        mime="application/json",
        key="live-card",
        on_click="ignore",
        icon=":material/download:",
    )
    st.caption(
        md_escape(
            f"Save both files in one folder; then `python -m seq2seq_viz translate --model folder/{name} abc` "
            "decodes with it, and `streamlit run app.py -- --models folder` opens it in the lab."
        )
    )


def _use(job: LiveTraining) -> None:
    try:
        model = cache.add_session_model(job.model(), json.loads(job.checkpoint_bytes()[1]))
    except Seq2SeqVizError as exc:
        state.notice(str(exc))
        return
    state.SIDEBAR_PICKER.select(model)
    st.session_state[state.TEXT] = job.poll().snapshots[-1].trace.source_text if job.poll().snapshots else ""
    state.on_input_change()


page()
