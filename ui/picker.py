"""The model picker: task → cell → attention (→ model, where several share the three), only combinations that exist.

A Picker owns its session_state keys under a prefix, so a page can draw several (Compare draws 2–4); the
sidebar's is the one with no prefix. The catalogue logic (what to offer, in which order) is pure: it reads a
name -> Model mapping and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import streamlit as st

from seq2seq_viz.config import ATTENTIONS, CELLS

if TYPE_CHECKING:
    from .cache import Model

CELL_LABELS = {"rnn": "RNN (plain)", "gru": "GRU", "lstm": "LSTM"}
ATTENTION_LABELS = {
    "none": "none (fixed context)",
    "dot": "dot (Luong)",
    "general": "general (Luong)",
    "concat": "concat (Luong)",
    "additive": "additive (Bahdanau)",
}
CELL_ORDER = ("gru", "lstm", "rnn")  # the picker's order: the cell most lessons start from first
ATTENTION_ORDER = ("general", "additive", "dot", "concat", "none")
# The app opens on eng-fra-lstm-dot: test BLEU 47.0 (0.5 behind lstm-concat), it holds on 10-27-word inputs (45.1),
# it is the best on single long sentences, it writes every lesson sentence sensibly ("je suis enrhumé.", "j'adore
# apprendre."), and its score is the simplest to explain, e_tj = s_t·h_j. Retrained on long inputs, gru-concat,
# the default before, writes "je suis froid.".
# Else the next one that ships.
PREFERRED_MODELS = (
    "eng-fra-lstm-dot",
    "eng-fra-gru-concat",
    "eng-fra-gru-general",
    "dates-gru-general",
    "reverse-gru-general",
)
TASK_ORDER = ("eng-fra", "dates", "reverse", "copy", "sort")
assert set(CELL_ORDER) == set(CELLS) and set(ATTENTION_ORDER) == set(ATTENTIONS)


def _ordered(values: set[str], order: tuple[str, ...]) -> list[str]:
    return sorted(values, key=lambda v: (order.index(v) if v in order else len(order), v))


def ordered_tasks(catalog: Mapping[str, Model]) -> list[str]:
    return _ordered({m.task for m in catalog.values()}, TASK_ORDER)


def cells_for(catalog: Mapping[str, Model], task: str) -> list[str]:
    return _ordered({m.cell for m in catalog.values() if m.task == task}, CELL_ORDER)


def attentions_for(catalog: Mapping[str, Model], task: str, cell: str) -> list[str]:
    return _ordered({m.attention for m in catalog.values() if m.task == task and m.cell == cell}, ATTENTION_ORDER)


def models_for(catalog: Mapping[str, Model], task: str, cell: str, attention: str) -> list[str]:
    """The names of the models with this task, cell and attention: the shipped one first, then the user's."""
    names = [n for n, m in catalog.items() if (m.task, m.cell, m.attention) == (task, cell, attention)]
    return sorted(names, key=lambda n: (catalog[n].origin != "shipped", n))


def default_model(catalog: Mapping[str, Model]) -> str:
    """The best available model: the preferred ones in order, else the first by name."""
    for name in PREFERRED_MODELS:
        if name in catalog:
            return name
    return sorted(catalog)[0]


def model_named(catalog: Mapping[str, Model], task: str, cell: str, attention: str) -> Model | None:
    names = models_for(catalog, task, cell, attention)
    return catalog[names[0]] if names else None


def label(model: Model) -> str:
    """A model as a person reads it in a list: its name, and where it comes from unless it ships."""
    return model.name if model.origin == "shipped" else f"{model.name} ({model.origin_label})"


@dataclass(frozen=True)
class Picker:
    """One model picker; its widgets' keys are prefix + task / cell / attention / model."""

    prefix: str = ""

    @property
    def task_key(self) -> str:
        return f"{self.prefix}task"

    @property
    def cell_key(self) -> str:
        return f"{self.prefix}cell"

    @property
    def attention_key(self) -> str:
        return f"{self.prefix}attention"

    @property
    def model_key(self) -> str:
        return f"{self.prefix}model"

    def select(self, model: Model) -> None:
        """Point the picker at a model (before its widgets are drawn, or in a callback)."""
        ss = st.session_state
        ss[self.task_key], ss[self.cell_key], ss[self.attention_key] = model.task, model.cell, model.attention
        ss[self.model_key] = model.name

    def fix(self, catalog: Mapping[str, Model], task: str | None = None) -> Model:
        """Keep the picked combination one that exists (call before the widgets); `task` pins the task."""
        ss = st.session_state
        if task is not None:
            ss[self.task_key] = task
        if ss.get(self.task_key) not in ordered_tasks(catalog):
            self.select(catalog[default_model(catalog)])
        task = ss[self.task_key]
        cells = cells_for(catalog, task)
        if ss.get(self.cell_key) not in cells:
            ss[self.cell_key] = cells[0]
        attentions = attentions_for(catalog, task, ss[self.cell_key])
        if ss.get(self.attention_key) not in attentions:
            ss[self.attention_key] = attentions[0]
        names = models_for(catalog, task, ss[self.cell_key], ss[self.attention_key])
        if ss.get(self.model_key) not in names:
            ss[self.model_key] = names[0]  # the three lists above only offer combinations that exist
        return catalog[ss[self.model_key]]

    def draw(
        self,
        catalog: Mapping[str, Model],
        on_change: Any = None,
        args: tuple = (),
        task: str | None = None,
        on_task_change: Any = None,
        task_args: tuple = (),
        compact: bool = False,
    ) -> Model:
        """The selectboxes (Task only when `task` is not pinned; Model only when several share the combination).

        Draws into the current container; returns the model picked. compact: cell and attention side by side,
        with short labels (a picker in a narrow column, as on Compare)."""
        model = self.fix(catalog, task)
        if task is None:
            st.selectbox("Task", ordered_tasks(catalog), key=self.task_key, on_change=on_task_change, args=task_args)
        cell_box, attention_box = st.columns(2, gap="small") if compact else (st.container(), st.container())
        cell_box.selectbox(
            "Cell",
            cells_for(catalog, model.task),
            key=self.cell_key,
            format_func=(lambda c: c.upper()) if compact else (lambda c: CELL_LABELS.get(c, c)),
            on_change=on_change,
            args=args,
        )
        attention_box.selectbox(
            "Attention",
            attentions_for(catalog, model.task, model.cell),
            key=self.attention_key,
            format_func=(lambda a: a) if compact else (lambda a: ATTENTION_LABELS.get(a, a)),
            on_change=on_change,
            args=args,
        )
        names = models_for(catalog, model.task, model.cell, model.attention)
        if len(names) > 1:
            st.selectbox(
                "Model",
                names,
                key=self.model_key,
                format_func=lambda n: label(catalog[n]),
                on_change=on_change,
                args=args,
                help="More than one model has this task, cell and attention: the shipped one, and yours.",
            )
        return model


# ---- Compare's presets: sets of models on one task that make a lesson ----

SCORES = tuple(a for a in ATTENTIONS if a != "none")  # the attention scores, without the baseline


def presets(catalog: Mapping[str, Model], model: Model) -> dict[str, tuple[str, ...]]:
    """Preset label -> the model names it compares, built around `model` (shipped models first; a preset with
    fewer than two models that exist is left out)."""

    def names(pairs: list[tuple[str, str]]) -> tuple[str, ...]:
        found = (model_named(catalog, model.task, cell, attention) for cell, attention in pairs)
        return tuple(m.name for m in found if m is not None)[:4]

    attention = model.attention if model.attention != "none" else "general"
    fixed = ["none", *dict.fromkeys(a for a in (attention, "general", "additive"))][:3]
    offered = {
        "Same cell, every attention": names([(model.cell, a) for a in SCORES]),
        "Same attention, every cell": names([(c, attention) for c in CELLS]),
        "Fixed context vs attention": names([(model.cell, a) for a in fixed]),
    }
    return {label: chosen for label, chosen in offered.items() if len(chosen) >= 2}


def default_comparison(catalog: Mapping[str, Model], model: Model) -> tuple[str, ...]:
    """What Compare opens on: fixed context vs attention (the classic lesson), else another preset, else the
    task's first models."""
    offered = presets(catalog, model)
    for label in ("Fixed context vs attention", *offered):
        if label in offered:
            return offered[label]
    same_task = [n for n, m in catalog.items() if m.task == model.task]
    return tuple(dict.fromkeys([model.name, *sorted(same_task)]))[:2]
