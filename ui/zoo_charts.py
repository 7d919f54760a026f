"""The shipped models' measured quality as figures and rows: manifest entries in, plotly figures out.

No Streamlit and no torch: an entry is the plain dict MANIFEST.json holds for one model (config, train_config,
metrics, training, provenance). Model names come from files, not users, but still go through chart_label.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .charts import ACCENT, MUTED, SECOND, _axis, _figure, _trace
from .text import chart_label

Entry = Mapping[str, Any]

CELLS = ("rnn", "gru", "lstm")
ATTENTIONS = ("none", "dot", "general", "concat", "additive")
QUALITY_SCALE = "Viridis"


@dataclass(frozen=True)
class Metric:
    """One number every model of a task may have: where it sits in the card and how to show it."""

    key: str
    label: str
    split: str  # "test" or "test_long"
    field: str
    percent: bool  # a fraction shown as a percentage
    lower_is_better: bool = False

    def value(self, entry: Entry) -> float | None:
        raw = ((entry.get("metrics") or {}).get(self.split) or {}).get(self.field)
        if not isinstance(raw, int | float) or isinstance(raw, bool) or not math.isfinite(raw):
            return None
        return 100.0 * raw if self.percent else float(raw)

    def text(self, value: float | None) -> str:
        """The value as a label: AER to 3 decimals, others to 1, but never a rounded-up "100.0" for less."""
        if value is None:
            return ""
        if self.field == "aer":
            return f"{value:.3f}"
        if self.percent and 99.95 <= value < 100:
            return f"{math.floor(value * 100) / 100:.2f}"
        return f"{value:.1f}"


METRICS = (
    Metric("bleu", "BLEU", "test", "bleu", False),
    Metric("bleu_long", "BLEU on 7+ word sources", "test", "bleu_long", False),
    Metric("exact_match", "exact match %", "test", "exact_match", True),
    Metric("char_accuracy", "character accuracy %", "test", "char_accuracy", True),
    Metric("aer", "AER (0 = gold alignment)", "test", "aer", False, lower_is_better=True),
    Metric("long_exact_match", "exact match % on unseen lengths", "test_long", "exact_match", True),
)


def metrics_of(entries: Mapping[str, Entry]) -> list[Metric]:
    """The metrics at least one of these models has, in a fixed order (BLEU first for translation)."""
    return [metric for metric in METRICS if any(metric.value(entry) is not None for entry in entries.values())]


def _variant(entry: Entry) -> tuple[str, str]:
    config = entry.get("config") or {}
    return str(config.get("cell", "?")), str(config.get("attention", "?"))


def _ordered(values: set[str], order: tuple[str, ...]) -> list[str]:
    return [v for v in order if v in values] + sorted(values - set(order))


def variant_grid(
    entries: Mapping[str, Entry], metric: Metric
) -> tuple[list[str], list[str], np.ndarray, list[list[str]]]:
    """(cells, attentions, values, names): values[i][j] is metric for cell i with attention j, NaN where no
    model of that variant ships; every cell and attention of the plan is a row or column, so gaps show."""
    variants = {_variant(entry): name for name, entry in entries.items()}
    cells = _ordered({c for c, _ in variants} | set(CELLS), CELLS)
    attentions = _ordered({a for _, a in variants} | set(ATTENTIONS), ATTENTIONS)
    values = np.full((len(cells), len(attentions)), np.nan)
    names = [["" for _ in attentions] for _ in cells]
    for (cell, attention), name in variants.items():
        i, j = cells.index(cell), attentions.index(attention)
        names[i][j] = name
        value = metric.value(entries[name])
        if value is not None:
            values[i, j] = value
    return cells, attentions, values, names


def variant_heatmap(entries: Mapping[str, Entry], metric: Metric, selected: str | None = None) -> go.Figure:
    """Cell × attention, coloured by the metric (the better end always bright), each square labelled with its
    value; "–" marks a variant that is not shipped. The selected model is outlined."""
    cells, attentions, values, names = variant_grid(entries, metric)
    shown = [[metric.text(None if math.isnan(v) else v) or "–" for v in row] for row in values]
    hover = [
        [f"{chart_label(name)}<br>{metric.label}: {text}" if name else "not shipped" for name, text in pairs]
        for pairs in (zip(n, t, strict=True) for n, t in zip(names, shown, strict=True))
    ]
    heatmap = _trace(
        "heatmap",
        z=values,
        x=list(range(len(attentions))),
        y=list(range(len(cells))),
        text=shown,
        texttemplate="%{text}",
        hovertext=hover,
        hoverinfo="text",
        colorscale=QUALITY_SCALE,
        reversescale=metric.lower_is_better,
        colorbar={"title": {"text": metric.label.split(" (")[0]}, "thickness": 12},
        xgap=2,
        ygap=2,
    )
    outline = [
        {
            "type": "rect",
            "x0": j - 0.5,
            "x1": j + 0.5,
            "y0": i - 0.5,
            "y1": i + 0.5,
            "line": {"color": ACCENT, "width": 3},
        }
        for i, row in enumerate(names)
        for j, name in enumerate(row)
        if name and name == selected
    ]
    return _figure(
        [heatmap],
        height=70 + 60 * len(cells),
        title=f"{metric.label} by cell and attention",
        xaxis=_axis(attentions, "attention"),
        yaxis=_axis(cells, "cell", autorange="reversed"),
        shapes=outline or None,
    )


def by_length(entry: Entry) -> tuple[str, list[str], list[float]]:
    """(what is measured, length buckets, values) of one model: BLEU by source length for translation, else
    exact match % by input length, the unseen lengths (test_long) after the trained ones."""
    metrics = entry.get("metrics") or {}
    test = metrics.get("test") or {}
    if isinstance(test.get("bleu_by_length"), Mapping):
        series = dict(test["bleu_by_length"])
        return "BLEU", list(series), [float(v) for v in series.values()]
    series = {**(test.get("exact_match_by_length") or {}), **((metrics.get("test_long") or {}).get(
        "exact_match_by_length") or {})}  # fmt: skip
    return "exact match %", list(series), [100.0 * float(v) for v in series.values()]


ATTENTION_COLORS = {  # Okabe-Ito (colour-blind safe); the fixed-context baseline is grey
    "none": MUTED,
    "dot": "#56B4E9",
    "general": "#0072B2",
    "concat": "#009E73",
    "additive": "#D55E00",
}
CELL_DASHES = {"gru": "solid", "lstm": "dash", "rnn": "dot"}


def by_length_chart(entries: Mapping[str, Entry], selected: str | None = None) -> go.Figure:
    """One line per model over length buckets: the colour says the attention (fixed context grey), the dash
    says the cell, and the selected model is drawn thick, so the baseline's fall with length stands out."""
    lines, measured, buckets = [], "score", []
    for name, entry in sorted(entries.items()):
        what, labels, values = by_length(entry)
        if not labels:
            continue
        measured = what
        buckets += [b for b in labels if b not in buckets]
        cell, attention = _variant(entry)
        lines.append(
            _trace(
                "scatter",
                x=labels,
                y=values,
                name=chart_label(name),
                mode="lines+markers",
                line={
                    "color": ATTENTION_COLORS.get(attention, ACCENT),
                    "dash": CELL_DASHES.get(cell, "longdash"),
                    "width": 4 if name == selected else 1.5,
                },
                hovertemplate=f"{chart_label(name)}<br>%{{x}}: %{{y:.1f}}<extra></extra>",
            )
        )
    unseen = any((entry.get("metrics") or {}).get("test_long") for entry in entries.values())
    return _figure(
        lines,
        height=380,
        title=f"{measured} by {'source' if measured == 'BLEU' else 'input'} length"
        + (" (the longest buckets were never seen in training)" if unseen else ""),
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": buckets,
               "title": {"text": "length (words)" if measured == "BLEU" else "length (characters)"}},
        yaxis={"title": {"text": measured}},  # not from zero: the differences between models are the point
        legend={"font": {"size": 11}},
    )  # fmt: skip


def training_curves(entry: Entry) -> go.Figure | None:
    """Train and validation loss per epoch from the card's history (None when the card recorded none)."""
    history = (entry.get("training") or {}).get("history") or []
    if not history:
        return None
    epochs = [row["epoch"] for row in history]
    best = (entry.get("training") or {}).get("best_epoch")
    data = [
        _trace("scatter", x=epochs, y=[row["train_loss"] for row in history], name="train", line={"color": SECOND}),
        _trace(
            "scatter", x=epochs, y=[row["valid_loss"] for row in history], name="validation", line={"color": ACCENT}
        ),
    ]
    kept = {}
    if best:
        kept = {
            "shapes": [
                {"type": "line", "xref": "x", "yref": "paper", "x0": best, "x1": best, "y0": 0, "y1": 1,
                 "line": {"color": MUTED, "dash": "dot"}}
            ],
            "annotations": [{"x": best, "y": 1, "yref": "paper", "text": "kept", "showarrow": False,
                             "yanchor": "bottom"}],
        }  # fmt: skip
    return _figure(
        data,
        height=300,
        title="Loss per target token by epoch",
        xaxis={"title": {"text": "epoch"}, "dtick": 1},
        yaxis={"title": {"text": "cross-entropy"}, "rangemode": "tozero"},
        **kept,
    )


def table_rows(entries: Mapping[str, Entry]) -> list[dict[str, Any]]:
    """One row per model: its variant, size, training and every metric its task has (blank where missing)."""
    metrics = metrics_of(entries)
    rows = []
    for name, entry in sorted(entries.items()):
        cell, attention = _variant(entry)
        training = entry.get("training") or {}
        row: dict[str, Any] = {
            "model": name,
            "cell": cell,
            "attention": attention,
            "parameters": entry.get("parameters"),
            "epochs": training.get("epochs"),
            "train minutes": round(training["seconds"] / 60, 1) if training.get("seconds") else None,
        }
        for metric in metrics:
            value = metric.value(entry)
            row[metric.label] = None if value is None else round(value, 3 if metric.field == "aer" else 1)
        rows.append(row)
    return rows


def shared_settings(entries: Mapping[str, Entry]) -> dict[str, Any]:
    """The configuration, training settings and weight storage every one of these models shares (what makes them
    comparable), leaving out what differs by design (cell, attention)."""
    merged: dict[str, Any] | None = None
    for entry in entries.values():
        flat = {
            **{k: v for k, v in (entry.get("config") or {}).items() if k not in ("cell", "attention")},
            **{f"train.{k}": v for k, v in (entry.get("train_config") or {}).items() if k != "device"},
            **({"dtype": entry["dtype"]} if entry.get("dtype") else {}),
        }
        merged = flat if merged is None else {k: v for k, v in merged.items() if k in flat and flat[k] == v}
    return merged or {}


SETTINGS: tuple[tuple[str, Any], ...] = (  # (key in shared_settings, value -> words)
    ("level", lambda v: f"{v} level"),
    ("embedding_size", lambda v: f"embedding {v}"),
    ("hidden_size", lambda v: f"hidden {v}"),
    ("layers", lambda v: f"{v} layer" + ("s" if v != 1 else "")),
    ("bidirectional", lambda v: "bidirectional encoder" if v else "unidirectional encoder"),
    ("dropout", lambda v: f"dropout {v:g}"),
    ("train.batch_size", lambda v: f"batch {v}"),
    ("train.lr", lambda v: f"Adam lr {v:g}"),
    ("train.epochs", lambda v: f"up to {v} epochs"),
    ("train.teacher_forcing", lambda v: "always teacher-forced" if v >= 1 else f"teacher forcing {v:g}"),
    ("train.min_freq", lambda v: f"words seen {v}+ times"),
    ("train.seed", lambda v: f"seed {v}"),
    ("dtype", lambda v: f"{v} weights"),
)


def settings_summary(shared: Mapping[str, Any]) -> str:
    """The shared settings that matter for a comparison, in one line ("" when none are shared)."""
    parts = []
    for key, words in SETTINGS:
        if shared.get(key) is None or (key == "train.min_freq" and shared.get("level") != "word"):
            continue
        parts.append(words(shared[key]))
    return " · ".join(parts)
