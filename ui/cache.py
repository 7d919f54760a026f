"""The app's only door to the core: the model list, models (once per process) and traces (by all their inputs).

Models live in st.cache_resource: shared by every session, read-only, in eval mode, never trained.
Traces live in st.cache_data, keyed by everything that determines them (model and its checkpoint hash, text,
mode, options, reference, forced prefix), so moving through steps or pages never decodes again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

import seq2seq_viz
from seq2seq_viz import examples_for, pretrained_dir
from seq2seq_viz.errors import Seq2SeqVizError

seq2seq_viz.set_threads(1)  # the server shares a few cores with the browsers it serves

__all__ = ["Model", "Seq2SeqVizError", "catalog", "decodes", "examples", "trace"]

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


@st.cache_data(ttl=CATALOG_TTL_S, show_spinner=False)
def _catalog(directory: str) -> dict[str, dict[str, Any]]:
    return seq2seq_viz.list_models(Path(directory))


def catalog() -> dict[str, Model]:
    """name -> Model for every model in the manifest (raises Seq2SeqVizError for a damaged manifest)."""
    models = {}
    for name, entry in _catalog(str(pretrained_dir())).items():
        config = entry.get("config", {})
        task, cell, attention = config.get("task"), config.get("cell"), config.get("attention")
        if task and cell and attention:
            models[name] = Model(name, task, cell, attention, entry)
    return models


@st.cache_resource(show_spinner="Loading the model…", max_entries=24)
def _model(name: str, sha256: str, directory: str):
    return seq2seq_viz.load_model(name, directory=Path(directory)).eval()


@st.cache_data(show_spinner=False, max_entries=64)
def _examples(name: str, sha256: str, directory: str) -> dict[str, Any]:
    return examples_for(name, Path(directory))


def examples(model: Model) -> dict[str, Any]:
    """{"inputs": [...], "test_pairs": [{"source", "references"}]} from the model's card."""
    return _examples(model.name, model.sha256, str(pretrained_dir()))


@st.cache_data(show_spinner="Decoding…", max_entries=512)
def _trace(
    name: str,
    sha256: str,
    directory: str,
    text: str,
    mode: str,
    options: tuple[tuple[str, Any], ...],
    reference: str | None,
    prefix: tuple[str, ...] | None,
) -> seq2seq_viz.Trace:
    global _decodes
    _decodes += 1
    extra = dict(options)
    if mode == "forced_prefix":
        extra["prefix"] = list(prefix or ())
    if mode == "teacher_forced":
        reference = reference or ""  # core answers an empty reference with one sentence
    return seq2seq_viz.decode(_model(name, sha256, directory), text, mode, reference=reference, **extra)


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
    )


def decodes() -> int:
    """How many decodes this process has actually run (cache misses)."""
    return _decodes
