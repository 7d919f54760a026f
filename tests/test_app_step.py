"""AppTest of Step through: the stepper, the equations per variant, the tensors against the Trace, no re-decoding."""

from __future__ import annotations

import numpy as np
import pytest
from app_support import assert_clean, decode_array, figures, load, run_app, zoo  # noqa: F401  (zoo is a fixture)

from seq2seq_viz import greedy
from ui import cache, equations

STEP_PAGE = "ui/views/step.py"


@pytest.fixture(scope="module", autouse=True)
def _zoo(zoo):  # noqa: F811
    return zoo


def _weights_figure(at) -> dict:
    """The α_t bar chart: the tensor beside the softmax line of the chain."""
    index = next(i for i, line in enumerate(equations.chain(_model_card(at))) if line.tensor == "weights")
    return figures(at)[f"step-tensor-{index}"]


def _model_card(at) -> dict:
    return {"attention": at.selectbox(key="attention").value, "cell": at.selectbox(key="cell").value}


def test_a_shared_step_url_opens_that_step_with_the_traces_numbers(zoo):  # noqa: F811
    at = run_app(STEP_PAGE, model="reverse-gru-general", text="abc", step="2")
    assert_clean(at)
    trace = greedy(load("reverse-gru-general", zoo), "abc")
    assert at.slider(key="step_slider").value == 2
    assert at.query_params["step"] == "2"
    np.testing.assert_allclose(decode_array(_weights_figure(at)["data"][0]["y"]), trace.steps[2].weights, atol=1e-9)
    heatmap = figures(at)["step-heatmap"]
    np.testing.assert_allclose(decode_array(heatmap["data"][0]["z"]), np.asarray(trace.attention), atol=1e-9)
    outline = heatmap["layout"]["shapes"][0]
    assert (outline["y0"], outline["y1"]) == (1.5, 2.5)  # row t = 2 is outlined
    lines = equations.chain(trace.model)
    assert [latex.value.strip("$\n") for latex in at.latex] == [line.latex for line in lines]
    captions = " ".join(c.value for c in at.caption)
    for line in lines:
        assert f"shape {trace.steps[2].shapes[line.shape_key]}" in captions
    assert f"Σα = {sum(trace.steps[2].weights):.4f}" in captions


def test_stepping_moves_the_step_and_never_decodes_again(zoo):  # noqa: F811
    at = run_app(STEP_PAGE, model="reverse-gru-general", text="abcd")
    assert_clean(at)
    trace = greedy(load("reverse-gru-general", zoo), "abcd")
    last = len(trace.steps) - 1
    decoded = cache.decodes()
    at.button(key="step-next").click().run()
    assert at.slider(key="step_slider").value == 1 and at.query_params["step"] == "1"
    np.testing.assert_allclose(decode_array(_weights_figure(at)["data"][0]["y"]), trace.steps[1].weights, atol=1e-9)
    at.button(key="step-next").click().run()
    at.button(key="step-previous").click().run()
    assert at.slider(key="step_slider").value == 1
    at.button(key="step-last").click().run()
    assert at.slider(key="step_slider").value == last
    assert at.button(key="step-next").disabled
    at.slider(key="step_slider").set_value(2).run()
    assert at.query_params["step"] == "2"
    at.button(key="step-first").click().run()
    assert at.slider(key="step_slider").value == 0 and at.button(key="step-previous").disabled
    assert_clean(at)
    assert cache.decodes() == decoded  # every move read the cached Trace


def test_play_toggles_and_a_step_beyond_the_end_is_clamped():
    at = run_app(STEP_PAGE, model="reverse-gru-general", text="ab", step="99")
    assert_clean(at)
    last = at.slider(key="step_slider").max
    assert at.slider(key="step_slider").value == last
    assert [i.value for i in at.info if "link asks" in i.value] == [
        f"The link asks for step 99, but this output has steps 0 to {int(last)}; showing step {int(last)}."
    ]
    at.button(key="step-play").click().run()
    assert not [i for i in at.info if "link asks" in i.value]  # said once, not on every rerun
    assert_clean(at)
    assert at.button(key="step-play").label == "Pause"
    assert at.session_state["step"] == 0  # play from the end starts again at the beginning
    assert not [s for s in at.slider if s.key == "step_slider"]  # while playing, progress replaces the slider
    at.button(key="step-play").click().run()
    assert at.button(key="step-play").label == "Play"
    assert at.slider(key="step_slider").value == at.session_state["step"]


def test_bahdanau_scores_with_the_previous_state(zoo):  # noqa: F811
    at = run_app(STEP_PAGE, model="reverse-lstm-additive", text="abc", step="1")
    assert_clean(at)
    trace = greedy(load("reverse-lstm-additive", zoo), "abc")
    latex = [element.value for element in at.latex]
    assert any(r"\tanh\!\left(W s_{t-1} + U h_j + b\right)" in value for value in latex)
    assert any(r"[E\,y_{t-1};\, c_t]" in value for value in latex)
    query = next(i for i, line in enumerate(equations.chain(trace.model)) if line.tensor == "query")
    z = decode_array(figures(at)[f"step-tensor-{query}"]["data"][0]["z"])
    np.testing.assert_allclose(z[0], trace.steps[1].query, atol=1e-9)


@pytest.mark.parametrize(
    ("name", "how_context_enters"),
    [("reverse-gru-none", r"[E\,y_{t-1};\, c]"), ("reverse-rnn-none", r"s_0 = c")],
)
def test_fixed_context_models_show_the_context_instead_of_attention(zoo, name, how_context_enters):  # noqa: F811
    at = run_app(STEP_PAGE, model=name, text="abc")
    assert_clean(at)
    trace = greedy(load(name, zoo), "abc")
    assert any(how_context_enters in element.value for element in at.latex)
    assert "step-heatmap" not in figures(at)
    assert any("no attention" in info.value for info in at.info)
    z = decode_array(figures(at)["step-tensor-0"]["data"][0]["z"])
    np.testing.assert_allclose(z[0], trace.encoder["context"], atol=1e-9)
    if name == "reverse-rnn-none":  # fixed_context "init": the context never enters the input again
        assert not any(r"\hat{s}_t" in element.value for element in at.latex)


def test_every_variant_has_a_chain_whose_tensors_are_recorded():
    for card in (
        {"cell": "gru", "attention": "general", "style": "luong"},
        {"cell": "gru", "attention": "dot", "style": "luong", "input_feeding": True},
        {"cell": "lstm", "attention": "concat", "style": "luong"},
        {"cell": "rnn", "attention": "additive", "style": "bahdanau"},
        {"cell": "gru", "attention": "none", "style": "none", "fixed_context": "init"},
        {"cell": "gru", "attention": "none", "style": "none", "fixed_context": "every_step"},
    ):
        lines = equations.chain(card)
        assert lines[-1].tensor == "probs"
        assert all(line.latex and line.symbol for line in lines)
    assert r"\hat{s}_{t-1}" in equations.chain({"cell": "gru", "attention": "dot", "input_feeding": True})[1].latex
