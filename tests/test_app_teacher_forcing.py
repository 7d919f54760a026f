"""AppTest of Teacher forcing vs free-running: prefill, the two decodes, the divergence, and forcing a token."""

from __future__ import annotations

import json

import numpy as np
import pytest
from app_support import assert_clean, decode_array, figures, load, output_box, run_app, zoo  # noqa: F401

from seq2seq_viz import forced_prefix, greedy, teacher_forced
from ui import charts
from ui.text import display_token

TF_PAGE = "ui/views/teacher_forcing.py"


@pytest.fixture(scope="module", autouse=True)
def _zoo(zoo):  # noqa: F811
    return zoo


def test_the_reference_is_prefilled_from_the_matching_test_pair(zoo):  # noqa: F811
    at = run_app(TF_PAGE)
    assert_clean(at)
    assert at.text_input(key="text").value == "I am cold."
    assert at.text_input(key="reference").value == "J'ai froid."
    assert at.query_params["reference"] == "J'ai froid."
    picked = at.selectbox(key="test_pair")  # the picker names the pair the page opened on, not "Pick a test pair…"
    assert picked.value is not None and picked.format_func(picked.value) == "I am cold.  →  J'ai froid."
    model = load("eng-fra-gru-general", zoo)
    teacher = teacher_forced(model, "I am cold.", "J'ai froid.")
    free = greedy(model, "I am cold.", reference="J'ai froid.")
    table = at.dataframe[0].value
    np.testing.assert_allclose(table["p(gold)"], [s.gold_prob for s in teacher.steps], atol=1e-9)
    np.testing.assert_allclose(table["loss"], [s.loss for s in teacher.steps], atol=1e-9)
    assert list(table["predicted"]) == [s.output_token for s in teacher.steps]
    assert list(at.dataframe[1].value["output"]) == [s.output_token for s in free.steps]
    found = figures(at)
    for key, trace in (("tf-heatmap", teacher), ("free-heatmap", free)):
        spec = found[key]
        np.testing.assert_allclose(decode_array(spec["data"][0]["z"]), np.asarray(trace.attention), atol=1e-9)
        assert (spec["data"][0]["zmin"], spec["data"][0]["zmax"]) == (0.0, 1.0)  # the same scale for both
    diverged = charts.divergence_step(free)
    assert diverged is not None  # an untrained model
    assert any(f"diverge at step {diverged}" in w.value for w in at.warning)
    assert len(at.get("download_button")) == 4


def test_an_input_the_app_chose_is_swapped_for_the_first_test_pair():
    at = run_app(TF_PAGE, model="reverse-gru-general")  # the default input "hello" is no test pair
    assert_clean(at)
    assert at.text_input(key="text").value == "abc"
    assert at.text_input(key="reference").value == "cba"


def test_a_linked_input_is_kept_and_a_test_pair_can_replace_it():
    at = run_app(TF_PAGE, model="eng-fra-gru-general", text="She is reading a book.")
    assert_clean(at)
    # the URL's text is what the user asked for: keep it, and wait for a reference
    assert at.text_input(key="text").value == "She is reading a book."
    assert at.text_input(key="reference").value == ""
    assert at.selectbox(key="test_pair").value is None  # no pair is this input: "Pick a test pair…"
    assert any("Type the reference" in info.value for info in at.info)
    at.selectbox(key="test_pair").set_value(2).run()
    assert_clean(at)
    assert at.text_input(key="text").value == "The weather is nice today."
    assert at.text_input(key="reference").value == "Il fait beau aujourd'hui."


def test_forcing_a_top_k_token_continues_free_running_from_it(zoo):  # noqa: F811
    at = run_app(TF_PAGE, model="reverse-gru-general", text="abc", reference="cba")
    assert_clean(at)
    model = load("reverse-gru-general", zoo)
    free = greedy(model, "abc", reference="cba")
    at.number_input(key="force_at").set_value(1).run()
    at.selectbox(key="force_pick").set_value(2).run()
    at.button(key="tf-force").click().run()
    assert_clean(at)
    token = free.steps[1].topk[2][0]
    forced = forced_prefix(model, "abc", [*free.output_tokens[:1], token], reference="cba")
    spec = figures(at)["forced-heatmap"]
    np.testing.assert_allclose(decode_array(spec["data"][0]["z"]), np.asarray(forced.attention), atol=1e-9)
    assert spec["layout"]["yaxis"]["ticktext"][1].endswith("✎")  # the forced step is marked
    assert output_box(at, "forced-output") == forced.output_text


def test_a_typed_token_the_model_cannot_write_is_one_sentence():
    at = run_app(TF_PAGE, model="reverse-gru-general", text="abc", reference="cba")
    at.text_input(key="force_typed").set_value("Ω").run()
    at.button(key="tf-force").click().run()
    assert not at.exception and not at.error
    assert any("cannot write" in w.value for w in at.warning)


def test_a_reference_with_unknown_tokens_is_flagged():
    at = run_app(TF_PAGE, model="reverse-gru-general", text="abc", reference="cbé")
    assert_clean(at)
    assert any("cannot write" in w.value and "é" in w.value for w in at.warning)


def test_teacher_forced_rows_are_the_gold_tokens(zoo):  # noqa: F811
    at = run_app(TF_PAGE, model="reverse-gru-general", text="abc", reference="cba")
    assert_clean(at)
    rows = figures(at)["tf-heatmap"]["layout"]["yaxis"]["ticktext"]
    assert rows == ["c", "b", "a", "&lt;eos&gt;"]


def test_what_if_offers_the_runner_up_first_so_force_changes_something(zoo):  # noqa: F811
    at = run_app(TF_PAGE, model="reverse-gru-general", text="abc", reference="cba")
    model = load("reverse-gru-general", zoo)
    free = greedy(model, "abc", reference="cba")
    t = at.number_input(key="force_at").value
    assert at.selectbox(key="force_pick").value == 1
    at.button(key="tf-force").click().run()
    assert_clean(at)
    runner_up = free.steps[t].topk[1][0]
    assert runner_up != free.output_tokens[t]
    forced = forced_prefix(model, "abc", [*free.output_tokens[:t], runner_up], reference="cba")
    assert forced.output_tokens[t] == runner_up and output_box(at, "forced-output") == forced.output_text


def test_a_reference_over_the_ceiling_is_one_sentence_once():
    at = run_app(TF_PAGE, model="reverse-gru-general", text="abc", reference="cba")
    at.text_input(key="reference").set_value("c" * 600).run()
    assert_clean(at)
    shown = [w.value.replace("\\", "") for w in at.warning if "characters" in w.value]  # markdown-escaped text
    assert shown == ["The reference has 600 characters; the lab reads at most 500. Please shorten it."]


def test_a_forced_token_is_kept_in_the_url_and_a_shared_link_reopens_it(zoo):  # noqa: F811
    at = run_app(TF_PAGE, model="reverse-gru-general", text="abc", reference="cba")
    model = load("reverse-gru-general", zoo)
    free = greedy(model, "abc", reference="cba")
    at.number_input(key="force_at").set_value(1).run()
    at.selectbox(key="force_pick").set_value(2).run()
    at.button(key="tf-force").click().run()
    token = free.steps[1].topk[2][0]
    assert (at.query_params["force_at"], at.query_params["force"]) == ("1", token)

    shared = run_app(TF_PAGE, model="reverse-gru-general", text="abc", reference="cba", force_at="1", force=token)
    assert_clean(shared)
    forced = forced_prefix(model, "abc", [*free.output_tokens[:1], token], reference="cba")
    spec = figures(shared)["forced-heatmap"]
    np.testing.assert_allclose(decode_array(spec["data"][0]["z"]), np.asarray(forced.attention), atol=1e-9)
    assert shared.number_input(key="force_at").value == 1

    broken = run_app(None, model="reverse-gru-general", text="abc", reference="cba", force_at="x", force=token)
    assert any("forced token in a link" in w.value.replace("\\", "") for w in broken.warning)  # the first page says it
    broken.switch_page(TF_PAGE).run()
    assert_clean(broken)
    assert "forced-heatmap" not in figures(broken)


def test_the_tables_lead_with_the_key_columns_and_fit_half_a_1280_screen(zoo):  # noqa: F811
    at = run_app(TF_PAGE, model="eng-fra-gru-general", text="I am cold.", reference="J'ai froid.")
    assert_clean(at)
    model = load("eng-fra-gru-general", zoo)
    teacher = teacher_forced(model, "I am cold.", "J'ai froid.")
    free = greedy(model, "I am cold.", reference="J'ai froid.")
    tf_frame, free_frame = at.dataframe
    assert list(tf_frame.value.columns) == ["t", "✓", "p(gold)", "loss", "gold", "predicted"]
    assert list(free_frame.value.columns) == ["t", "✓", "p(output)", "output", "gold"]
    tf_table, free_table = tf_frame.value, free_frame.value
    assert list(tf_table["t"]) == list(range(len(teacher.steps)))
    assert list(tf_table["✓"]) == ["✓" if s.output_token == s.gold_token else "✗" for s in teacher.steps]
    assert list(tf_table["gold"]) == [display_token(s.gold_token) for s in teacher.steps]
    np.testing.assert_allclose(free_table["p(output)"], [s.output_prob for s in free.steps], atol=1e-9)
    assert list(free_table["✓"]) == ["✓" if s.output_token == s.gold_token else "✗" for s in free.steps]
    # an untrained model runs on past the reference: no gold token there, an empty cell
    assert list(free_table["gold"]) == [display_token(s.gold_token) if s.gold_token else "" for s in free.steps]
    assert len(free.steps) > len(teacher.steps)
    for frame in (tf_frame, free_frame):
        columns = {name: spec for name, spec in json.loads(frame.proto.columns).items() if name != "_index"}
        widths = [spec["width"] for spec in columns.values()]
        # Half the main area at 1280×720 with the sidebar open is 392 px: every column fits, none scrolls away.
        assert sum(widths) <= 392 and min(widths) >= 36
        assert columns["t"]["width"] == columns["✓"]["width"] == 36
        assert columns["✓"]["help"]  # the short header explains itself on hover
    tf_columns = json.loads(tf_frame.proto.columns)
    assert tf_columns["loss"]["type_config"] == {"type": "number", "format": "%.3f"}
    assert tf_columns["p(gold)"]["type_config"] == {"type": "number", "format": "%.4f"}


def test_a_typed_token_of_hundreds_of_characters_is_refused_by_its_length_not_echoed():
    at = run_app(TF_PAGE, model="reverse-gru-general", text="abc", reference="cba")
    typed = "abcdefghij" * 45  # 450 characters: a char-level model's token is one character
    at.text_input(key="force_typed").set_value(typed).run()
    at.button(key="tf-force").click().run()
    assert not at.exception and not at.error
    refusals = [w.value.replace("\\", "") for w in at.warning if "forced prefix" in w.value]
    assert refusals == [
        "The token «abcdefghijabcdefghij…» in the forced prefix has 450 characters; tokens may have at most 40."
    ]
    assert "forced-heatmap" not in figures(at)


def test_a_reference_of_many_unknown_tokens_names_five_and_counts_the_rest():
    at = run_app(TF_PAGE, model="reverse-gru-general", text="abc", reference="éèêëàâî")  # 7 the model cannot write
    assert_clean(at)
    (note,) = [w.value.replace("\\", "") for w in at.warning if "cannot write" in w.value]
    assert note == (
        "The model cannot write «é», «è», «ê», «ë», «à» and 2 more (not in its output vocabulary), so the gold "
        "token there is <unk>."
    )
