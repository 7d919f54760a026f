"""The URL <-> state sync: which query parameters each page owns, read once per session, rewritten every run.

The URL holds what a teacher shares: /<page>?model=…&text=…&mode=…[&width=…|&temperature=…&seed=…][&present=1]
and then the page's own parameters (Step through: step, reveal; Teacher forcing: reference, force_at, force;
Compare: models). A page declares them in PAGE_PARAMS, and its link carries only its own.
It is read once per browser session (opening a link starts a session) and rewritten after every run, so the
address bar can always be copied. A bad value is ignored with one sentence (state.NOTICES).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from seq2seq_viz.limits import LIMITS  # torch-free: the server's ceilings, which the URL obeys too
from seq2seq_viz.trace import FREE_RUNNING

from . import picker, state

if TYPE_CHECKING:
    from .cache import Model

MAX_URL_TEXT = LIMITS.input_chars  # characters kept from a URL's text or reference
COMPARE_SEPARATOR = ","


@dataclass(frozen=True)
class Param:
    """A group of query parameters read and written together (force_at and force travel as a pair)."""

    names: tuple[str, ...]
    read: Callable[[Mapping[str, str], Mapping[str, Model]], None]  # the link's values -> session state
    write: Callable[[], dict[str, str]]  # session state -> the values to put in the link (empty: none)


def _notice(sentence: str) -> None:
    st.session_state[state.NOTICES].append(sentence)


def _text(value: str, what: str) -> str:
    if len(value) > MAX_URL_TEXT:
        _notice(
            f"The {what} in the link has {len(value):,} characters; the lab reads at most {MAX_URL_TEXT}, "
            "so the rest was left out."
        )
    return value[:MAX_URL_TEXT]


def _number(raw: str | None, key: str, kind: type, bounds: tuple, what: str) -> None:
    if raw is None:
        return
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not bounds[0] <= value <= bounds[1]:
        _notice(f"The {what} in the link ({raw}) must be a number from {bounds[0]} to {bounds[1]}; it was ignored.")
        return
    st.session_state[key] = round(value, 2) if kind is float else value


def _flag(raw: str | None, key: str, what: str, on: str) -> None:
    """A 0/1 switch in the link: `on` turns the setting on, the other value leaves it off."""
    if raw is None:
        return
    if raw not in ("0", "1"):
        _notice(f"The {what} setting in the link ({raw}) must be 0 or 1; it was ignored.")
        return
    st.session_state[key] = raw == on


# ---- the parameters every page shares ----


def _read_model(params: Mapping[str, str], catalog: Mapping[str, Model]) -> None:
    name = params.get("model")
    if name is None:
        return
    if name in catalog:
        state.SIDEBAR_PICKER.select(catalog[name])
    else:
        _notice(f"There is no model called “{name}”; showing {picker.default_model(catalog)} instead.")


def _write_model() -> dict[str, str]:
    name = st.session_state.get(state.MODEL_NAME)
    return {"model": name} if name else {}


def _read_text(params: Mapping[str, str], catalog: Mapping[str, Model]) -> None:
    if "text" in params:
        st.session_state[state.TEXT] = _text(params["text"], "text")


def _read_mode(params: Mapping[str, str], catalog: Mapping[str, Model]) -> None:
    mode = params.get("mode")
    if mode is not None:
        if mode in FREE_RUNNING:
            st.session_state[state.MODE] = mode
        else:
            _notice(f"There is no decoding mode “{mode}”; using greedy. Choose greedy, beam or sample.")
    _number(params.get("width"), state.BEAM_WIDTH, int, state.BEAM_WIDTH_RANGE, "beam width")
    _number(params.get("temperature"), state.TEMPERATURE, float, state.TEMPERATURE_RANGE, "temperature")
    _number(params.get("seed"), state.SEED, int, state.SEED_RANGE, "seed")


def _write_mode() -> dict[str, str]:
    ss = st.session_state
    mode = ss.get(state.MODE, "greedy")
    out = {"mode": mode}
    if mode == "beam":
        out["width"] = str(ss.get(state.BEAM_WIDTH, state.DEFAULTS[state.BEAM_WIDTH]))
    elif mode == "sample":
        out["temperature"] = f"{float(ss.get(state.TEMPERATURE, state.DEFAULTS[state.TEMPERATURE])):g}"
        out["seed"] = str(ss.get(state.SEED, state.DEFAULTS[state.SEED]))
    return out


def _read_present(params: Mapping[str, str], catalog: Mapping[str, Model]) -> None:
    _flag(params.get("present"), state.PRESENT, "presentation mode", on="1")


COMMON = (
    Param(("model",), _read_model, _write_model),
    Param(("text",), _read_text, lambda: {"text": st.session_state.get(state.TEXT, "")}),
    Param(("mode", "width", "temperature", "seed"), _read_mode, _write_mode),
    Param(("present",), _read_present, lambda: {"present": "1"} if st.session_state.get(state.PRESENT) else {}),
)


# ---- the parameters of one page ----


def _read_step(params: Mapping[str, str], catalog: Mapping[str, Model]) -> None:
    _number(params.get("step"), state.STEP, int, (0, 10_000), "step")
    if "step" in params and state.STEP in st.session_state:
        st.session_state[state.URL_STEP] = st.session_state[state.STEP]


STEP = Param(("step",), _read_step, lambda: {"step": str(st.session_state.get(state.STEP, 0))})
REVEAL = Param(
    ("reveal",),
    lambda params, catalog: _flag(params.get("reveal"), state.PREDICT, "reveal", on="0"),
    lambda: {"reveal": "0"} if st.session_state.get(state.PREDICT) else {},
)


def _read_reference(params: Mapping[str, str], catalog: Mapping[str, Model]) -> None:
    if "reference" in params:
        st.session_state[state.REFERENCE] = _text(params["reference"], "reference")
    _read_forcing(params)


def _read_forcing(params: Mapping[str, str]) -> None:
    """force_at=N&force=TOKEN: the what-if intervention a link was shared with (checked again when it decodes)."""
    if "force_at" not in params and "force" not in params:
        return
    raw_at, token = params.get("force_at", ""), params.get("force", "").strip()
    if not raw_at.isdigit() or not token or len(token) > LIMITS.token_chars:
        _notice(
            "A forced token in a link needs force_at (a step number) and force (a token of at most "
            f"{LIMITS.token_chars} characters); it was ignored."
        )
        return
    st.session_state[state.FORCING] = (int(raw_at), token)
    st.session_state[state.FORCE_AT] = int(raw_at)


def _write_reference() -> dict[str, str]:
    ss = st.session_state
    if not ss.get(state.REFERENCE):
        return {}
    out = {"reference": ss[state.REFERENCE]}
    if ss.get(state.FORCING):
        at, token = ss[state.FORCING]
        out["force_at"], out["force"] = str(at), token
    return out


REFERENCE = Param(("reference", "force_at", "force"), _read_reference, _write_reference)


def _read_compared(params: Mapping[str, str], catalog: Mapping[str, Model]) -> None:
    raw = params.get("models")
    if raw is None:
        return
    names = [n.strip() for n in raw.split(COMPARE_SEPARATOR) if n.strip()]
    known = [n for n in dict.fromkeys(names) if n in catalog]
    unknown = [n for n in names if n not in catalog]
    low, high = state.COMPARE_RANGE
    if unknown:
        _notice(f"The link names models that are not here ({', '.join(unknown[:5])}); they were left out.")
    if len(known) > high:
        _notice(f"Compare shows at most {high} models; the link's first {high} are shown.")
    if len(known) >= low:
        st.session_state[state.COMPARED] = tuple(known[:high])


COMPARED = Param(
    ("models",),
    _read_compared,
    lambda: (
        {"models": COMPARE_SEPARATOR.join(st.session_state[state.COMPARED])}
        if st.session_state.get(state.COMPARED)
        else {}
    ),
)


def _read_method(params: Mapping[str, str], catalog: Mapping[str, Model]) -> None:
    raw = params.get("method")
    if raw is None:
        return
    if raw in state.ATTRIBUTION_METHODS:
        st.session_state[state.ATTRIBUTION_METHOD] = raw
    else:
        _notice(
            f"The attribution method in the link ({raw[:40]!r}) is not one of {', '.join(state.ATTRIBUTION_METHODS)}; "
            "it was ignored."
        )


METHOD = Param(
    ("method",),
    _read_method,
    lambda: {"method": st.session_state.get(state.ATTRIBUTION_METHOD) or state.DEFAULT_ATTRIBUTION},
)

# Each page's own parameters, after COMMON. A page not named here owns none.
PAGE_PARAMS: dict[str, tuple[Param, ...]] = {
    state.PAGE_STEP: (STEP, REVEAL),
    state.PAGE_CELLS: (STEP,),
    state.PAGE_TEACHER_FORCING: (REFERENCE,),
    state.PAGE_COMPARE: (COMPARED,),
    state.PAGE_ATTRIBUTION: (STEP, METHOD),
}


def params_of(page: str) -> tuple[Param, ...]:
    return (*COMMON, *PAGE_PARAMS.get(page, ()))


def read(catalog: Mapping[str, Model]) -> None:
    """Read the link's parameters into session state (once per session: state.init calls it).

    Every page's parameters are read, whichever page the link opens: the first run of a session may be the
    router's forward from "/" to Translate, and a page's settings wait in session state until it is opened."""
    params = st.query_params.to_dict()
    declared = [*COMMON, *(p for page in PAGE_PARAMS.values() for p in page)]
    for param in dict.fromkeys(declared):
        param.read(params, catalog)


def url_params(page: str) -> dict[str, str]:
    """The query parameters that reproduce the current view of `page`."""
    out: dict[str, str] = {}
    for param in params_of(page or state.PAGE_TRANSLATE):
        out.update(param.write())
    return out


def write(page: str) -> None:
    """Rewrite the query string when it differs from the current state (a no-op otherwise)."""
    wanted = url_params(page)
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
