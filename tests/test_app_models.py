"""AppTest of Models: the cell × attention grid, the by-length lines and the training curves against the manifest."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from app_support import assert_clean, decode_array, figures, run_app, zoo  # noqa: F401  (zoo is a fixture)

from seq2seq_viz import list_models
from ui import state
from ui.zoo_charts import ATTENTION_COLORS, CELL_DASHES

MODELS_PAGE = "ui/views/models.py"


@pytest.fixture(scope="module", autouse=True)
def _zoo(zoo):  # noqa: F811
    return zoo


def test_grid_holds_each_variants_metric_and_gaps_for_missing_ones(zoo):  # noqa: F811
    at = run_app(MODELS_PAGE, model="reverse-gru-general")
    assert_clean(at)
    manifest = list_models(zoo)
    grid = figures(at)["models-grid"]
    z = decode_array(grid["data"][0]["z"])
    cells = grid["layout"]["yaxis"]["ticktext"]
    attentions = grid["layout"]["xaxis"]["ticktext"]
    assert cells == ["rnn", "gru", "lstm"] and attentions == ["none", "dot", "general", "concat", "additive"]
    # The first measure offered for a toy task is exact match, shown as a percentage.
    expected = {
        ("gru", "general"): "reverse-gru-general",
        ("gru", "none"): "reverse-gru-none",
        ("lstm", "additive"): "reverse-lstm-additive",
        ("rnn", "none"): "reverse-rnn-none",
        ("rnn", "dot"): "reverse-rnn-dot",
    }
    for i, cell in enumerate(cells):
        for j, attention in enumerate(attentions):
            name = expected.get((cell, attention))
            if name:
                assert z[i][j] == pytest.approx(100 * manifest[name]["metrics"]["test"]["exact_match"])
            else:
                assert z[i][j] is None or math.isnan(z[i][j])  # not shipped: a gap, not a zero
    shown = {(a["y"], a["x"]): a["text"] for a in grid["layout"]["annotations"]}
    assert shown[1, 0] != "–" and shown[0, 1] != "–"
    assert shown[0, 2] == "–"  # rnn-general is not in the tiny zoo
    # The sidebar's model is outlined: a rectangle around gru (row 1) × general (column 2).
    (shape,) = grid["layout"]["shapes"]
    assert (shape["x0"], shape["y0"]) == (1.5, 0.5)
    assert len(at.dataframe) == 1 and list(at.dataframe[0].value["model"]) == sorted(expected.values())
    (shares,) = [c.value for c in at.caption if c.value.startswith("Every one of them shares")]
    assert "char level" in shares and "float32 weights" in shares  # what differs (bidirectional) is not claimed
    assert "bidirectional encoder" not in shares
    said = shares.replace("\\", "")  # markdown-escaped
    assert said.endswith("Besides the cell and the attention, they differ in bidirectional; fixed context.")


def test_choosing_aer_reverses_the_scale_and_leaves_fixed_context_models_blank(zoo):  # noqa: F811
    at = run_app(MODELS_PAGE, model="reverse-gru-general")
    measure = at.selectbox(key="zoo_metric")
    assert measure.options == [  # formatted labels, in the fixed order; no BLEU for a character task
        "exact match %",
        "character accuracy %",
        "AER (0 = gold alignment)",
        "exact match % on unseen lengths",
    ]
    measure.select_index(2).run()
    assert_clean(at)
    grid = figures(at)["models-grid"]["data"][0]
    manifest = list_models(zoo)
    z = decode_array(grid["z"])
    assert grid["reversescale"] is True
    assert z[1][2] == pytest.approx(manifest["reverse-gru-general"]["metrics"]["test"]["aer"])
    assert math.isnan(z[1][0])  # gru-none ships but has no attention, so no AER
    assert "Lower is better" in " ".join(c.value for c in at.caption)


def test_by_length_draws_the_sidebar_cells_models_then_its_attentions_or_all(zoo):  # noqa: F811
    at = run_app(MODELS_PAGE, model="reverse-gru-general")
    assert_clean(at)
    reverse = sorted(name for name in list_models(zoo) if name.startswith("reverse-"))
    lines = at.segmented_control(key=state.ZOO_LINES)
    assert lines.options == [
        "GRU, every attention (2)",
        "general (Luong), every cell (1)",
        f"every model ({len(reverse)})",
    ]
    drawn = [line["name"] for line in figures(at)["models-by-length"]["data"]]
    assert drawn == ["reverse-gru-general", "reverse-gru-none"]  # the sidebar's cell: attention against fixed context
    lines.set_value("attention").run()
    assert [line["name"] for line in figures(at)["models-by-length"]["data"]] == ["reverse-gru-general"]
    at.segmented_control(key=state.ZOO_LINES).set_value("all").run()
    assert_clean(at)
    assert [line["name"] for line in figures(at)["models-by-length"]["data"]] == reverse


def test_by_length_lines_follow_the_cards_coloured_by_attention_dashed_by_cell(zoo):  # noqa: F811
    at = run_app(MODELS_PAGE, model="reverse-gru-general")
    at.segmented_control(key=state.ZOO_LINES).set_value("all").run()
    manifest = list_models(zoo)
    lines = {line["name"]: line for line in figures(at)["models-by-length"]["data"]}
    assert set(lines) == {name for name in manifest if name.startswith("reverse-")}
    for name, line in lines.items():
        metrics = manifest[name]["metrics"]
        buckets = {**metrics["test"]["exact_match_by_length"], **metrics["test_long"]["exact_match_by_length"]}
        assert list(line["x"]) == list(buckets)  # trained lengths, then the unseen ones
        np.testing.assert_allclose(decode_array(line["y"]), [100 * v for v in buckets.values()])
        cell, attention = name.split("-")[1:]
        assert (line["line"]["color"], line["line"]["dash"]) == (ATTENTION_COLORS[attention], CELL_DASHES[cell])
    assert lines["reverse-gru-general"]["line"]["width"] > lines["reverse-gru-none"]["line"]["width"]


def test_training_curves_show_the_selected_cards_history(zoo):  # noqa: F811
    at = run_app(MODELS_PAGE, model="reverse-lstm-additive")
    assert_clean(at)
    history = list_models(zoo)["reverse-lstm-additive"]["training"]["history"]
    train, valid = figures(at)["models-training"]["data"]
    np.testing.assert_allclose(decode_array(train["y"]), [row["train_loss"] for row in history])
    np.testing.assert_allclose(decode_array(valid["y"]), [row["valid_loss"] for row in history])


def test_translation_task_shows_bleu_by_source_length_and_says_when_no_history(zoo):  # noqa: F811
    at = run_app(MODELS_PAGE, model="eng-fra-gru-general")
    assert_clean(at)
    manifest = list_models(zoo)["eng-fra-gru-general"]
    found = figures(at)
    assert at.selectbox(key="zoo_metric").value.label == "BLEU"
    grid = decode_array(found["models-grid"]["data"][0]["z"])
    assert grid[1][2] == pytest.approx(manifest["metrics"]["test"]["bleu"])
    (line,) = found["models-by-length"]["data"]
    assert list(line["x"]) == ["1-3", "4-6", "7-9"]
    np.testing.assert_allclose(decode_array(line["y"]), list(manifest["metrics"]["test"]["bleu_by_length"].values()))
    assert "models-training" not in found
    assert any("no per-epoch history" in info.value for info in at.info)
    assert any("Tatoeba" in c.value for c in at.caption)
    assert not [c for c in at.caption if c.value.startswith("Every one of them shares")]  # one model: no claim


def test_the_table_types_every_measure_as_a_number_and_shows_a_dash_where_missing(zoo):  # noqa: F811
    at = run_app(MODELS_PAGE, model="reverse-gru-general")
    assert_clean(at)
    manifest = list_models(zoo)
    (frame,) = at.dataframe
    table, columns = frame.value, json.loads(frame.proto.columns)
    assert frame.proto.placeholder == "—"  # Streamlit would print a literal "None"
    aer = "AER (0 = gold alignment)"
    for name, value in zip(table["model"], table[aer], strict=True):
        expected = manifest[name]["metrics"]["test"].get("aer")
        assert math.isnan(value) if expected is None else value == round(expected, 3)
    assert math.isnan(table.set_index("model").loc["reverse-gru-none", aer])  # attention none: no AER
    for column in (aer, "exact match %", "character accuracy %", "exact match % on unseen lengths", "epochs"):
        assert table[column].dtype.kind in "fi", column  # numbers, so a click on the header sorts them as numbers
        assert columns[column]["type_config"]["type"] == "number", column
    assert columns[aer] == {"label": "AER", "help": aer, "type_config": {"type": "number", "format": "%.3f"}}
    assert columns["exact match % on unseen lengths"]["label"] == "exact % unseen"
    exact = table.set_index("model")["exact match %"]
    for name, value in exact.items():
        assert value == pytest.approx(100 * manifest[name]["metrics"]["test"]["exact_match"], abs=0.05)
    assert any("— : not measured" in c.value for c in at.caption)


def test_the_grid_numbers_are_annotations_with_the_cards_values(zoo):  # noqa: F811
    at = run_app(MODELS_PAGE, model="reverse-gru-general")
    manifest = list_models(zoo)
    grid = figures(at)["models-grid"]
    labels = {(a["y"], a["x"]): a for a in grid["layout"]["annotations"]}
    assert len(labels) == 3 * 5  # one per square, shipped or not
    exact = 100 * manifest["reverse-gru-general"]["metrics"]["test"]["exact_match"]
    assert labels[1, 2]["text"] == f"{exact:.1f}"
    assert labels[0, 2]["text"] == "–"  # rnn-general is not in the tiny zoo
    for (i, j), label in labels.items():
        shipped = not math.isnan(decode_array(grid["data"][0]["z"])[i][j])
        assert label["font"]["color"] in ({"#000000", "#FFFFFF"} if shipped else {"#666666"})  # a light page
