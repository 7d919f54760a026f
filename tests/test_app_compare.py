"""AppTest of Compare: each column is the model's own decode, entropy and p(y_t) recomputed here from the traces,
the pickers, the count, the presets, the link's models= and its bad values, a task with one model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from app_support import assert_clean, decode_array, figures, heatmap_z, load, output_box, run_app, zoo  # noqa: F401

from seq2seq_viz import greedy
from ui import state
from ui.text import md_escape

COMPARE_PAGE = "ui/views/compare.py"


@pytest.fixture(scope="module", autouse=True)
def _zoo(zoo):  # noqa: F811
    return zoo


def _entropy_bits(weights: np.ndarray) -> np.ndarray:
    """−Σ α log₂ α per row, written out here (0 log 0 = 0)."""
    safe = np.where(weights > 0, weights, 1.0)
    return -(weights * np.log2(safe)).sum(axis=1)


def _lines(spec: dict) -> dict[str, np.ndarray]:
    return {t.get("name"): decode_array(t["y"]) for t in spec["data"] if t.get("y") is not None}


def test_each_column_is_its_models_greedy_decode(zoo):  # noqa: F811
    at = run_app(COMPARE_PAGE, model="reverse-gru-general", text="abcd")
    assert_clean(at)
    compared = at.session_state[state.COMPARED]
    assert compared == ("reverse-gru-none", "reverse-gru-general")  # fixed context vs attention, on the GRU
    found = figures(at)
    for i, name in enumerate(compared):
        trace = greedy(load(name, zoo), "abcd")
        assert output_box(at, f"compare-output-{i}") == (trace.output_text or "(nothing but the end token)")
        if trace.attention is None:
            assert f"compare-heatmap-{i}" not in found
        else:
            np.testing.assert_allclose(heatmap_z(found[f"compare-heatmap-{i}"]), trace.attention, atol=1e-6)
    attention = greedy(load("reverse-gru-general", zoo), "abcd")
    entropy = [y for name, y in _lines(found["compare-entropy"]).items() if name and "general" in name]
    assert len(entropy) == 1
    np.testing.assert_allclose(entropy[0], _entropy_bits(attention.attention), atol=1e-6)
    probs = _lines(found["compare-probs"])
    for name in compared:
        trace = greedy(load(name, zoo), "abcd")
        label = next(k for k in probs if k and name.rsplit("-", 1)[1] in k)
        np.testing.assert_allclose(probs[label], [s.output_prob for s in trace.steps], atol=1e-6)


def test_a_third_column_and_its_picker(zoo):  # noqa: F811
    at = run_app(COMPARE_PAGE, model="reverse-gru-general", text="abc")
    at.segmented_control(key=state.COMPARE_COUNT).set_value(3).run()
    assert_clean(at)
    picker = state.COMPARE_PICKERS[2]
    at.selectbox(key=picker.cell_key).set_value("lstm").run()
    assert_clean(at)
    assert at.session_state[state.COMPARED][2] == "reverse-lstm-additive"
    trace = greedy(load("reverse-lstm-additive", zoo), "abc")
    np.testing.assert_allclose(heatmap_z(figures(at)["compare-heatmap-2"]), trace.attention, atol=1e-6)
    assert at.query_params["models"] == ",".join(at.session_state[state.COMPARED])


def test_the_link_names_the_models_and_bad_names_get_a_sentence(zoo):  # noqa: F811
    at = run_app(model="reverse-rnn-dot", text="abc", models="reverse-rnn-dot,nope,reverse-lstm-additive")
    assert any("not here (nope)" in w.value.replace("\\", "") for w in at.warning), [w.value for w in at.warning]
    at.switch_page(COMPARE_PAGE).run()
    assert_clean(at)
    assert at.session_state[state.COMPARED] == ("reverse-rnn-dot", "reverse-lstm-additive")


def test_a_task_with_one_model_says_so(zoo):  # noqa: F811
    at = run_app(COMPARE_PAGE, model="eng-fra-gru-general", text="I am cold.")
    assert_clean(at)
    assert any("only one model" in i.value for i in at.info)


def test_the_metrics_mark_the_inputs_length(zoo):  # noqa: F811
    from seq2seq_viz import list_models

    at = run_app(COMPARE_PAGE, model="reverse-gru-general", text="abcdefgh")
    assert_clean(at)
    by_length = figures(at)["compare-by-length"]
    entries = list_models(zoo)
    compared = at.session_state[state.COMPARED]
    series = [t for t in by_length["data"] if t.get("mode") and "markers" in t["mode"]]
    assert len(series) == len(compared)
    for line, name in zip(series, compared, strict=True):  # test buckets, then test_long's, in length order
        metrics = entries[name]["metrics"]
        expected = [
            *metrics["test"]["exact_match_by_length"].values(),
            *metrics["test_long"]["exact_match_by_length"].values(),
        ]
        np.testing.assert_allclose(decode_array(line["y"]), 100 * np.asarray(expected), atol=1e-6)
    band = [a["text"] for a in by_length["layout"].get("annotations", [])]
    assert any("your input: 8 characters" in text for text in band), band
    table = at.dataframe[0].value
    assert list(table["model"]) == list(compared)
    assert list(table["exact match %"]) == [
        round(100 * entries[n]["metrics"]["test"]["exact_match"], 1) for n in compared
    ]


def test_an_input_longer_than_training_gets_a_warning(zoo):  # noqa: F811
    at = run_app(COMPARE_PAGE, model="reverse-gru-general", text="abcdefghijklmnop")  # 16 letters; trained on <= 12
    assert_clean(at)
    assert any("never saw a source longer than" in w.value for w in at.warning)


def test_an_input_every_model_refuses_is_one_sentence_once():
    at = run_app("ui/views/compare.py", model="reverse-gru-general", text="ab\x00c")
    assert not at.exception and not at.error
    assert [w.value for w in at.warning] == [
        md_escape("The input holds a control character (U+0000) at character 3: remove it.")
    ]
    assert not at.get("plotly_chart")


def test_the_length_warning_names_only_the_models_that_never_saw_so_long_a_source(zoo, tmp_path, monkeypatch):  # noqa: F811
    import shutil

    from seq2seq_viz import list_models
    from seq2seq_viz.zoo import reindex
    from ui.zoo_charts import longest_seen

    copy = tmp_path / "zoo"
    shutil.copytree(zoo, copy)
    card_path = copy / "reverse-gru-general.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["task"]["longest_source"] = 20  # as if retrained on longer inputs; reverse-gru-none stays at 12
    card_path.write_text(json.dumps(card), encoding="utf-8")
    reindex(copy, log=lambda _: None)
    monkeypatch.setenv("SEQ2SEQ_VIZ_PRETRAINED", str(copy))
    at = run_app(COMPARE_PAGE, model="reverse-gru-general", text="abcdefghijklmn")  # 14 letters
    assert_clean(at)
    (warning,) = [w.value for w in at.warning if "never saw" in w.value]
    seen = longest_seen(list_models(copy)["reverse-gru-none"])
    assert seen < 14
    assert warning.replace("\\", "") == (
        f"Your input has 14 characters; GRU · none never saw a source longer than {seen} characters in training, "
        "so expect it to falter (a fixed context most of all)."
    )
    at = run_app(COMPARE_PAGE, model="reverse-gru-general", text="abcdefghijklmnopqrstuv")  # 22: longer than both
    (warning,) = [w.value for w in at.warning if "never saw" in w.value]
    assert "these models never saw a source longer than 20 characters" in warning


def test_a_long_inputs_labels_are_fitted_to_the_columns_so_none_overlap(zoo):  # noqa: F811
    """22 letters and <eos> in a half-width column: each heatmap's source labels stand upright and shrink (or thin)
    so that a label's line fits the plot its column leaves (half of the 800 px the lab is laid out for, less the
    one-letter row labels and the colour bar); the hover still names every letter."""
    text = "abcdefghijabcdefghijab"
    at = run_app(COMPARE_PAGE, model="reverse-gru-general", text=text)
    assert_clean(at)
    x = figures(at)["compare-heatmap-1"]["layout"]["xaxis"]  # the first column is the fixed-context reverse-gru-none
    labels = [*text, "&lt;eos&gt;"]
    pitch = (800 / 2 - 0.62 * 13 * 1 - 90) / len(labels)  # 13.1 px: a tilted 13 px label needs 1.4 times that
    size = x["tickfont"]["size"]
    step = x["tickvals"][1] - x["tickvals"][0]
    assert x["tickangle"] == -90 and 11 <= size < 13 and step * pitch >= 1.15 * size
    assert x["ticktext"] == labels[::step]
