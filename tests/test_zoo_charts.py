"""The Models page's pure figures, on the real shipped manifest: every number drawn is the card's number."""

from __future__ import annotations

import math

import numpy as np
import plotly.colors
import pytest

from seq2seq_viz import list_models
from ui import zoo_charts
from ui.style import style_for

pytestmark = pytest.mark.usefixtures("validated_charts")  # every figure passes plotly's validation


@pytest.fixture(scope="module")
def manifest() -> dict:
    return list_models()


def _task(manifest: dict, task: str) -> dict:
    return {name: entry for name, entry in manifest.items() if entry["config"]["task"] == task}


def test_dates_grid_has_every_variant_with_its_card_value(manifest):
    dates = _task(manifest, "dates")
    aer = next(m for m in zoo_charts.metrics_of(dates) if m.key == "aer")
    cells, attentions, values, names = zoo_charts.variant_grid(dates, aer)
    assert (cells, attentions) == (["rnn", "gru", "lstm"], ["none", "dot", "general", "concat", "additive"])
    for i, cell in enumerate(cells):
        for j, attention in enumerate(attentions):
            name = f"dates-{cell}-{attention}"
            assert names[i][j] == name
            expected = dates[name]["metrics"]["test"].get("aer")
            assert math.isnan(values[i, j]) if expected is None else values[i, j] == expected
    # The additive models are the known AER misses; the figure colours lower-is-better the right way round.
    figure = zoo_charts.variant_heatmap(dates, aer, "dates-gru-additive")
    assert figure.data[0].reversescale is True
    labels = {(a.y, a.x): a.text for a in figure.layout.annotations}
    assert labels[1, 4] == f"{dates['dates-gru-additive']['metrics']['test']['aer']:.3f}"
    assert labels[1, 0] == "–"  # gru-none ships, but a fixed context has no alignment to score


def test_toy_by_length_appends_the_unseen_lengths(manifest):
    what, buckets, values = zoo_charts.by_length(manifest["reverse-gru-none"])
    metrics = manifest["reverse-gru-none"]["metrics"]
    assert what == "exact match %"
    assert buckets == ["3-6", "7-9", "10-12", "13-16", "17-20"]
    expected = {**metrics["test"]["exact_match_by_length"], **metrics["test_long"]["exact_match_by_length"]}
    np.testing.assert_allclose(values, [100 * v for v in expected.values()])
    assert values[0] > values[-1]  # one fixed vector holds short strings, not long ones


def test_eng_fra_by_length_is_bleu_and_the_chart_dashes_the_baseline(manifest):
    eng_fra = _task(manifest, "eng-fra")
    what, buckets, values = zoo_charts.by_length(eng_fra["eng-fra-gru-none"])
    metrics = eng_fra["eng-fra-gru-none"]["metrics"]
    assert what == "BLEU" and buckets == ["1-3", "4-6", "7-9", "10-13", "14-17", "18-22", "23-27"]
    expected = [*metrics["test"]["bleu_by_length"].values(), *metrics["test_joined"]["bleu_by_length"].values()]
    assert values == expected  # the joins of test sentences after the test split's own lengths
    assert values[0] > 3 * values[-1]  # a fixed context does not survive 23-27 words
    # cards from before the builder recorded the longest training source: the test split's lengths (9) bound it,
    # whatever the shipped zoo's rebuild on joined pairs has reached
    eng_fra = {name: {**entry, "task": {}} for name, entry in eng_fra.items()}
    figure = zoo_charts.by_length_chart(eng_fra, selected="eng-fra-gru-general")
    assert "test sentences joined" in figure.layout.title.text
    (edge,) = figure.layout.shapes  # a dashed line between 7-9 (trained) and 10-13 (joined)
    assert edge.x0 == edge.x1 == 2.5 and edge.line.dash == "dash"
    styles = {line.name: (line.line.color, line.line.dash, line.line.width) for line in figure.data}
    assert styles["eng-fra-gru-none"] == (zoo_charts.MUTED, "solid", 1.5)  # the baseline is grey
    assert styles["eng-fra-gru-general"] == (zoo_charts.ATTENTION_COLORS["general"], "solid", 4)
    # models retrained on joined pairs (up to 27 words): the selected one's training length places the line
    mixed = {**eng_fra, "eng-fra-gru-general": {**eng_fra["eng-fra-gru-general"], "task": {"longest_source": 27}}}
    assert not zoo_charts.by_length_chart(mixed, selected="eng-fra-gru-general").layout.shapes  # all lengths seen
    (edge,) = zoo_charts.by_length_chart(mixed, selected="eng-fra-gru-none").layout.shapes
    assert edge.x0 == 2.5
    assert not zoo_charts.by_length_chart(mixed).layout.shapes  # the models disagree and none is selected
    fifteen = {**eng_fra, "eng-fra-gru-general": {**eng_fra["eng-fra-gru-general"], "task": {"longest_source": 15}}}
    (edge,) = zoo_charts.by_length_chart(fifteen, selected="eng-fra-gru-general").layout.shapes
    assert edge.x0 == 4.5  # between 14-17 (holds 15) and 18-22


def test_shared_settings_are_what_makes_a_task_fair(manifest):
    eng_fra = _task(manifest, "eng-fra")
    shared = zoo_charts.shared_settings(eng_fra)
    assert shared["hidden_size"] == 256 and shared["train.epochs"] == 12 and "cell" not in shared
    summary = zoo_charts.settings_summary(shared)
    assert summary.startswith("word level · embedding 128 · hidden 256 · 1 layer · bidirectional encoder")
    assert "words seen 2+ times" in summary and summary.endswith("seed 0 · int8 weights")
    assert zoo_charts.settings_summary(zoo_charts.shared_settings(_task(manifest, "dates"))).endswith("float16 weights")
    # Models that differ in a setting do not claim to share it.
    mixed = {name: {"config": {"hidden_size": size, "level": "char"}} for name, size in (("a", 8), ("b", 16))}
    assert zoo_charts.shared_settings(mixed) == {"level": "char"}
    assert zoo_charts.settings_summary(zoo_charts.shared_settings(mixed)) == "char level"


def test_training_curves_and_rows(manifest):
    entry = manifest["eng-fra-gru-none"]
    figure = zoo_charts.training_curves(entry)
    history = entry["training"]["history"]
    assert list(figure.data[1].y) == [row["valid_loss"] for row in history]
    assert zoo_charts.training_curves({"training": {"seconds": 1.0}}) is None
    rows = {row["model"]: row for row in zoo_charts.table_rows(_task(manifest, "eng-fra"))}
    assert rows["eng-fra-gru-none"]["BLEU"] == round(entry["metrics"]["test"]["bleu"], 1)
    assert rows["eng-fra-gru-none"]["epochs"] == entry["training"]["epochs"]


def test_labels_never_round_a_miss_up_to_a_perfect_score():
    exact = next(m for m in zoo_charts.METRICS if m.key == "exact_match")
    assert exact.text(99.99) == "99.99" and exact.text(100.0) == "100.0" and exact.text(76.14) == "76.1"
    aer = next(m for m in zoo_charts.METRICS if m.key == "aer")
    assert aer.text(0.19749) == "0.197" and aer.text(None) == ""


def _wcag(rgb) -> float:
    """WCAG 2 relative luminance, written out again here (sRGB channels 0-255)."""
    channels = [c / 255 for c in rgb]
    r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(one, other) -> float:
    high, low = sorted((_wcag(one), _wcag(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _rgb(color: str) -> tuple[int, ...]:
    return plotly.colors.hex_to_rgb(color) if color.startswith("#") else plotly.colors.unlabel_rgb(color)


def test_the_text_colour_is_the_one_that_reads_on_every_colour_of_the_scale():
    for color in plotly.colors.sample_colorscale("Viridis", list(np.linspace(0, 1, 201))):
        background = plotly.colors.unlabel_rgb(color)
        chosen = zoo_charts.text_color_on(background)
        other = "#FFFFFF" if chosen == "#000000" else "#000000"
        assert _contrast(_rgb(chosen), background) >= max(4.5, _contrast(_rgb(other), background))
    assert zoo_charts.text_color_on((68, 1, 84)) == "#FFFFFF"  # Viridis' dark purple end
    assert zoo_charts.text_color_on((253, 231, 37)) == "#000000"  # its yellow end


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("task", ["eng-fra", "dates", "reverse"])
def test_every_number_on_the_grid_reads_on_its_own_square(manifest, task, dark):
    entries = _task(manifest, task)
    offered = zoo_charts.metrics_of(entries)
    for metric in {offered[0], *(m for m in offered if m.lower_is_better)}:  # the first one, and AER's reversed scale
        style = style_for(dark=dark)
        figure = zoo_charts.variant_heatmap(entries, metric, style=style)
        heatmap = figure.data[0]
        z = np.array(heatmap.z, dtype=float)
        low, high = heatmap.zmin, heatmap.zmax
        assert (low, high) == (np.nanmin(z), np.nanmax(z))  # the range plotly colours by, made explicit
        scale = [[stop, color] for stop, color in heatmap.colorscale]  # the stops the figure sends
        for annotation in figure.layout.annotations:
            i, j = annotation.y, annotation.x
            if np.isnan(z[i, j]):
                assert annotation.text == "–"
                page = (14, 17, 23) if dark else (255, 255, 255)  # Streamlit's dark and light backgrounds
                assert _contrast(_rgb(annotation.font.color), page) >= 4.5
                continue
            assert annotation.text == metric.text(z[i, j])
            position = (z[i, j] - low) / (high - low)
            position = 1 - position if heatmap.reversescale else position
            (square,) = plotly.colors.sample_colorscale(scale, [position])
            assert _contrast(_rgb(annotation.font.color), plotly.colors.unlabel_rgb(square)) >= 4.5
            assert annotation.font.size == style.font_size
        assert not heatmap.text and not heatmap.texttemplate  # the numbers are the annotations, drawn once


def test_rows_keep_missing_values_empty_and_never_round_a_miss_up(manifest):
    dates = _task(manifest, "dates")
    rows = {row["model"]: row for row in zoo_charts.table_rows(dates)}
    aer = "AER (0 = gold alignment)"
    assert rows["dates-gru-none"][aer] is None  # no attention: no alignment error, not a zero or "None"
    assert rows["dates-gru-additive"][aer] == round(dates["dates-gru-additive"]["metrics"]["test"]["aer"], 3)
    test = dates["dates-lstm-dot"]["metrics"]["test"]
    assert test["exact_match"] < 1 and rows["dates-lstm-dot"]["exact match %"] == 99.95  # one miss in 2,000
    assert test["char_accuracy"] < 1 and rows["dates-lstm-dot"]["character accuracy %"] == 99.99
    assert rows["dates-gru-dot"]["exact match %"] == 100.0 == 100 * dates["dates-gru-dot"]["metrics"]["test"][
        "exact_match"]  # fmt: skip
    numbers = zoo_charts.table_numbers(dates)
    attribution = {m.label for m in zoo_charts.METRICS if m.split.startswith("attribution.")}
    assert set(numbers) == {"parameters", "epochs", "train minutes", "exact match %", "character accuracy %", aer,
                            *attribution}  # fmt: skip
    rho = "attention–attribution agreement: Spearman ρ with integrated gradients"
    wanted = dates["dates-gru-general"]["metrics"]["attribution"]["integrated_gradients"]["mean_spearman"]
    assert rows["dates-gru-general"][rho] == round(wanted, 2) and rows["dates-gru-none"][rho] is None
    assert numbers[aer] == {"label": "AER", "format": "%.3f", "help": aer}
    assert numbers["exact match %"] == {"label": "exact %", "format": None, "help": "exact match %"}
    assert numbers["parameters"]["format"] == "localized"
    assert set(numbers) <= set(next(iter(rows.values())))  # every numeric column is a column of the rows


def test_attribution_agreement_is_a_measure_of_the_grid(manifest):
    dates = _task(manifest, "dates")
    keys = [metric.key for metric in zoo_charts.metrics_of(dates)]
    assert {"rho_ig", "top_ig", "rho_occlusion", "aer_ig"} <= set(keys)
    rho = next(m for m in zoo_charts.METRICS if m.key == "rho_ig")
    found = dates["dates-gru-general"]["metrics"]["attribution"]["integrated_gradients"]
    assert rho.value(dates["dates-gru-general"]) == found["mean_spearman"]
    assert rho.value(dates["dates-gru-none"]) is None  # no attention to agree with
    cells, attentions, values, _ = zoo_charts.variant_grid(dates, rho)
    assert values[cells.index("gru"), attentions.index("general")] == found["mean_spearman"]
    aer = next(m for m in zoo_charts.METRICS if m.key == "aer_ig")
    assert aer.lower_is_better and aer.value(dates["dates-gru-none"]) == pytest.approx(
        dates["dates-gru-none"]["metrics"]["attribution"]["integrated_gradients"]["aer"]
    )


def test_differences_name_what_besides_cell_and_attention_differs(manifest):
    eng_fra = _task(manifest, "eng-fra")
    recipe = {**eng_fra["eng-fra-gru-none"], "task": {}}  # one recipe for all, whatever ships today; no recorded
    # longest source, so its test split's lengths (up to 9 words) bound it

    def like(entry, model):
        config = {**model["config"], "cell": entry["config"]["cell"], "attention": entry["config"]["attention"]}
        return {**entry, "config": config, "train_config": model["train_config"], "task": model.get("task", {})}

    uniform = {name: like(entry, recipe) for name, entry in eng_fra.items()}
    assert zoo_charts.differences(uniform) == []  # one recipe: the comparison is fair
    retrained = {"eng-fra-gru-none", "eng-fra-gru-concat"}  # as a rebuild on joined pairs leaves the zoo part-way
    newer = {**recipe, "task": {"longest_source": 27}, "config": {**recipe["config"], "max_source_len": 99}}
    mixed = {name: like(entry, newer if name in retrained else recipe) for name, entry in eng_fra.items()}
    assert zoo_charts.differences(mixed) == [
        "max source len",
        "the training data: eng-fra-gru-concat, eng-fra-gru-none on sources of up to 27 words; 13 of the 15 on "
        "sources of up to 9 words",
    ]


def test_line_groups_are_the_selected_cell_then_attention_then_all_without_repeats(manifest):
    eng_fra = _task(manifest, "eng-fra")
    groups = zoo_charts.line_groups(eng_fra, "eng-fra-lstm-dot")
    assert list(groups) == ["cell", "attention", "all"]
    assert groups["cell"] == [f"eng-fra-lstm-{a}" for a in sorted(("none", "dot", "general", "concat", "additive"))]
    assert groups["attention"] == [f"eng-fra-{c}-dot" for c in ("gru", "lstm", "rnn")]
    assert groups["all"] == sorted(eng_fra) and len(eng_fra) == 15
    # A task whose models share one cell: "every model" repeats the cell's set and is left out.
    lstm = {name: eng_fra[name] for name in groups["cell"]}
    assert list(zoo_charts.line_groups(lstm, "eng-fra-lstm-dot")) == ["cell", "attention"]
    one = {"eng-fra-lstm-dot": eng_fra["eng-fra-lstm-dot"]}
    assert zoo_charts.line_groups(one, "eng-fra-lstm-dot") == {"cell": ["eng-fra-lstm-dot"]}
    assert zoo_charts.line_groups(lstm, "eng-fra-gru-dot") == {"all": sorted(lstm)}  # not among them
