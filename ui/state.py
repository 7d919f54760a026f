"""Every session_state key of the app, its default, and the callbacks that move state.

What lives elsewhere: the model picker (ui.picker: what to offer, under a key prefix), the URL and the parameters
each page owns (ui.urls), the models and traces (ui.cache).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import streamlit as st

from seq2seq_viz.agreement import METHODS  # torch-free: the attribution methods
from seq2seq_viz.config import LESSON_EXAMPLES, LONG_EXAMPLES
from seq2seq_viz.limits import LIMITS  # torch-free: the server's ceilings, which the widgets obey too

from .picker import Picker
from .style import ChartStyle, style_for

if TYPE_CHECKING:
    from .cache import Model

# ---- session_state keys (widget keys unless noted) ----
SIDEBAR_PICKER = Picker()  # the sidebar's model picker: keys task, cell, attention, model
TASK, CELL, ATTENTION = SIDEBAR_PICKER.task_key, SIDEBAR_PICKER.cell_key, SIDEBAR_PICKER.attention_key
TEXT = "text"
MODE = "mode"
BEAM_WIDTH = "beam_width"
TEMPERATURE = "temperature"
SEED = "seed"
EXAMPLE = "example"  # the example pills on Translate (cleared after each pick)
STEP = "step"  # not a widget: the decoder step on Step through (buttons, slider and player all move it)
STEP_SLIDER = "step_slider"  # the step slider, a view of STEP (hidden while playing, so it never sends stale steps)
PLAYING = "playing"  # not a widget: the stepper is playing
STEP_CLICKED = "_step_clicked"  # not a widget: this stepper run comes from a click, not from the play timer
SPEED = "speed"  # seconds per step while playing
REFERENCE = "reference"  # the gold translation on Teacher forcing
TEST_PAIR = "test_pair"  # the test-pair picker on Teacher forcing
FORCE_AT = "force_at"  # the step to intervene at
FORCE_PICK = "force_pick"  # a token chosen from the top-k
FORCE_TYPED = "force_typed"  # or a token typed
FORCING = "forcing"  # not a widget: the applied intervention (step, token) or None
URL_READ = "_url_read"  # not a widget: this session has read its URL
NOTICES = "_notices"  # not a widget: sentences to show once (a bad value in the URL)
URL_STEP = "_url_step"  # not a widget: the step a link asked for, until the page knows how many steps there are
BUDGET = "_decode_budget"  # not a widget: this session's decode budget (seq2seq_viz.limits.SessionBudget)
TEXT_IS_DEFAULT = "_text_is_default"  # not a widget: the app chose the input (nobody typed, picked or linked it)
MODEL_NAME = "_model_name"  # not a widget: the chosen model's name, for the URL
ZOO_METRIC = "zoo_metric"  # the measure that colours the Models page's grid
ZOO_LINES = "zoo_lines"  # which models the Models page's by-length chart draws (zoo_charts.LINE_GROUPS)
PRESENT = "present"  # presentation mode: large type, collapsed sidebar, the Step page as sub-steps
PREDICT = "predict"  # predict, then reveal: a step's attention row and output stay hidden until revealed
SUBSTEP = "substep"  # not a widget: the line of step t's chain shown in presentation mode
REVEALED = "_revealed"  # not a widget: the steps whose row was revealed (predict, then reveal)
GUESS = "guess"  # the source token a student expects step t to attend to
GUESSES = "_guesses"  # not a widget: step -> (the guessed source position, the model's most-attended one)
CELLS_UNITS_K = "cells_units_k"  # Cells: how many of the most variable units to show
CELLS_UNITS_PICKED = {"encoder": "cells_encoder_units", "decoder": "cells_decoder_units"}  # or the user's own
CELLS_STEP_SLIDER = "cells_step_slider"  # Cells' view of STEP
CELLS_UNITS_MODEL = "_cells_units_model"  # not a widget: the model the picked units belong to
SIDEBAR_SHOWN = "_sidebar_shown"  # not a widget: the sidebar state last asked of the page (collapsed or auto)
TEXT_ON_PAGE = "text_on_page"  # a phone's input box on Translate itself, a view of TEXT (the sidebar is a drawer)
BEAM_PAGE_WIDTH = "beam_page_width"  # Beam search's own width (the sidebar's BEAM_WIDTH is for the beam mode)
BEAM_PICK = "beam_pick"  # Beam search: the n-best hypothesis traced (its index, 0 = the best)
BEAM_TREE = "beam-tree"  # Beam search: the tree's chart; its click selection is in session state under this key
BEAM_NBEST = "beam-nbest"  # Beam search: the n-best table; its selected row likewise
SESSION_MODELS = "_session_models"  # not a widget: name -> (Model, module) this session trained (ui.cache)
SESSION_TRACE_CACHE = "_session_traces"  # not a widget: the traces of those models (ui.cache)
LIVE_JOB = "_live_job"  # not a widget: this session's Train live run (seq2seq_viz.live.LiveTraining)
LIVE_SNAPSHOT = "live_snapshot"  # Train live: the replay slider over the attention snapshots
COMPARED = "_compared"  # not a widget: the names of the models Compare shows, in order (2 to 4)
COMPARE_APPLIED = "_compare_applied"  # not a widget: the names Compare's pickers were last pointed at
COMPARE_COUNT = "compare_count"  # Compare: how many models
COMPARE_PRESET = "compare_preset"  # Compare: the preset pills (cleared after each pick)
COMPARE_PICKERS = tuple(Picker(f"compare{i}_") for i in range(4))  # Compare's pickers, task pinned to the sidebar's
ATTRIBUTION_METHOD = "attribution_method"  # Attribution: which method
ATTRIBUTION_STEP = "attribution_step_slider"  # Attribution's view of STEP
STEP_ATTRIBUTION = "step_attribution"  # Step through: the switch that shows attribution beside α
STEP_ATTRIBUTION_METHOD = "step_attribution_method"  # Step through: the method beside α
_METHOD_LABELS = {"integrated_gradients": "Integrated gradients", "grad_x_input": "Gradient × input",
                  "occlusion": "Occlusion"}  # fmt: skip
ATTRIBUTION_METHODS = {m: _METHOD_LABELS[m] for m in sorted(METHODS, key=list(_METHOD_LABELS).index)}
DEFAULT_ATTRIBUTION = "integrated_gradients"

# ---- pages (st.Page url_path) ----
PAGE_TRANSLATE = "translate"
PAGE_STEP = "step"
PAGE_CELLS = "cells"
PAGE_TEACHER_FORCING = "teacher-forcing"
PAGE_MODELS = "models"
PAGE_BEAM = "beam"
PAGE_COMPARE = "compare"
PAGE_TRAIN = "train"
PAGE_ATTRIBUTION = "attribution"

# ---- choices and defaults ----
MODE_LABELS = {"greedy": "Greedy", "beam": "Beam search", "sample": "Sampling"}
BEAM_WIDTH_RANGE = (1, LIMITS.beam_width)
TEMPERATURE_RANGE = (0.1, 3.0)
SEED_RANGE = (0, 999_999)
SPEEDS = (0.25, 0.5, 1.0, 2.0)  # seconds per step
DEFAULTS: dict[str, Any] = {
    MODE: "greedy",
    BEAM_WIDTH: 5,
    TEMPERATURE: 1.0,
    SEED: 0,
    STEP: 0,
    PLAYING: False,
    SPEED: 0.5,
    FORCING: None,
    PRESENT: False,
    PREDICT: False,
    SUBSTEP: 0,
}
COMPARE_RANGE = (2, 4)  # models side by side on Compare


@dataclass(frozen=True)
class Selection:
    """What the sidebar chose: which model decodes which text, how."""

    model: Model
    text: str
    mode: str
    options: dict[str, Any] = field(default_factory=dict)


# ---- what a model offers ----


def example_inputs(model: Model, examples: Mapping[str, Any]) -> list[str]:
    """The inputs to offer for a model: the task's lesson sentences first, then its card's, then the task's long
    example, without repeats."""
    offered = [*LESSON_EXAMPLES.get(model.task, ()), *examples.get("inputs", []), *LONG_EXAMPLES.get(model.task, ())]
    return list(dict.fromkeys(offered))


# ---- reading the URL once, then defaults ----


def init(
    catalog: Mapping[str, Model], examples_of: Callable[[Model], Mapping[str, Any]], page: str = PAGE_TRANSLATE
) -> Model:
    """Once per session read the URL; every run fill defaults and keep the model valid. Returns the model.

    Runs before any widget is drawn, so it may still set the sidebar's keys.
    """
    from . import urls  # urls reads these keys, so it imports this module

    ss = st.session_state
    for key, value in DEFAULTS.items():
        ss.setdefault(key, value)
    ss.setdefault(NOTICES, [])
    if not ss.get(URL_READ):
        ss[URL_READ] = True
        urls.read(catalog)
    model = fix_selection(catalog)
    if TEXT not in ss:
        inputs = example_inputs(model, examples_of(model))
        ss[TEXT] = inputs[0] if inputs else ""
        ss[TEXT_IS_DEFAULT] = True
    if page == PAGE_TEACHER_FORCING and ss.get(REFERENCE) is None:
        _prefill_reference(model, examples_of(model))
    return model


def fix_selection(catalog: Mapping[str, Model]) -> Model:
    """The sidebar's model, kept a combination that exists (call before the picker's widgets)."""
    model = SIDEBAR_PICKER.fix(catalog)
    st.session_state[MODEL_NAME] = model.name
    return model


def _prefill_reference(model: Model, examples: Mapping[str, Any]) -> None:
    """Teacher forcing needs a reference: the test pair whose source is the input, else (when the app chose the
    input itself) the first test pair, else none yet: the user typed, picked or linked that input."""
    ss = st.session_state
    pairs = [p for p in examples.get("test_pairs", []) if p.get("source") and p.get("references")]
    text = ss.get(TEXT, "")
    match = next((p for p in pairs if p["source"].strip() == text.strip()), None)
    if match is None and pairs and ss.get(TEXT_IS_DEFAULT):
        match = pairs[0]
        ss[TEXT] = match["source"]
    ss[REFERENCE] = match["references"][0] if match else ""


def notice(sentence: str) -> None:
    """A sentence to show once, at the top of the next run (from a callback, which cannot draw)."""
    st.session_state.setdefault(NOTICES, []).append(sentence)


def pop_notices() -> list[str]:
    notices = list(st.session_state.get(NOTICES, []))
    st.session_state[NOTICES] = []
    return notices


# ---- what the views read ----


def selection(catalog: Mapping[str, Model]) -> Selection:
    ss = st.session_state
    model = fix_selection(catalog)
    mode = ss.get(MODE, "greedy")
    options: dict[str, Any] = {}
    if mode == "beam":
        options = {"beam_size": int(ss.get(BEAM_WIDTH, DEFAULTS[BEAM_WIDTH]))}
    elif mode == "sample":
        options = {
            "temperature": float(ss.get(TEMPERATURE, DEFAULTS[TEMPERATURE])),
            "seed": int(ss.get(SEED, DEFAULTS[SEED])),
        }
    return Selection(model, ss.get(TEXT, ""), mode, options)


def reference() -> str:
    return st.session_state.get(REFERENCE) or ""


# ---- callbacks that move state (they run before the script, so they may set widget keys) ----


def on_task_change(catalog: Mapping[str, Model], examples_of: Callable[[Model], Mapping[str, Any]]) -> None:
    """A new task reads different text: offer its first example, forget the old reference and step."""
    model = fix_selection(catalog)
    inputs = example_inputs(model, examples_of(model))
    st.session_state[TEXT] = inputs[0] if inputs else ""
    st.session_state[TEXT_IS_DEFAULT] = True
    on_model_change()
    st.session_state.pop(REFERENCE, None)  # prefilled again from the new task's test pairs
    st.session_state.pop(TEST_PAIR, None)


def on_model_change() -> None:
    st.session_state[FORCING] = None
    _restart_steps()


def _restart_steps() -> None:
    """A new decode starts at step 0 with nothing revealed and no guesses."""
    ss = st.session_state
    ss[STEP], ss[SUBSTEP], ss[PLAYING] = 0, 0, False
    ss[REVEALED], ss[GUESSES], ss[GUESS] = frozenset(), {}, None


def use_example() -> None:
    picked = st.session_state.get(EXAMPLE)
    if picked:
        st.session_state[TEXT] = picked
        on_input_change()
    st.session_state[EXAMPLE] = None


def on_input_change() -> None:
    st.session_state[TEXT_IS_DEFAULT] = False
    st.session_state[FORCING] = None
    _restart_steps()


def set_step(value: int, substep: int = 0) -> None:
    """Go to step t (at one line of its chain); the guess box starts empty at every step."""
    ss = st.session_state
    ss[STEP], ss[SUBSTEP], ss[GUESS] = int(value), int(substep), None


def move(direction: int, last: int, lines: int) -> None:
    """One press of Next (+1) or Previous (−1): a line of the chain in presentation mode, else a step.

    Leaving a step forwards reveals it (predict, then reveal): the rows before the current step are always shown.
    """
    ss = st.session_state
    t, sub = int(ss.get(STEP, 0)), int(ss.get(SUBSTEP, 0))
    if ss.get(PRESENT):
        sub += direction
        if sub >= lines and t < last:
            t, sub = t + 1, 0
        elif sub < 0 and t > 0:
            t, sub = t - 1, lines - 1
        sub = min(max(sub, 0), lines - 1)
    else:
        t = min(max(t + direction, 0), last)
    if t != ss.get(STEP):
        ss[GUESS] = None
    ss[STEP], ss[SUBSTEP] = t, sub


def at_end(last: int, lines: int) -> bool:
    ss = st.session_state
    return ss.get(STEP, 0) >= last and (not ss.get(PRESENT) or ss.get(SUBSTEP, 0) >= lines - 1)


def at_start() -> bool:
    ss = st.session_state
    return ss.get(STEP, 0) <= 0 and (not ss.get(PRESENT) or ss.get(SUBSTEP, 0) <= 0)


def revealed(t: int, reveal_line: int | None = None) -> bool:
    """Whether step t's attention row and output may be shown: always, unless predicting; then once revealed
    (or, in presentation mode, once the presenter reaches the chain's line `reveal_line`)."""
    ss = st.session_state
    if not ss.get(PREDICT):
        return True
    if t in ss.get(REVEALED, frozenset()):
        return True
    return bool(ss.get(PRESENT)) and reveal_line is not None and ss.get(SUBSTEP, 0) >= reveal_line


def reveal(t: int, most_attended: int | None) -> None:
    """Show step t's row, and keep the student's guess beside the model's most-attended source position."""
    ss = st.session_state
    ss[REVEALED] = frozenset({*ss.get(REVEALED, frozenset()), t})
    guess = ss.get(GUESS)
    if guess is not None and most_attended is not None:
        ss[GUESSES] = {**ss.get(GUESSES, {}), t: (int(guess), most_attended)}


def fold_sidebar() -> None:
    """Presentation mode folds the sidebar away; leaving it opens the sidebar again. Asked only when the mode
    changes, so a presenter who opens the sidebar by hand keeps it open."""
    ss = st.session_state
    wanted = "collapsed" if ss.get(PRESENT) else "auto"
    if ss.get(SIDEBAR_SHOWN, "auto") != wanted:
        ss[SIDEBAR_SHOWN] = wanted
        st.set_page_config(initial_sidebar_state=wanted if wanted == "collapsed" else "expanded")


def on_a_phone() -> bool:
    """Whether the browser says it is a phone (its User-Agent names a mobile device)."""
    headers = getattr(st.context, "headers", None) or {}
    return "Mobi" in (headers.get("User-Agent") or "")


def show_text_on_page() -> None:
    """Before the page's own input box is drawn: it shows the current input."""
    st.session_state[TEXT_ON_PAGE] = st.session_state.get(TEXT, "")


def on_text_on_page() -> None:
    st.session_state[TEXT] = st.session_state.get(TEXT_ON_PAGE, "")
    on_input_change()


def chart_style() -> ChartStyle:
    """The style every chart of this run is drawn in: presentation mode's type or the lab's, light or dark."""
    theme = getattr(st.context, "theme", None)
    return style_for(bool(st.session_state.get(PRESENT)), getattr(theme, "type", None) == "dark")


def clamp_step(last: int) -> int:
    """Keep the step within 0..last (a new sentence may be shorter); call before the step widgets.

    A link's step past the output's last one says so once (a shorter sentence typed later is clamped quietly)."""
    ss = st.session_state
    step = min(max(int(ss.get(STEP, 0)), 0), last)
    asked = ss.pop(URL_STEP, None)
    if asked is not None and asked > last:
        st.info(f"The link asks for step {asked}, but this output has steps 0 to {last}; showing step {last}.")
    ss[STEP] = step
    return step
