"""The app's only door to the core: the model list, models, traces and their figures.

Three kinds of model, one door (`trace(model, ...)`):
- shipped (pretrained/) and the user's own directory (`streamlit run app.py -- --models DIR`, or
  $SEQ2SEQ_VIZ_MODELS): loaded once per process into st.cache_resource, shared by every session, read-only,
  in eval mode. Their traces live in st.cache_resource too, keyed by everything that determines them (model and
  its checkpoint hash, text, mode, options, reference, forced prefix), so moving through steps or pages never
  decodes again. They are shared objects, not copies: st.cache_data would unpickle a fresh copy on every rerun,
  and nobody mutates a Trace.
- trained in this session (Train live): the module lives in the session's own state, never in a shared cache or
  on disk; its traces are kept per session, keyed the same way plus the model's identity.
Figures are built once per (trace, chart, arguments) and kept in a bounded LRU: a rerun only sends them.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import streamlit as st

import seq2seq_viz
from seq2seq_viz import examples_for, pretrained_dir
from seq2seq_viz.errors import Seq2SeqVizError
from seq2seq_viz.limits import LIMITS, SessionBudget

from . import state

seq2seq_viz.set_threads(1)  # the server shares a few cores with the browsers it serves

__all__ = ["LIMITS", "Model", "Seq2SeqVizError", "catalog", "decodes", "examples", "figure", "trace"]

TRACE_ENTRIES = 512  # decodes kept (a class of 100 typing their own sentences, several modes each)
FIGURE_ENTRIES = 2048  # figures kept (a Step page shows about eight per step)
CATALOG_TTL_S = 30  # models added to pretrained/ while the server runs appear within this many seconds
_decodes = 0  # decodes actually run (cache misses); tests read it to prove that navigation never decodes


SESSION_TRACES = 64  # decodes kept per session for the models it trained
ORIGIN_LABELS = {"shipped": "shipped", "directory": "your directory", "session": "trained here"}
MODELS_ENV = "SEQ2SEQ_VIZ_MODELS"  # the user's models directory, when no --models is given


@dataclass(frozen=True, eq=False)
class Model:
    """One model as the picker sees it. `name` is unique in the catalog (a user's model that shares a shipped
    model's name is renamed)."""

    name: str
    task: str
    cell: str
    attention: str
    entry: dict[str, Any]  # the manifest entry: config, parameters, metrics, provenance, ...
    origin: str = "shipped"  # shipped, directory or session
    directory: str = ""  # where its files are (shipped and directory models)
    file_name: str = ""  # its name in that directory (its catalog name may differ)

    @property
    def sha256(self) -> str:
        return self.entry.get("sha256", "")

    @property
    def origin_label(self) -> str:
        return ORIGIN_LABELS[self.origin]

    def __hash__(self) -> int:
        return hash((self.name, self.origin, self.sha256))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and (self.name, self.origin, self.sha256) == (
            other.name,
            other.origin,
            other.sha256,
        )


def _model_of(name: str, entry: dict[str, Any], origin: str, directory: str, file_name: str) -> Model | None:
    config = entry.get("config") or {}
    task, cell, attention = config.get("task"), config.get("cell"), config.get("attention")
    if not (task and cell and attention):
        return None
    return Model(name, task, cell, attention, entry, origin, directory, file_name)


@st.cache_resource(ttl=CATALOG_TTL_S, show_spinner=False)
def _catalog(directory: str) -> dict[str, Model]:
    models = {}
    for name, entry in seq2seq_viz.list_models(Path(directory)).items():
        model = _model_of(name, entry, "shipped", directory, name)
        if model is not None:
            models[name] = model
    return models


@st.cache_resource(ttl=CATALOG_TTL_S, show_spinner=False)
def _user_catalog(directory: str, taken: frozenset[str]) -> tuple[dict[str, Model], tuple[str, ...]]:
    """The user's directory: its models (renamed where a shipped name is taken) and a sentence per bad file."""
    from seq2seq_viz.registry import scan_models

    found, problems = scan_models(Path(directory))
    models = {}
    for file_name, entry in found.items():
        name = file_name if file_name not in taken else f"{file_name}-yours"
        model = _model_of(name, entry, "directory", directory, file_name)
        if model is None:
            problems.append(f"{file_name}: its card does not say which task, cell and attention it has; skipped.")
        else:
            models[name] = model
    return models, tuple(problems)


def user_models_dir() -> str | None:
    """The directory named by `streamlit run app.py -- --models DIR`, else $SEQ2SEQ_VIZ_MODELS, else None."""
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        if arg == "--models" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--models="):
            return arg.split("=", 1)[1]
    return os.environ.get(MODELS_ENV) or None


def catalog() -> dict[str, Model]:
    """name -> Model: the shipped models, the user's directory's, and this session's own (Train live).

    The shared parts are read once per CATALOG_TTL_S and shared, not copied: a run asks for it several times,
    and st.cache_data would unpickle the whole manifest each time. Nobody changes them. Raises Seq2SeqVizError
    for a damaged manifest of the shipped models; a bad file in the user's directory is only a sentence in
    catalog_problems().
    """
    models = _catalog(str(pretrained_dir()))
    directory = user_models_dir()
    if directory:
        models = {**models, **_user_catalog(directory, frozenset(models))[0]}
    own = session_models()
    return {**models, **{name: model for name, (model, _) in own.items()}} if own else models


def catalog_problems() -> tuple[str, ...]:
    """One sentence per file of the user's models directory that could not be opened (the rest are offered)."""
    directory = user_models_dir()
    if not directory:
        return ()
    return _user_catalog(directory, frozenset(_catalog(str(pretrained_dir()))))[1]


def session_models() -> dict[str, tuple[Model, Any]]:
    """This session's own models: name -> (Model, its torch module). Never shared with another session."""
    return st.session_state.setdefault(state.SESSION_MODELS, {})


def add_session_model(module: Any, card: dict[str, Any]) -> Model:
    """Offer a model trained in this session on every page (for this session only); returns its Model."""
    from seq2seq_viz.registry import manifest_entry

    own = session_models()
    base = f"{card['config']['task']}-{card['config']['cell']}-{card['config']['attention']}-live"
    number = 1 + sum(1 for name in own if name.startswith(base))
    name = f"{base}{number}"
    entry = {**manifest_entry(card), "name": name}
    model = _model_of(name, entry, "session", "", name)
    assert model is not None  # a card the trainer wrote names all three
    own[name] = (model, module.eval())
    return model


@st.cache_resource(show_spinner="Loading the model…", max_entries=24)
def _model(name: str, sha256: str, directory: str):
    model = seq2seq_viz.load_model(name, directory=Path(directory)).eval()
    _freeze_long_lived()
    return model


def _freeze_long_lived() -> None:
    """Move everything alive now (modules, models) out of the collector's sight.

    Streamlit's gc.collect() after every script run (runner.postScriptGC) walked the ~250k objects of torch, plotly
    and the models: 0.2 CPU-s per click. The lab turns it off (.streamlit/config.toml) and lets Python's own
    generational collector reclaim the sessions' short-lived cycles; freezing the long-lived objects keeps even its
    occasional full collections short. Collect first, so no garbage is frozen with them. Runs once per model load.
    """
    gc.collect()
    gc.freeze()


@st.cache_resource(show_spinner=False, max_entries=64)  # shared and read-only, like the catalog
def _examples(name: str, sha256: str, directory: str) -> dict[str, Any]:
    return examples_for(name, Path(directory))


def examples(model: Model) -> dict[str, Any]:
    """{"inputs": [...], "test_pairs": [{"source", "references"}]} from the model's card."""
    if model.origin == "session":
        return model.entry.get("examples_offered") or {"inputs": [], "test_pairs": []}
    return _examples(model.file_name or model.name, model.sha256, model.directory or str(pretrained_dir()))


@st.cache_resource(show_spinner="Decoding…", max_entries=TRACE_ENTRIES)
def _trace(
    name: str,
    sha256: str,
    directory: str,
    text: str,
    mode: str,
    options: tuple[tuple[str, Any], ...],
    reference: str | None,
    prefix: tuple[str, ...] | None,
    _budget: SessionBudget,  # not part of the key: whose CPU the decode is billed to
) -> seq2seq_viz.Trace:
    extra = dict(options)
    if mode == "forced_prefix":
        extra["prefix"] = list(prefix or ())
    if mode == "teacher_forced":
        reference = reference or ""  # core answers an empty reference with one sentence
    return _decode(_model(name, sha256, directory), text, mode, extra, reference, _budget)


def _decode(
    module: Any, text: str, mode: str, extra: dict[str, Any], reference: str | None, budget: SessionBudget
) -> seq2seq_viz.Trace:
    global _decodes
    with budget.spend():  # only a cache miss decodes, so only a miss is billed
        _decodes += 1
        return seq2seq_viz.decode(module, text, mode, reference=reference, **extra)


def trace(
    model: Model,
    text: str,
    mode: str = "greedy",
    options: dict[str, Any] | None = None,
    reference: str | None = None,
    prefix: list[str] | None = None,
) -> seq2seq_viz.Trace:
    """The Trace of one decode; raises Seq2SeqVizError with a sentence for a person (empty, too long, ...)."""
    key = trace_key(text, mode, options, reference, prefix)
    if model.origin == "session":
        return _session_trace(model, key)
    return _trace(model.file_name or model.name, model.sha256, model.directory or str(pretrained_dir()), *key,
                  session_budget())  # fmt: skip


def _session_cached(model: Model, full_key: tuple, spinner: str, compute: Callable[[Any], Any]) -> Any:
    """compute(module) for this session's own model, kept in the session's small LRU (nobody else can ask)."""
    own = session_models()
    if model.name not in own:
        raise Seq2SeqVizError(f"The model {model.name} trained in this session is gone; train it again.")
    cached: OrderedDict = st.session_state.setdefault(state.SESSION_TRACE_CACHE, OrderedDict())
    if full_key in cached:
        cached.move_to_end(full_key)
        return cached[full_key]
    with st.spinner(spinner):
        cached[full_key] = compute(own[model.name][1])
    while len(cached) > SESSION_TRACES:
        cached.popitem(last=False)
    return cached[full_key]


def _session_trace(model: Model, key: tuple) -> seq2seq_viz.Trace:
    """A decode of this session's own model."""
    text, mode, options, reference, prefix = key
    extra = dict(options)
    if mode == "forced_prefix":
        extra["prefix"] = list(prefix or ())
    if mode == "teacher_forced":
        reference = reference or ""
    return _session_cached(
        model, (model.name, *key), "Decoding…",
        lambda module: _decode(module, text, mode, extra, reference, session_budget()),
    )  # fmt: skip


def attributed(model: Model, trace_: seq2seq_viz.Trace, key: tuple, method: str) -> seq2seq_viz.Trace:
    """trace_ (the cached decode of `key`, as trace() takes it) with one attribution method's matrix added.

    Computed once per server for a shipped model (cached like traces), in this session's LRU for its own model;
    billed to the session's decode budget (integrated gradients costs ~20 decodes)."""
    if model.origin == "session":

        def compute(module: Any) -> seq2seq_viz.Trace:
            with session_budget().spend():
                return _attribute(module, trace_, method)

        return _session_cached(model, (model.name, "attribution", method, *key), "Attributing…", compute)
    name, directory = model.file_name or model.name, model.directory or str(pretrained_dir())
    return _attributed(name, model.sha256, directory, key, method, trace_, session_budget())


@st.cache_resource(show_spinner="Attributing…", max_entries=TRACE_ENTRIES)
def _attributed(
    name: str,
    sha256: str,
    directory: str,
    key: tuple,
    method: str,
    _trace_: seq2seq_viz.Trace,  # determined by the key
    _budget: SessionBudget,  # not part of the key: whose CPU it is billed to
) -> seq2seq_viz.Trace:
    with _budget.spend():
        return _attribute(_model(name, sha256, directory), _trace_, method)


def _attribute(module: Any, trace_: seq2seq_viz.Trace, method: str) -> seq2seq_viz.Trace:
    from seq2seq_viz.attribution import attribute

    return attribute(module, trace_, [method])


def trace_key(
    text: str, mode: str, options: dict[str, Any] | None = None, reference: str | None = None, prefix: Any = None
) -> tuple:
    """What determines a decode, as trace() keys it."""
    return (
        text,
        mode,
        tuple(sorted((options or {}).items())),
        reference,
        tuple(prefix) if prefix is not None else None,
    )


def session_budget() -> SessionBudget:
    """This session's decode budget (seq2seq_viz.limits): made on first use, kept in its session state."""
    return st.session_state.setdefault(state.BUDGET, SessionBudget())


def decodes() -> int:
    """How many decodes this process has actually run (cache misses)."""
    return _decodes


class _SentFigure(go.Figure):
    """A finished figure whose dict is computed once.

    st.plotly_chart turns a figure into JSON through figure.to_dict(), a deep copy with base64 conversion of
    every array: 1–3 ms per figure on every rerun, most of a cached Step click. The dict is read, never changed.
    """

    def __init__(self, figure: go.Figure) -> None:
        spec = figure.to_dict()
        super().__init__(spec, _validate=False)
        self._spec = spec

    def to_dict(self) -> dict:
        return self._spec


class _FigureCache:
    """A bounded LRU of figures keyed by (trace identity, chart, arguments), shared by every session.

    A trace is identified by id(); the entry keeps the trace itself, so the id cannot be reused while the entry
    lives, and a hit is checked with `is` against the trace asked for (each of them, for a tuple of traces).
    """

    def __init__(self, entries: int) -> None:
        self._entries = entries
        self._figures: OrderedDict[Hashable, tuple[object, go.Figure]] = OrderedDict()
        self._lock = threading.Lock()
        self.built = 0  # figures actually drawn (misses); tests read it

    def get(self, draw: Callable[..., go.Figure], trace: Any, args: tuple, kwargs: dict) -> go.Figure:
        """`trace` is a Trace or a tuple of Traces (a chart over several decodes: Compare)."""
        traces = trace if isinstance(trace, tuple) else (trace,)
        key = (tuple(map(id, traces)), draw.__module__, draw.__qualname__, args, tuple(sorted(kwargs.items())))
        with self._lock:
            hit = self._figures.get(key)
            same = hit is not None and len(hit[0]) == len(traces)
            if same and all(a is b for a, b in zip(hit[0], traces, strict=True)):
                self._figures.move_to_end(key)
                return hit[1]
        built = _SentFigure(draw(trace, *args, **kwargs))  # outside the lock: hits never wait for a draw
        with self._lock:
            self.built += 1
            self._figures[key] = (traces, built)
            self._figures.move_to_end(key)
            while len(self._figures) > self._entries:
                self._figures.popitem(last=False)
        return built


_figures = _FigureCache(FIGURE_ENTRIES)


def figure(draw: Callable[..., go.Figure], trace: Any, *args: Hashable, **kwargs: Hashable) -> go.Figure:
    """draw(trace, *args, **kwargs), drawn once per trace and arguments in this process (arguments hashable).

    The figure is shared: callers pass it to st.plotly_chart and never change it.
    """
    return _figures.get(draw, trace, args, kwargs)


def figures_built() -> int:
    """How many figures this process has actually drawn (cache misses)."""
    return _figures.built
