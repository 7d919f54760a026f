"""AppTest of the Translate page (and the shared sidebar, URL state and error sentences) on a tiny seeded zoo."""

from __future__ import annotations

import numpy as np
import pytest
from app_support import APP, assert_clean, figures, heatmap_z, load, output_box, run_app, zoo  # noqa: F401
from streamlit.testing.v1 import AppTest

from seq2seq_viz import beam_search, greedy, sample
from ui.text import chart_label, md_escape


@pytest.fixture(scope="module", autouse=True)
def _zoo(zoo):  # noqa: F811
    return zoo


def test_default_page_shows_the_preferred_model_and_its_heatmap(zoo):  # noqa: F811
    at = run_app()
    assert_clean(at)
    assert [s.value for s in at.selectbox] == ["eng-fra", "gru", "general"]
    assert at.text_input(key="text").value == "I am cold."
    assert at.query_params["model"] == "eng-fra-gru-general"
    trace = greedy(load("eng-fra-gru-general", zoo), "I am cold.")
    spec = figures(at)["translate-heatmap"]
    np.testing.assert_allclose(heatmap_z(spec), np.asarray(trace.attention), atol=1e-9)
    assert spec["layout"]["xaxis"]["ticktext"] == [chart_label(t) for t in trace.source_tokens]
    assert spec["layout"]["yaxis"]["ticktext"] == [chart_label(t) for t in trace.output_tokens]
    heatmap = spec["data"][0]
    assert (heatmap["zmin"], heatmap["zmax"]) == (0.0, 1.0)
    assert heatmap["colorscale"] == "Viridis"  # sent by name: plotly.js draws its own Viridis
    hover = heatmap["text"][0][0]
    assert f"α = {trace.attention[0][0]:.4f}" in hover and f"e = {trace.steps[0].energies[0]:.4f}" in hover
    assert output_box(at, "translate-output") == trace.output_text
    probs = figures(at)["translate-probs"]["data"][0]["y"]
    np.testing.assert_allclose(probs if isinstance(probs, list) else [], [s.output_prob for s in trace.steps])
    assert {"translate-alignment"} <= set(figures(at))
    assert len(at.get("download_button")) == 2
    assert any("Tatoeba Project" in c.value for c in at.sidebar.caption)


def test_examples_include_the_lesson_sentences_and_a_click_uses_one():
    at = run_app()
    pills = at.get("button_group")[0]
    options = [opt.content for opt in pills.proto.options]
    for sentence in ("I am cold.", "I love learning.", "The weather is nice today."):
        assert any(sentence.replace(".", "\\.") == option or sentence == option for option in options)
    long = "I am cold. The weather is nice today. Where is the station? We are happy."
    assert options[-1].replace("\\", "") == long  # the long input last (markdown-escaped): attention vs length
    pills.set_value("I love learning.").run()
    assert_clean(at)
    assert at.text_input(key="text").value == "I love learning."
    assert at.query_params["text"] == "I love learning."


def test_the_picker_offers_only_combinations_that_exist():
    at = run_app()
    at.selectbox(key="task").set_value("reverse").run()
    assert_clean(at)
    assert at.selectbox(key="cell").options == ["GRU", "LSTM", "RNN (plain)"]
    assert at.text_input(key="text").value == "hello"  # a new task offers its own first example
    at.selectbox(key="cell").set_value("rnn").run()
    assert at.selectbox(key="attention").options == ["dot (Luong)", "none (fixed context)"]
    at.selectbox(key="cell").set_value("lstm").run()
    assert at.selectbox(key="attention").options == ["additive (Bahdanau)"]
    assert at.query_params["model"] == "reverse-lstm-additive"


def test_a_shared_url_restores_model_text_and_beam_mode(zoo):  # noqa: F811
    at = run_app(model="reverse-lstm-additive", text="abcd", mode="beam", width="3")
    assert_clean(at)
    assert [s.value for s in at.selectbox] == ["reverse", "lstm", "additive"]
    assert at.radio(key="mode").value == "beam"
    assert at.slider(key="beam_width").value == 3
    trace = beam_search(load("reverse-lstm-additive", zoo), "abcd", beam_size=3)
    np.testing.assert_allclose(heatmap_z(figures(at)["translate-heatmap"]), np.asarray(trace.attention), atol=1e-9)
    assert dict(at.query_params) == {
        "model": "reverse-lstm-additive",
        "text": "abcd",
        "mode": "beam",
        "width": "3",
    }


def test_sampling_options_go_into_the_url(zoo):  # noqa: F811
    at = run_app(model="reverse-gru-general", text="abc", mode="sample", temperature="0.5", seed="7")
    assert_clean(at)
    trace = sample(load("reverse-gru-general", zoo), "abc", temperature=0.5, seed=7)
    assert output_box(at, "translate-output") == trace.output_text
    assert at.query_params["temperature"] == "0.5" and at.query_params["seed"] == "7"


def test_an_unknown_model_in_the_url_is_one_warning():
    at = run_app(model="klingon-gru-general", text="I am cold.")
    assert not at.exception
    assert len(at.warning) == 1 and "no model called" in at.warning[0].value
    assert at.query_params["model"] == "eng-fra-gru-general"


@pytest.mark.parametrize(
    ("text", "phrase"),
    [("", "empty"), ("   ", "empty"), ("abcdefghijklmnopqrstuvwxyzabc", "at most 24")],
)
def test_bad_input_is_one_sentence_not_a_traceback(text, phrase):
    at = run_app(model="reverse-gru-general", text=text)
    assert not at.exception and not at.error
    assert len(at.warning) == 1 and phrase in at.warning[0].value
    assert not at.get("plotly_chart")


def test_unknown_source_tokens_are_marked_with_a_note():
    at = run_app(model="reverse-gru-general", text="héllo")
    assert_clean(at)
    assert len(at.warning) == 1 and "never saw" in at.warning[0].value and "é" in at.warning[0].value
    ticks = figures(at)["translate-heatmap"]["layout"]["xaxis"]["ticktext"]
    assert ticks[1] == "é†" and ticks[0] == "h"


def test_markup_in_the_input_stays_text():
    at = run_app(model="reverse-gru-general", text="<b>x</b> $$")
    assert_clean(at)
    ticks = figures(at)["translate-heatmap"]["layout"]["xaxis"]["ticktext"]
    assert ticks[:3] == ["&lt;†", "b", "&gt;†"] and "&#36;†" in ticks and "␣†" in ticks  # † = never seen
    for element in [*at.markdown, *at.caption, *at.warning, *at.info]:
        assert not getattr(element.proto, "allow_html", False)
    warning = at.warning[0].value
    assert "\\<" in warning and "\\$" in warning  # escaped for markdown: shown literally, never as HTML or LaTeX


def test_a_model_without_attention_explains_itself():
    at = run_app(model="reverse-gru-none", text="abc")
    assert_clean(at)
    assert any("no attention" in i.value for i in at.info)
    assert "translate-heatmap" not in figures(at) and "translate-probs" in figures(at)
    assert len(at.get("download_button")) == 1  # the trace; there is no attention matrix to download


def test_a_link_with_too_much_text_is_cut_with_one_notice():
    at = run_app(model="eng-fra-gru-general", text="I am cold. " * 60)  # 660 characters
    assert not at.exception and not at.error
    assert len(at.text_input(key="text").value) == 500
    assert any("660 characters" in w.value and "the lab reads at most 500" in w.value for w in at.warning)


def test_a_session_over_its_decode_budget_gets_one_sentence_and_keeps_working():
    from seq2seq_viz.limits import SessionBudget
    from ui import state

    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["model"] = "reverse-gru-general"
    at.query_params["text"] = "abc"
    at.session_state[state.BUDGET] = SessionBudget(burst=1e-9, rate=1e-9)  # room for one decode, then empty
    at.run()
    assert_clean(at)
    assert "translate-heatmap" in figures(at)
    at.text_input(key="text").input("abcd").run()
    assert not at.exception and not at.error
    assert len(at.warning) == 1 and "used its share of the server" in at.warning[0].value
    assert not at.get("plotly_chart")
    at.text_input(key="text").input("abc").run()  # a decode it already has costs nothing: still answered
    assert_clean(at)
    assert "translate-heatmap" in figures(at)


def test_a_two_thousand_character_word_is_one_short_warning_and_no_chart():
    word = "a" * 2000
    refusal = md_escape(f"The word «{'a' * 20}…» in the input has 500 characters; words may have at most 40.")
    at = run_app(model="eng-fra-gru-general")
    at.text_input(key="text").input(word[:500]).run()  # a pasted 2,000: the box keeps its first 500 (max_chars)
    assert not at.exception and not at.error
    assert [w.value for w in at.warning] == [refusal] and len(refusal) < 120
    assert not at.get("plotly_chart") and output_box(at, "translate-output") is None
    at.session_state["text"] = word  # past the browser: Streamlit keeps 500 on the server too (max_chars)
    at.run()
    assert not at.exception and not at.error
    assert [w.value for w in at.warning] == [refusal]
    assert not at.get("plotly_chart")
    at = run_app(model="eng-fra-gru-general", text=word)  # a link: its own notice that it was cut, then the refusal
    assert not at.exception and not at.error
    assert [w.value for w in at.warning] == [
        md_escape("The text in the link has 2,000 characters; the lab reads at most 500, so the rest was left out."),
        refusal,
    ]
    assert not at.get("plotly_chart")
