"""The Compare page's figures, on real decodes of shipped models and the real manifest: every number drawn is
recomputed here from the Trace or the card, and every figure passes plotly's validation."""

from __future__ import annotations

import math
import re
from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import pytest
from scipy.stats import entropy as scipy_entropy

import seq2seq_viz
from seq2seq_viz.evaluate import source_length
from seq2seq_viz.tasks.dates import build_dates
from seq2seq_viz.tasks.toy import LONG_LENGTHS, TRAIN_LENGTHS
from tests.app_support import decode_array
from ui import compare_charts
from ui.compare_charts import (
    PALETTE,
    by_length,
    entropy,
    entropy_lines,
    input_length,
    longest_seen,
    metrics_rows,
    model_colours,
    output_prob_lines,
)
from ui.style import NORMAL, PRESENT, style_for
from ui.text import chart_labels

pytestmark = pytest.mark.usefixtures("validated_charts")  # every figure passes plotly's validation

OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}


def _decode(name: str, text: str):
    return seq2seq_viz.decode(seq2seq_viz.load_model(name), text, "greedy")


@pytest.fixture(scope="module")
def manifest() -> dict:
    return seq2seq_viz.list_models()


@pytest.fixture(scope="module")
def reverse_traces():
    """The same input through an attention model, a fixed-context model and a second attention model."""
    names = ("reverse-gru-general", "reverse-gru-none", "reverse-gru-additive")
    return tuple(_decode(name, "hello") for name in names)


LABELS = ("GRU · general", "GRU · none", "GRU · additive")


def _validated(figure: go.Figure) -> dict:
    """The figure as the browser gets it, after a second round through plotly's validation."""
    return go.Figure(figure.to_dict()).to_dict()


def _lines(spec: dict) -> dict[str, dict]:
    return {trace["name"]: trace for trace in spec["data"]}


def test_entropy_is_the_entropy_of_each_attention_row_in_bits(reverse_traces):
    trace = reverse_traces[0]
    values = entropy(trace)
    expected = [scipy_entropy(row, base=2) for row in np.asarray(trace.attention)]
    np.testing.assert_allclose(values, expected, atol=1e-9)
    assert values.shape == (len(trace.output_tokens),)
    assert np.all(values >= 0) and np.all(values <= math.log2(len(trace.source_tokens)) + 1e-9)


def test_entropy_of_one_hot_and_uniform_rows_is_zero_and_log2_s(reverse_traces):
    trace = reverse_traces[0]
    size = len(trace.source_tokens)
    rows = np.zeros((2, size))
    rows[0, 2] = 1.0
    rows[1] = 1.0 / size
    fake = type("T", (), {"attention": rows})()
    np.testing.assert_allclose(entropy(fake), [0.0, math.log2(size)], atol=1e-12)
    assert not np.signbit(entropy(fake)[0])  # drawn as 0, not -0


def test_a_fixed_context_trace_has_no_entropy(reverse_traces):
    assert reverse_traces[1].attention is None
    assert entropy(reverse_traces[1]) is None


def test_entropy_lines_draw_each_model_from_its_trace(reverse_traces):
    spec = _validated(entropy_lines(reverse_traces, LABELS))
    lines = _lines(spec)
    colours = model_colours(3)
    for trace, label, colour in zip(reverse_traces, LABELS, colours, strict=True):
        if trace.attention is None:
            continue
        line = lines[label]
        y = decode_array(line["y"])
        np.testing.assert_allclose(y, [scipy_entropy(row, base=2) for row in trace.attention], atol=1e-9)
        assert list(decode_array(line["x"])) == list(range(len(trace.steps)))
        assert list(line["customdata"]) == chart_labels(trace.output_tokens)  # the hover names each token
        assert line["customdata"][-1] == "&lt;eos&gt;"
        assert "%{customdata}" in line["hovertemplate"]
        assert line["line"]["color"] == colour
    # The fixed-context model: named in the legend, and drawn nowhere.
    none = lines["GRU · none (no attention)"]
    assert all(y is None for y in none["y"]) and none["line"]["color"] == colours[1]
    assert none["visible"] == "legendonly"  # in the legend, greyed (plotly leaves a trace with no points out)
    # One shared uniform line: every model read "hello" + <eos>, S = 6.
    uniform = [t for t in spec["data"] if t.get("legendgroup") == "uniform"]
    assert len(uniform) == 1 and uniform[0]["line"]["dash"] == "dash"
    np.testing.assert_allclose(decode_array(uniform[0]["y"]), [math.log2(6)] * 2)
    assert "log₂ 6" in uniform[0]["name"]
    assert spec["layout"]["yaxis"]["range"][1] >= math.log2(6)


def test_entropy_lines_give_each_model_its_own_uniform_line_when_sources_differ():
    traces = (_decode("reverse-gru-general", "hello"), _decode("reverse-gru-additive", "abcdefghij"))
    spec = _validated(entropy_lines(traces, ("short", "long")))
    uniform = {t["name"]: t for t in spec["data"] if t.get("legendgroup") == "uniform"}
    assert set(uniform) == {"short: uniform: log₂ 6 = 2.58", "long: uniform: log₂ 11 = 3.46"}
    colours = model_colours(2)
    assert uniform["short: uniform: log₂ 6 = 2.58"]["line"]["color"] == colours[0]
    np.testing.assert_allclose(decode_array(uniform["long: uniform: log₂ 11 = 3.46"]["y"]), [math.log2(11)] * 2)


def test_entropy_lines_of_fixed_context_models_only_still_draw(reverse_traces):
    none = reverse_traces[1]
    spec = _validated(entropy_lines((none, none), ("a", "b")))
    assert [t["name"] for t in spec["data"]] == ["a (no attention)", "b (no attention)"]


def test_output_prob_lines_are_each_steps_probability(reverse_traces):
    spec = _validated(output_prob_lines(reverse_traces, LABELS))
    lines = _lines(spec)
    for trace, label, colour in zip(reverse_traces, LABELS, model_colours(3), strict=True):
        line = lines[label]
        np.testing.assert_allclose(decode_array(line["y"]), [s.output_prob for s in trace.steps])
        assert list(line["customdata"]) == chart_labels(trace.output_tokens)
        assert line["line"]["color"] == colour
    assert spec["layout"]["yaxis"]["range"] == [0, 1]
    # The probabilities are the softmax's: the chosen token's entry in the step's top-k.
    step = reverse_traces[0].steps[0]
    assert dict(step.topk)[step.output_token] == pytest.approx(step.output_prob)


def test_model_colours_are_distinct_okabe_ito_and_the_same_in_every_chart(reverse_traces, manifest):
    for n in range(1, len(PALETTE) + 1):
        colours = model_colours(n)
        assert len(set(colours)) == n and set(colours) <= OKABE_ITO
        assert colours == model_colours(len(PALETTE))[:n]  # model i keeps its colour whatever the count
    dark = model_colours(4, style_for(dark=True))
    assert len(set(dark)) == 4 and set(dark) <= OKABE_ITO
    with pytest.raises(ValueError, match="1 to 6 models"):
        model_colours(len(PALETTE) + 1)
    entries = tuple((label, manifest[trace.model["name"]]) for label, trace in zip(LABELS, reverse_traces, strict=True))
    for figure in (
        entropy_lines(reverse_traces, LABELS),
        output_prob_lines(reverse_traces, LABELS),
        by_length(entries, 5),
    ):
        lines = _lines(_validated(figure))
        for label, colour in zip(LABELS, model_colours(3), strict=True):
            name = label if label in lines else f"{label} (no attention)"
            assert lines[name]["line"]["color"] == colour, (figure.layout.title.text, label)


def test_labels_and_tokens_are_escaped_before_they_reach_plotly(reverse_traces):
    trace = reverse_traces[0]
    spec = _validated(output_prob_lines((trace,), ("<b>mine</b>",)))
    assert spec["data"][0]["name"] == "&lt;b&gt;mine&lt;/b&gt;"
    with pytest.raises(ValueError, match="one label"):
        entropy_lines((trace,), ("a", "b"))


def _entries(manifest: dict, *names: str) -> tuple:
    return tuple((name, manifest[name]) for name in names)


def _band(spec: dict) -> tuple[float, str]:
    """The x centre of the input-length band and its label."""
    (shape,) = spec["layout"]["shapes"]
    (note,) = spec["layout"]["annotations"]
    assert shape["x0"] <= note["x"] <= shape["x1"]  # over the band (centred, or flush with an outer edge)
    return (shape["x0"] + shape["x1"]) / 2, note["text"]


def test_by_length_draws_bleu_by_bucket_and_marks_the_bucket_of_the_input(manifest):
    entries = _entries(manifest, "eng-fra-gru-none", "eng-fra-gru-general")
    trace = _decode("eng-fra-gru-general", "The weather is very nice today.")
    length = input_length(trace)
    assert length == source_length(SimpleNamespace(level="word"), trace.source_tokens[:-1]) == 6  # "." not a word
    spec = _validated(by_length(entries, length))
    ticks = spec["layout"]["xaxis"]["ticktext"]
    assert list(ticks) == ["1-3", "4-6", "7-9", "10-13", "14-17", "18-22", "23-27"]  # test, then its joins
    for name, line in _lines(spec).items():
        metrics = manifest[name]["metrics"]
        card = {**metrics["test"]["bleu_by_length"], **metrics["test_joined"]["bleu_by_length"]}
        assert [ticks[int(x)] for x in decode_array(line["x"])] == list(card)
        np.testing.assert_allclose(decode_array(line["y"]), list(card.values()))
    x, text = _band(spec)
    assert ticks[int(x)] == "4-6" and text == "your input: 6 words"
    assert spec["layout"]["yaxis"]["title"]["text"] == "BLEU"


@pytest.mark.parametrize(
    ("length", "bucket", "note"),
    [
        (3, "3-6", ""),
        (12, "10-12", ""),
        (13, "13-16", "longer than training"),
        (20, "17-20", "longer than training"),
        (21, "&gt; 20", "longer than anything in the test set"),
        (2, "3-6", "shorter than the test set"),
    ],
)
def test_by_length_joins_test_and_test_long_and_places_the_input(manifest, length, bucket, note):
    entries = _entries(manifest, "reverse-gru-none", "reverse-gru-general")
    spec = _validated(by_length(entries, length))
    ticks = list(spec["layout"]["xaxis"]["ticktext"])
    assert ticks[:5] == ["3-6", "7-9", "10-12", "13-16", "17-20"]
    x, text = _band(spec)
    assert ticks[int(x)] == bucket
    assert text.startswith(f"your input: {length} characters")
    assert text.endswith(note)
    assert spec["layout"]["xaxis"]["range"] == [-0.5, len(ticks) - 0.5]  # the band is on the plot
    for name, line in _lines(spec).items():
        metrics = manifest[name]["metrics"]
        card = {**metrics["test"]["exact_match_by_length"], **metrics["test_long"]["exact_match_by_length"]}
        np.testing.assert_allclose(decode_array(line["y"]), [100 * v for v in card.values()])
    assert "past 12 characters: never seen in training" in spec["layout"]["title"]["text"]


def test_by_length_between_buckets_and_without_an_input(manifest):
    card = {"name": "x", "metrics": {"test": {"bleu": 1.0, "bleu_by_length": {"1-3": 10.0, "7-9": 5.0}}}}
    spec = _validated(by_length((("x", card),), 5))
    x, text = _band(spec)
    assert x == 0.5 and "no test bucket" in text  # between 1-3 and 7-9: no test sentence had 4-6 words
    plain = _validated(by_length(_entries(manifest, "eng-fra-gru-none"), None))
    assert "shapes" not in plain["layout"] and "annotations" not in plain["layout"]


def test_by_length_past_the_dates_buckets_does_not_claim_the_test_set_ended(manifest):
    trace = _decode("dates-gru-general", "Saturday, July 20, 1969")
    length = input_length(trace)
    assert length == len("saturday, july 20, 1969") == 23
    spec = _validated(by_length(_entries(manifest, "dates-gru-general", "dates-gru-none"), length))
    x, text = _band(spec)
    assert x == len(manifest["dates-gru-general"]["metrics"]["test"]["exact_match_by_length"])
    assert text.endswith("longer than the lengths measured")


def test_by_length_is_none_without_by_length_metrics(manifest):
    bare = {"name": "user-model", "config": {"cell": "gru", "attention": "dot"}, "metrics": {}}
    assert by_length((("mine", bare),), 4) is None
    assert by_length((), 4) is None
    # a card without them among cards with them: drawn without it, colours still by position
    spec = _validated(by_length((("mine", bare), *_entries(manifest, "reverse-gru-none")), 4))
    assert [t["name"] for t in spec["data"]] == ["reverse-gru-none"]
    assert spec["data"][0]["line"]["color"] == model_colours(2)[1]


def test_longest_seen_reads_the_trained_lengths_from_the_card(manifest):
    shipped = manifest["eng-fra-gru-general"]
    assert longest_seen(shipped) == shipped["task"]["longest_source"] == 27  # retrained on the joins
    before_joins = {**shipped, "task": {"name": "eng-fra"}}  # a card from before the builder recorded its lengths
    assert longest_seen(before_joins) == 9  # then the test split's last bucket, 7-9 words
    for name in ("reverse-gru-general", "sort-gru-none", "copy-gru-additive"):
        assert longest_seen(manifest[name]) == TRAIN_LENGTHS[1] == 12  # not test_long's 20
        assert LONG_LENGTHS[0] > TRAIN_LENGTHS[1]
    assert longest_seen(manifest["dates-gru-general"]) is None
    assert longest_seen({"metrics": {}}) is None
    recorded = {**before_joins, "task": {"name": "eng-fra", "longest_source": 15}}
    assert longest_seen(recorded) == 15  # what the builder recorded of the training data comes first
    assert longest_seen({"metrics": {"test": {"bleu_by_length": {"1-3": 1.0, "10+": 2.0}}}}) is None


def test_dates_cards_buckets_stop_short_of_the_dates_trained_on(manifest):
    """Why longest_seen gives no bound for dates: its buckets end at 20 characters, its data does not."""
    buckets = manifest["dates-gru-general"]["metrics"]["test"]["exact_match_by_length"]
    assert list(buckets)[-1] == "17-20"
    task = build_dates()
    assert max(len(task.tokens(e.source)) for e in task.train) > 20


def test_metrics_rows_are_the_cards_numbers(manifest):
    entries = _entries(manifest, "dates-gru-none", "dates-gru-general")
    rows = metrics_rows(tuple((f"label {i}", entry) for i, (_, entry) in enumerate(entries)))
    assert [row["model"] for row in rows] == ["dates-gru-none", "dates-gru-general"]
    for row, (_, entry) in zip(rows, entries, strict=True):
        test = entry["metrics"]["test"]
        assert row["cell"] == "gru" and row["attention"] == entry["config"]["attention"]
        assert row["exact match %"] == pytest.approx(100 * test["exact_match"], abs=0.05)
        assert row["character accuracy %"] == pytest.approx(100 * test["char_accuracy"], abs=0.05)
        assert row["parameters"] == entry["parameters"] and isinstance(row["parameters"], int)
        assert isinstance(row["exact match %"], float)
    assert rows[0]["AER (0 = gold alignment)"] is None  # a fixed context has no alignment to score
    assert rows[1]["AER (0 = gold alignment)"] == round(entries[1][1]["metrics"]["test"]["aer"], 3)
    assert list(rows[0]) == list(rows[1]) and list(rows[0])[-1] == "parameters"
    bleu = metrics_rows(_entries(manifest, "eng-fra-lstm-general"))[0]
    assert bleu["BLEU"] == round(manifest["eng-fra-lstm-general"]["metrics"]["test"]["bleu"], 1)
    assert "character accuracy %" not in bleu


def test_input_length_counts_as_the_cards_do(reverse_traces):
    dates = build_dates()
    text = "3rd of March 1999"
    trace = _decode("dates-gru-general", text)
    assert input_length(trace) == source_length(dates, dates.tokens(text)) == len(text)
    assert input_length(reverse_traces[0]) == len("hello")


@pytest.mark.parametrize("style", [NORMAL, PRESENT, style_for(present=True, dark=True)])
def test_every_figure_validates_in_every_style(reverse_traces, manifest, style):
    entries = _entries(manifest, "reverse-gru-general", "reverse-gru-none", "reverse-gru-additive")
    for figure in (
        entropy_lines(reverse_traces, LABELS, style=style),
        output_prob_lines(reverse_traces, LABELS, style=style),
        by_length(entries, 6, style=style),
    ):
        spec = _validated(figure)
        assert spec["layout"]["xaxis"]["tickfont"]["size"] == style.font_size
        for trace, colour in zip(spec["data"], model_colours(3, style), strict=False):
            assert trace["line"]["color"] == colour


def test_compare_charts_import_neither_streamlit_nor_torch():
    source = open(compare_charts.__file__, encoding="utf-8").read()
    assert not re.search(r"^\s*(import|from)\s+(streamlit|torch)\b", source, re.MULTILINE)
    assert not re.search(r"\bst\.", source)
