"""The shipped models' measured quality as figures and rows: manifest entries in, plotly figures out.

No Streamlit and no torch: an entry is the plain dict MANIFEST.json holds for one model (config, train_config,
metrics, training, provenance). Model names come from files, not users, but still go through chart_label.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from seq2seq_viz.config import ATTENTIONS, CELLS  # torch-free: the grid's rows and columns

from .charts import ACCENT, MUTED, SECOND, _axis, _figure, _trace
from .style import NORMAL, ChartStyle
from .text import chart_label

Entry = Mapping[str, Any]

QUALITY_SCALE = "Viridis"


@dataclass(frozen=True)
class Metric:
    """One number every model of a task may have: where it sits in the card and how to show it."""

    key: str
    label: str
    split: str  # "test", "test_long", or a dotted path: "attribution.integrated_gradients"
    field: str
    percent: bool  # a fraction shown as a percentage
    lower_is_better: bool = False
    header: str = ""  # a short column header for the table ("" = the label)

    def value(self, entry: Entry) -> float | None:
        where = entry.get("metrics") or {}
        for part in self.split.split("."):
            where = where.get(part) or {} if isinstance(where, Mapping) else {}
        raw = where.get(self.field) if isinstance(where, Mapping) else None
        if not isinstance(raw, int | float) or isinstance(raw, bool) or not math.isfinite(raw):
            return None
        return 100.0 * raw if self.percent else float(raw)

    @property
    def decimals(self) -> int:
        return 3 if self.field == "aer" else 2 if self.field == "mean_spearman" else 1

    def rounded(self, value: float) -> float:
        """The value as shown: AER to 3 decimals, others to 1, but never a rounded-up 100 for less (99.95 stays
        99.95: a model that missed one example in 2,000 is not perfect)."""
        if self.percent and 99.95 <= value < 100:
            return math.floor(value * 100) / 100
        return round(value, self.decimals)

    def text(self, value: float | None) -> str:
        """The value as a label (see rounded)."""
        if value is None:
            return ""
        if self.percent and 99.95 <= value < 100:
            return f"{self.rounded(value):.2f}"
        return f"{value:.{self.decimals}f}"


METRICS = (
    Metric("bleu", "BLEU", "test", "bleu", False),
    Metric("bleu_long", "BLEU on 7+ word sources", "test", "bleu_long", False, header="BLEU 7+ words"),
    Metric("exact_match", "exact match %", "test", "exact_match", True, header="exact %"),
    Metric("char_accuracy", "character accuracy %", "test", "char_accuracy", True, header="char. %"),
    Metric("aer", "AER (0 = gold alignment)", "test", "aer", False, lower_is_better=True, header="AER"),
    Metric("long_exact_match", "exact match % on unseen lengths", "test_long", "exact_match", True,
           header="exact % unseen"),
    Metric("rho_ig", "attention–attribution agreement: Spearman ρ with integrated gradients",
           "attribution.integrated_gradients", "mean_spearman", False, header="ρ α~IG"),
    Metric("top_ig", "same top source token % (attention, integrated gradients)",
           "attribution.integrated_gradients", "top_match_rate", True, header="top α=IG %"),
    Metric("rho_occlusion", "attention–attribution agreement: Spearman ρ with occlusion",
           "attribution.occlusion", "mean_spearman", False, header="ρ α~occl."),
    Metric("aer_ig", "AER of integrated gradients' top token (0 = gold)", "attribution.integrated_gradients", "aer",
           False, lower_is_better=True, header="AER IG"),
)  # fmt: skip


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


def relative_luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG 2 relative luminance of an sRGB colour given as 0-255 channels."""

    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_color_on(rgb: tuple[float, float, float]) -> str:
    """Black or white, whichever contrasts more with this background (WCAG contrast ratio; on any colour the
    better of the two is at least 4.58:1)."""
    luminance = relative_luminance(rgb)
    on_black, on_white = (luminance + 0.05) / 0.05, 1.05 / (luminance + 0.05)
    return "#000000" if on_black >= on_white else "#FFFFFF"


def _gap_text(style: ChartStyle) -> str:
    """The "–" of a variant not shipped, on the page's own background: 5.7:1 on white, 6.9:1 on the dark theme."""
    return style.muted if style.dark else "#666666"


def _scale_rgb(scale: str, fractions: list[float]) -> list[tuple[float, float, float]]:
    """The colours a plotly colour scale gives these positions in [0, 1], as 0-255 channels."""
    colors = plotly.colors.sample_colorscale(plotly.colors.get_colorscale(scale), fractions)  # linear in RGB
    return [plotly.colors.unlabel_rgb(color) for color in colors]


def variant_heatmap(
    entries: Mapping[str, Entry], metric: Metric, selected: str | None = None, style: ChartStyle = NORMAL
) -> go.Figure:
    """Cell × attention, coloured by the metric (the better end always bright), each square labelled with its
    value in black or white, whichever reads better on that square's colour; "–" marks a variant that is not
    shipped. The selected model is outlined."""
    cells, attentions, values, names = variant_grid(entries, metric)
    shown = [[metric.text(None if math.isnan(v) else v) or "–" for v in row] for row in values]
    hover = [
        [f"{chart_label(name)}<br>{metric.label}: {text}" if name else "not shipped" for name, text in pairs]
        for pairs in (zip(n, t, strict=True) for n, t in zip(names, shown, strict=True))
    ]
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if high == low:  # one value (or all equal): the middle of the scale
        low, high = low - 0.5, high + 0.5
    heatmap = _trace(
        "heatmap",
        z=values,
        x=list(range(len(attentions))),
        y=list(range(len(cells))),
        zmin=low,
        zmax=high,
        hovertext=hover,
        hoverinfo="text",
        colorscale=plotly.colors.get_colorscale(QUALITY_SCALE),  # the stops the text colours were chosen on
        reversescale=metric.lower_is_better,
        colorbar={"title": {"text": metric.label.split(" (")[0]}, "thickness": 12},
        xgap=2,
        ygap=2,
    )
    # The numbers are annotations, not the heatmap's own text: plotly gives a heatmap's text one colour (or its
    # own light/dark guess, unreadable on mid-scale squares on a dark page); each annotation gets its own.
    where = [(i, j) for i in range(len(cells)) for j in range(len(attentions)) if math.isfinite(values[i, j])]
    fractions = [(values[i, j] - low) / (high - low) for i, j in where]
    if metric.lower_is_better:
        fractions = [1 - f for f in fractions]
    backgrounds = dict(zip(where, _scale_rgb(QUALITY_SCALE, fractions), strict=True))
    labels = [
        {
            "x": j,
            "y": i,
            "text": text,
            "showarrow": False,
            "font": {
                "color": text_color_on(backgrounds[i, j]) if (i, j) in backgrounds else _gap_text(style),
                "size": style.font_size,
            },
        }
        for i, row in enumerate(shown)
        for j, text in enumerate(row)
    ]
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
        style=style,
        xaxis=_axis(attentions, "attention"),
        yaxis=_axis(cells, "cell", autorange="reversed"),
        annotations=labels,
        shapes=outline or None,
    )


_BUCKET = re.compile(r"^\s*(\d+)\s*(?:(\+)|-\s*(\d+))?\s*$")


def bucket_bounds(label: str) -> tuple[int, int | None]:
    """The lengths a by-length bucket holds, from its label: "4-6" → (4, 6), "10+" → (10, None), "5" → (5, 5)
    (the labels seq2seq_viz.metrics.bucket_label writes)."""
    match = _BUCKET.match(label)
    if not match:
        raise ValueError(f"{label!r} is not a length bucket such as 4-6, 10+ or 5.")
    low = int(match[1])
    return low, None if match[2] else int(match[3] or low)


def _buckets(entry: Entry, split: str) -> list[str]:
    """The by-length bucket labels one split of a card holds (BLEU's or exact match's), in length order."""
    values = (entry.get("metrics") or {}).get(split) or {}
    series = values.get("bleu_by_length") or values.get("exact_match_by_length") or {}
    return sorted(series, key=bucket_bounds) if isinstance(series, Mapping) else []


def longest_seen(entry: Entry) -> int | None:
    """The longest source (characters for character-level tasks, words without punctuation for word-level ones:
    the length the card's by-length metrics count) that the model's data covers, or None when the card cannot say.

    The card's task.longest_source when the builder recorded it (the longest training source, counted so; the
    eng-fra models trained on joined pairs reach 27 words). Cards from before that field are read from the test
    split's by-length buckets:
    - translation (bleu_by_length): the test sentences are drawn from the same pairs as training, stratified by
      length, and the buckets end in an open "10+", so the last bucket's upper bound is the longest test source
      (eng-fra: 9 words, which is also its longest training source); an open last bucket says no bound: None.
    - toy tasks with a test_long split (reverse, sort, copy): test holds the trained lengths (3-12) and test_long
      the lengths never trained on, so the last *test* bucket's upper bound is the longest trained (12).
    - exact match without test_long (dates): None. Its buckets stop at 20 characters whatever the data, and a
      quarter of the dates in its test and training sets are longer (up to 35), so 20 would cry wolf.
    config.max_source_len is not used: it is the longest input the model accepts (40 for the toy tasks trained on
    12 at most), not what it has seen.
    """
    recorded = (entry.get("task") or {}).get("longest_source")
    if isinstance(recorded, int) and not isinstance(recorded, bool) and recorded > 0:
        return recorded
    metrics = entry.get("metrics") or {}
    test = metrics.get("test") or {}
    if isinstance(test.get("bleu_by_length"), Mapping):
        buckets = _buckets(entry, "test")
    elif isinstance(test.get("exact_match_by_length"), Mapping) and metrics.get("test_long"):
        buckets = _buckets(entry, "test")
    else:
        return None
    return bucket_bounds(buckets[-1])[1] if buckets else None


def by_length(entry: Entry) -> tuple[str, list[str], list[float]]:
    """(what is measured, length buckets, values) of one model: BLEU by source length for translation (the
    longer inputs made by joining test sentences, test_joined, after the test split's), else exact match % by
    input length, the unseen lengths (test_long) after the trained ones."""
    metrics = entry.get("metrics") or {}
    test = metrics.get("test") or {}
    if isinstance(test.get("bleu_by_length"), Mapping):
        joined = (metrics.get("test_joined") or {}).get("bleu_by_length")
        series = {**test["bleu_by_length"], **(joined if isinstance(joined, Mapping) else {})}
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


LINE_GROUPS = ("cell", "attention", "all")  # the by-length chart's lines: the sidebar's cell, its attention, all


def line_groups(entries: Mapping[str, Entry], selected: str) -> dict[str, list[str]]:
    """The sets of models the by-length chart can draw, keyed by LINE_GROUPS, in that order: those with the
    selected model's cell (every attention against the fixed context: Bahdanau's figure), those with its attention
    (every cell: where gating matters) and every model. A set that repeats an earlier one is left out, so a
    task whose models all share the cell offers only "cell"; an unknown selected model offers only "all"."""
    if selected not in entries:
        return {"all": sorted(entries)}
    cell, attention = _variant(entries[selected])
    groups = {
        "cell": sorted(n for n, e in entries.items() if _variant(e)[0] == cell),
        "attention": sorted(n for n, e in entries.items() if _variant(e)[1] == attention),
        "all": sorted(entries),
    }
    kept: dict[str, list[str]] = {}
    for kind, names in groups.items():
        if names not in kept.values():
            kept[kind] = names
    return kept


def by_length_chart(entries: Mapping[str, Entry], selected: str | None = None, style: ChartStyle = NORMAL) -> go.Figure:
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
    joined = any((entry.get("metrics") or {}).get("test_joined") for entry in entries.values())
    note = " (the longest buckets were never seen in training)" if unseen else ""
    marks: dict[str, Any] = {}
    if joined:
        note = " (10+ words: test sentences joined)"
        # where the training inputs end: the selected model's, or all models' when they agree (a zoo part
        # retrained on joined pairs reaches 27 words, the rest 9)
        known = {n for n in (longest_seen(entry) for entry in entries.values()) if n is not None}
        longest = longest_seen(entries[selected]) if selected in entries else None
        longest = longest if longest is not None else (known.pop() if len(known) == 1 else None)
        past = [i for i, b in enumerate(buckets) if longest is not None and bucket_bounds(b)[0] > longest]
        if past:  # a dashed line before the first bucket longer than training (categories sit at 0, 1, 2, ...)
            edge = past[0] - 0.5
            marks = {
                "shapes": [{"type": "line", "xref": "x", "yref": "paper", "x0": edge, "x1": edge, "y0": 0, "y1": 1,
                            "line": {"color": MUTED, "dash": "dash", "width": 1.5}}],
                "annotations": [{"x": edge, "xref": "x", "y": 1, "yref": "paper", "text": "longest trained ←",
                                 "showarrow": False, "xanchor": "right", "yanchor": "top",
                                 "font": {"size": style.font_size - 2, "color": MUTED}}],
            }  # fmt: skip
    return _figure(
        lines,
        height=380,
        style=style,
        title=f"{measured} by {'source' if measured == 'BLEU' else 'input'} length{note}",
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": buckets,
               "title": {"text": "length (words)" if measured == "BLEU" else "length (characters)"}},
        yaxis={"title": {"text": measured}},  # not from zero: the differences between models are the point
        legend={"font": {"size": style.font_size - 2}},
        **marks,
    )  # fmt: skip


def training_curves(entry: Entry, style: ChartStyle = NORMAL) -> go.Figure | None:
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
        style=style,
        xaxis={"title": {"text": "epoch"}, "dtick": 1},
        yaxis={"title": {"text": "cross-entropy"}, "rangemode": "tozero"},
        **kept,
    )


def table_rows(entries: Mapping[str, Entry]) -> list[dict[str, Any]]:
    """One row per model: its variant, size, training and every metric its task has (None where missing)."""
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
            row[metric.label] = None if value is None else metric.rounded(value)
        rows.append(row)
    return rows


def table_numbers(entries: Mapping[str, Entry]) -> dict[str, dict[str, str | None]]:
    """The numeric columns of table_rows: column -> its short header, display format (None: the number as it is,
    already rounded) and, where the header is short, the full name."""
    columns: dict[str, dict[str, str | None]] = {
        "parameters": {"label": "parameters", "format": "localized", "help": None},
        "epochs": {"label": "epochs", "format": None, "help": None},
        "train minutes": {"label": "minutes", "format": None, "help": "Training time in minutes."},
    }
    for metric in metrics_of(entries):
        short = metric.header or metric.label
        columns[metric.label] = {
            "label": short,
            "format": f"%.{metric.decimals}f" if metric.field == "aer" else None,
            "help": metric.label if short != metric.label else None,
        }
    return columns


def _settings(entry: Entry) -> dict[str, Any]:
    """A card's configuration, training settings and weight storage in one flat dict, less what differs by design
    (cell, attention) and where it ran (device)."""
    return {
        **{k: v for k, v in (entry.get("config") or {}).items() if k not in ("cell", "attention")},
        **{f"train.{k}": v for k, v in (entry.get("train_config") or {}).items() if k != "device"},
        **({"dtype": entry["dtype"]} if entry.get("dtype") else {}),
    }


def shared_settings(entries: Mapping[str, Entry]) -> dict[str, Any]:
    """The configuration, training settings and weight storage every one of these models shares (what makes them
    comparable), leaving out what differs by design (cell, attention)."""
    merged: dict[str, Any] | None = None
    for entry in entries.values():
        flat = _settings(entry)
        merged = flat if merged is None else {k: v for k, v in merged.items() if k in flat and flat[k] == v}
    return merged or {}


def differences(entries: Mapping[str, Entry]) -> list[str]:
    """What besides the cell and the attention differs between these models, in words: the settings that are not
    the same on every card, then the training data's longest source where the cards record different ones (a zoo
    part-way through a rebuild on new data)."""
    flats = [_settings(entry) for entry in entries.values()]
    keys = sorted({k for flat in flats for k in flat})
    found = [k.removeprefix("train.").replace("_", " ") for k in keys if len({repr(flat.get(k)) for flat in flats}) > 1]
    trained: dict[int | None, list[str]] = {}
    for name, entry in sorted(entries.items()):
        trained.setdefault(longest_seen(entry), []).append(name)
    if len(trained) > 1:
        groups = sorted(trained.items(), key=lambda item: (item[0] is None, -(item[0] or 0)))
        found.append(
            "the training data: "
            + "; ".join(
                f"{_names(names, len(entries))} on sources of up to {longest} words"
                if longest is not None
                else f"{_names(names, len(entries))} on data their cards do not bound"
                for longest, names in groups
            )
        )
    return found


def _names(names: list[str], total: int) -> str:
    """A few names spelled out, many counted."""
    return ", ".join(chart_label(n) for n in names) if len(names) <= 4 else f"{len(names)} of the {total}"


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
