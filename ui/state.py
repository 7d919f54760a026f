"""Every session_state and query_params key of the app, their defaults, and the URL <-> state sync.

The URL holds what a teacher shares: /<page>?model=…&text=…&mode=…[&width=…|&temperature=…&seed=…]
[&step=…&reveal=0][&reference=…[&force_at=…&force=…]][&present=1]. It is read once per browser session (opening
a link starts a session) and rewritten after every run, so the address bar can always be copied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import streamlit as st

from seq2seq_viz.limits import LIMITS  # torch-free: the server's ceilings, which the URL obeys too

from .style import ChartStyle, style_for

if TYPE_CHECKING:
    from .cache import Model

# ---- session_state keys (widget keys unless noted) ----
TASK = "task"
CELL = "cell"
ATTENTION = "attention"
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

# ---- query parameters ----
Q_MODEL = "model"
Q_TEXT = "text"
Q_MODE = "mode"
Q_STEP = "step"
Q_REFERENCE = "reference"
Q_WIDTH = "width"
Q_TEMPERATURE = "temperature"
Q_SEED = "seed"
Q_FORCE_AT = "force_at"  # Teacher forcing's what-if: the step a token was forced at ...
Q_FORCE = "force"  # ... and that token
Q_PRESENT = "present"  # present=1: open in presentation mode
Q_REVEAL = "reveal"  # reveal=0: predict, then reveal (Step through)

# ---- pages (st.Page url_path) ----
PAGE_TRANSLATE = "translate"
PAGE_STEP = "step"
PAGE_CELLS = "cells"
PAGE_TEACHER_FORCING = "teacher-forcing"
PAGE_MODELS = "models"
PAGE_BEAM = "beam"

# ---- choices and defaults ----
MODES = ("greedy", "beam", "sample")
MODE_LABELS = {"greedy": "Greedy", "beam": "Beam search", "sample": "Sampling"}
CELL_LABELS = {"rnn": "RNN (plain)", "gru": "GRU", "lstm": "LSTM"}
ATTENTION_LABELS = {
    "none": "none (fixed context)",
    "dot": "dot (Luong)",
    "general": "general (Luong)",
    "concat": "concat (Luong)",
    "additive": "additive (Bahdanau)",
}
CELL_ORDER = ("gru", "lstm", "rnn")
ATTENTION_ORDER = ("general", "additive", "dot", "concat", "none")
# The app opens on eng-fra-gru-concat (BLEU 45.7, within 1 of the best, lstm-dot's 46.6; soft, well-placed
# alignments; it writes "j'ai froid." for the lesson's "I am cold."), else the next one that ships.
PREFERRED_MODELS = ("eng-fra-gru-concat", "eng-fra-gru-general", "dates-gru-general", "reverse-gru-general")
TASK_ORDER = ("eng-fra", "dates", "reverse", "copy", "sort")
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
MAX_URL_TEXT = LIMITS.input_chars  # characters kept from a URL's text or reference
# Examples every eng-fra model offers, whatever its card lists (the lesson plan refers to them).
TASK_EXAMPLES = {"eng-fra": ("I am cold.", "I love learning.", "The weather is nice today.")}


@dataclass(frozen=True)
class Selection:
    """What the sidebar chose: which model decodes which text, how."""

    model: Model
    text: str
    mode: str
    options: dict[str, Any] = field(default_factory=dict)


# ---- the model picker's catalogue ----


def ordered_tasks(catalog: Mapping[str, Model]) -> list[str]:
    tasks = {m.task for m in catalog.values()}
    return sorted(tasks, key=lambda t: (TASK_ORDER.index(t) if t in TASK_ORDER else len(TASK_ORDER), t))


def cells_for(catalog: Mapping[str, Model], task: str) -> list[str]:
    cells = {m.cell for m in catalog.values() if m.task == task}
    return sorted(cells, key=lambda c: (CELL_ORDER.index(c) if c in CELL_ORDER else 99, c))


def attentions_for(catalog: Mapping[str, Model], task: str, cell: str) -> list[str]:
    atts = {m.attention for m in catalog.values() if m.task == task and m.cell == cell}
    return sorted(atts, key=lambda a: (ATTENTION_ORDER.index(a) if a in ATTENTION_ORDER else 99, a))


def default_model(catalog: Mapping[str, Model]) -> str:
    """The best available model: the preferred ones in order, else the first by name."""
    for name in PREFERRED_MODELS:
        if name in catalog:
            return name
    return sorted(catalog)[0]


def model_named(catalog: Mapping[str, Model], task: str, cell: str, attention: str) -> Model | None:
    for model in catalog.values():
        if (model.task, model.cell, model.attention) == (task, cell, attention):
            return model
    return None


def _select_model(model: Model) -> None:
    st.session_state[TASK], st.session_state[CELL], st.session_state[ATTENTION] = (
        model.task,
        model.cell,
        model.attention,
    )


def fix_selection(catalog: Mapping[str, Model]) -> Model:
    """Keep task, cell and attention a combination that exists (call before the picker's widgets)."""
    ss = st.session_state
    tasks = ordered_tasks(catalog)
    if ss.get(TASK) not in tasks:
        _select_model(catalog[default_model(catalog)])
    task = ss[TASK]
    cells = cells_for(catalog, task)
    if ss.get(CELL) not in cells:
        ss[CELL] = cells[0]
    attentions = attentions_for(catalog, task, ss[CELL])
    if ss.get(ATTENTION) not in attentions:
        ss[ATTENTION] = attentions[0]
    model = model_named(catalog, task, ss[CELL], ss[ATTENTION])
    assert model is not None  # the three lists above only offer combinations that exist
    ss[MODEL_NAME] = model.name
    return model


def example_inputs(model: Model, examples: Mapping[str, Any]) -> list[str]:
    """The inputs to offer for a model: the task's fixed examples first, then its card's, without repeats."""
    offered = [*TASK_EXAMPLES.get(model.task, ()), *examples.get("inputs", [])]
    return list(dict.fromkeys(offered))


# ---- reading the URL once, then defaults ----


def init(
    catalog: Mapping[str, Model], examples_of: Callable[[Model], Mapping[str, Any]], page: str = PAGE_TRANSLATE
) -> Model:
    """Once per session read the URL; every run fill defaults and keep the model valid. Returns the model.

    Runs before any widget is drawn, so it may still set the sidebar's keys.
    """
    ss = st.session_state
    for key, value in DEFAULTS.items():
        ss.setdefault(key, value)
    ss.setdefault(NOTICES, [])
    if not ss.get(URL_READ):
        ss[URL_READ] = True
        _read_url(catalog)
    model = fix_selection(catalog)
    if TEXT not in ss:
        inputs = example_inputs(model, examples_of(model))
        ss[TEXT] = inputs[0] if inputs else ""
        ss[TEXT_IS_DEFAULT] = True
    if page == PAGE_TEACHER_FORCING and ss.get(REFERENCE) is None:
        _prefill_reference(model, examples_of(model))
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


def _read_url(catalog: Mapping[str, Model]) -> None:
    ss, params, notices = st.session_state, st.query_params, st.session_state[NOTICES]
    name = params.get(Q_MODEL)
    if name is not None:
        if name in catalog:
            _select_model(catalog[name])
        else:
            fallback = default_model(catalog)
            notices.append(f"There is no model called “{name}”; showing {fallback} instead.")
    if Q_TEXT in params:
        ss[TEXT] = _url_text(params[Q_TEXT], "text")
    mode = params.get(Q_MODE)
    if mode is not None:
        if mode in MODES:
            ss[MODE] = mode
        else:
            notices.append(f"There is no decoding mode “{mode}”; using greedy. Choose greedy, beam or sample.")
    _read_number(Q_WIDTH, BEAM_WIDTH, int, BEAM_WIDTH_RANGE, "beam width")
    _read_number(Q_TEMPERATURE, TEMPERATURE, float, TEMPERATURE_RANGE, "temperature")
    _read_number(Q_SEED, SEED, int, SEED_RANGE, "seed")
    _read_number(Q_STEP, STEP, int, (0, 10_000), "step")
    if Q_STEP in params and STEP in ss:
        ss[URL_STEP] = ss[STEP]
    if Q_REFERENCE in params:
        ss[REFERENCE] = _url_text(params[Q_REFERENCE], "reference")
    _read_forcing()
    _read_flag(Q_PRESENT, PRESENT, "presentation mode", on="1")
    _read_flag(Q_REVEAL, PREDICT, "reveal", on="0")


def _read_flag(param: str, key: str, what: str, on: str) -> None:
    """A 0/1 switch in the link: `on` turns the setting on, the other value leaves it off."""
    raw = st.query_params.get(param)
    if raw is None:
        return
    if raw not in ("0", "1"):
        st.session_state[NOTICES].append(f"The {what} setting in the link ({raw}) must be 0 or 1; it was ignored.")
        return
    st.session_state[key] = raw == on


def _read_forcing() -> None:
    """force_at=N&force=TOKEN: the what-if intervention a link was shared with (checked again when it decodes)."""
    params, notices = st.query_params, st.session_state[NOTICES]
    if Q_FORCE_AT not in params and Q_FORCE not in params:
        return
    raw_at, token = params.get(Q_FORCE_AT, ""), params.get(Q_FORCE, "").strip()
    if not raw_at.isdigit() or not token or len(token) > LIMITS.token_chars:
        notices.append(
            "A forced token in a link needs force_at (a step number) and force (a token of at most "
            f"{LIMITS.token_chars} characters); it was ignored."
        )
        return
    st.session_state[FORCING] = (int(raw_at), token)
    st.session_state[FORCE_AT] = int(raw_at)


def _url_text(value: str, what: str) -> str:
    if len(value) > MAX_URL_TEXT:
        st.session_state[NOTICES].append(
            f"The {what} in the link has {len(value):,} characters; the lab reads at most {MAX_URL_TEXT}, "
            "so the rest was left out."
        )
    return value[:MAX_URL_TEXT]


def _read_number(param: str, key: str, kind: type, bounds: tuple, what: str) -> None:
    raw = st.query_params.get(param)
    if raw is None:
        return
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not bounds[0] <= value <= bounds[1]:
        st.session_state[NOTICES].append(
            f"The {what} in the link ({raw}) must be a number from {bounds[0]} to {bounds[1]}; it was ignored."
        )
        return
    st.session_state[key] = round(value, 2) if kind is float else value


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


# ---- writing the URL ----


def url_params(page: str) -> dict[str, str]:
    """The query parameters that reproduce the current view of `page`."""
    ss = st.session_state
    model = ss.get(MODEL_NAME)
    params: dict[str, str] = {}
    if model:
        params[Q_MODEL] = model
    params[Q_TEXT] = ss.get(TEXT, "")
    mode = ss.get(MODE, "greedy")
    params[Q_MODE] = mode
    if mode == "beam":
        params[Q_WIDTH] = str(ss.get(BEAM_WIDTH, DEFAULTS[BEAM_WIDTH]))
    elif mode == "sample":
        params[Q_TEMPERATURE] = f"{float(ss.get(TEMPERATURE, DEFAULTS[TEMPERATURE])):g}"
        params[Q_SEED] = str(ss.get(SEED, DEFAULTS[SEED]))
    if page == PAGE_STEP:
        params[Q_STEP] = str(ss.get(STEP, 0))
        if ss.get(PREDICT):
            params[Q_REVEAL] = "0"
    if ss.get(PRESENT):
        params[Q_PRESENT] = "1"
    if page == PAGE_TEACHER_FORCING and ss.get(REFERENCE):
        params[Q_REFERENCE] = ss[REFERENCE]
        if ss.get(FORCING):
            at, token = ss[FORCING]
            params[Q_FORCE_AT], params[Q_FORCE] = str(at), token
    return params


def write_url(page: str) -> None:
    """Rewrite the query string when it differs from the current state (a no-op otherwise)."""
    wanted = url_params(page or PAGE_TRANSLATE)
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
