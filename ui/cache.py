"""The app's only door to the core: the model list, models (once per process), traces and their figures.

Models live in st.cache_resource: shared by every session, read-only, in eval mode, never trained.
Traces live in st.cache_resource too, keyed by everything that determines them (model and its checkpoint hash,
text, mode, options, reference, forced prefix), so moving through steps or pages never decodes again. They are
shared objects, not copies: st.cache_data would unpickle a fresh copy on every rerun, and nobody mutates a Trace.
Figures are built once per (trace, chart, arguments) and kept in a bounded LRU: a rerun only sends them.
"""

from __future__ import annotations

import gc
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


@dataclass(frozen=True)
class Model:
    """One shipped model as the picker sees it."""

    name: str
    task: str
    cell: str
    attention: str
    entry: dict[str, Any]  # the manifest entry: config, parameters, metrics, provenance, ...

    @property
    def sha256(self) -> str:
        return self.entry.get("sha256", "")


@st.cache_resource(ttl=CATALOG_TTL_S, show_spinner=False)
def _catalog(directory: str) -> dict[str, Model]:
    models = {}
    for name, entry in seq2seq_viz.list_models(Path(directory)).items():
        config = entry.get("config", {})
        task, cell, attention = config.get("task"), config.get("cell"), config.get("attention")
        if task and cell and attention:
            models[name] = Model(name, task, cell, attention, entry)
    return models


def catalog() -> dict[str, Model]:
    """name -> Model for every model in the manifest (raises Seq2SeqVizError for a damaged manifest).

    Read once per CATALOG_TTL_S and shared, not copied: a run asks for it several times, and st.cache_data
    would unpickle the whole manifest each time. Nobody changes it.
    """
    return _catalog(str(pretrained_dir()))


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
    return _examples(model.name, model.sha256, str(pretrained_dir()))


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
    global _decodes
    extra = dict(options)
    if mode == "forced_prefix":
        extra["prefix"] = list(prefix or ())
    if mode == "teacher_forced":
        reference = reference or ""  # core answers an empty reference with one sentence
    model = _model(name, sha256, directory)
    with _budget.spend():  # only a cache miss decodes, so only a miss is billed
        _decodes += 1
        return seq2seq_viz.decode(model, text, mode, reference=reference, **extra)


def trace(
    model: Model,
    text: str,
    mode: str = "greedy",
    options: dict[str, Any] | None = None,
    reference: str | None = None,
    prefix: list[str] | None = None,
) -> seq2seq_viz.Trace:
    """The Trace of one decode; raises Seq2SeqVizError with a sentence for a person (empty, too long, ...)."""
    return _trace(
        model.name,
        model.sha256,
        str(pretrained_dir()),
        text,
        mode,
        tuple(sorted((options or {}).items())),
        reference,
        tuple(prefix) if prefix is not None else None,
        session_budget(),
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
    lives, and a hit is checked with `is` against the trace asked for.
    """

    def __init__(self, entries: int) -> None:
        self._entries = entries
        self._figures: OrderedDict[Hashable, tuple[object, go.Figure]] = OrderedDict()
        self._lock = threading.Lock()
        self.built = 0  # figures actually drawn (misses); tests read it

    def get(self, draw: Callable[..., go.Figure], trace: Any, args: tuple, kwargs: dict) -> go.Figure:
        key = (id(trace), draw.__module__, draw.__qualname__, args, tuple(sorted(kwargs.items())))
        with self._lock:
            hit = self._figures.get(key)
            if hit is not None and hit[0] is trace:
                self._figures.move_to_end(key)
                return hit[1]
        built = _SentFigure(draw(trace, *args, **kwargs))  # outside the lock: hits never wait for a draw
        with self._lock:
            self.built += 1
            self._figures[key] = (trace, built)
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
