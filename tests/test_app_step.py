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


def _tex(element) -> str:
    """The LaTeX an st.latex element shows, without the $$ fences and the view's thin-space padding."""
    return element.value.strip("$\n").removeprefix(r"\,").removesuffix(r"\,")


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
    assert [_tex(latex) for latex in at.latex] == [line.latex for line in lines]
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


def _heatmap_rows(at) -> tuple[list, list[str]]:
    """The step heatmap's rows as lists (None where a row is hidden) and its output labels."""
    heatmap = figures(at)["step-heatmap"]
    z = heatmap["data"][0]["z"]
    rows = [list(decode_array(row)) if row is not None else None for row in z] if isinstance(z, list) else z
    return rows, list(heatmap["layout"]["yaxis"]["ticktext"])


def test_presentation_mode_walks_the_chain_one_line_at_a_time(zoo):  # noqa: F811
    at = run_app(STEP_PAGE, model="reverse-gru-general", text="abc", present="1")
    assert_clean(at)
    trace = greedy(load("reverse-gru-general", zoo), "abc")
    lines = equations.chain(trace.model)
    assert at.toggle(key="present").value and at.query_params["present"] == "1"
    assert not [s for s in at.slider if s.key == "step_slider"]  # a presenter's controls: no slider
    for t, number in [(0, 0), (0, 1), (0, 2), (0, 3)]:
        assert at.session_state["step"] == t and at.session_state["substep"] == number
        shown = [latex.value for latex in at.latex]
        assert _tex(at.latex[1]) == r"\LARGE " + lines[number].latex  # the current line, large, after the overview
        assert r"\boxed{" + lines[number].symbol + "}" in shown[0]
        at.button(key="step-next").click().run()
    weights_line = next(i for i, line in enumerate(lines) if line.tensor == "weights")
    at.session_state["substep"] = weights_line
    at.run()
    bars = figures(at)[f"step-tensor-{weights_line}"]
    np.testing.assert_allclose(decode_array(bars["data"][0]["y"]), trace.steps[0].weights, atol=1e-9)
    at.session_state["substep"] = len(lines) - 1
    at.run()
    at.button(key="step-next").click().run()  # past the last line: the first line of the next step
    assert (at.session_state["step"], at.session_state["substep"]) == (1, 0)
    at.button(key="step-previous").click().run()  # and back to the last line of step 0
    assert (at.session_state["step"], at.session_state["substep"]) == (0, len(lines) - 1)
    assert at.button(key="step-previous").disabled is False
    heatmap = figures(at)["step-heatmap"]
    assert heatmap["layout"]["font"]["size"] >= 18 and heatmap["layout"]["xaxis"]["tickfont"]["size"] >= 18
    assert_clean(at)


def test_charts_are_drawn_larger_in_presentation_mode():
    at = run_app(STEP_PAGE, model="reverse-gru-general", text="abc")
    normal = figures(at)["step-heatmap"]["layout"]["xaxis"]["tickfont"]["size"]
    at.toggle(key="present").set_value(True).run()
    assert_clean(at)
    present = figures(at)["step-heatmap"]["layout"]["xaxis"]["tickfont"]["size"]
    assert normal < 18 <= present
    assert at.query_params["present"] == "1"
    at.toggle(key="present").set_value(False).run()
    assert "present" not in at.query_params


def test_predict_then_reveal_hides_the_rest_until_revealed(zoo):  # noqa: F811
    at = run_app(STEP_PAGE, model="reverse-gru-general", text="abcd", reveal="0", step="1")
    assert_clean(at)
    trace = greedy(load("reverse-gru-general", zoo), "abcd")
    attention = np.asarray(trace.attention)
    assert at.toggle(key="predict").value and at.query_params["reveal"] == "0"
    rows, labels = _heatmap_rows(at)
    np.testing.assert_allclose(rows[0], attention[0], atol=1e-9)  # rows before the current step are shown
    assert all(row is None or all(v is None for v in row) for row in rows[1:])
    assert labels[1:] == ["?"] * (len(labels) - 1)
    assert any("writes y(t) = ?" in m.value.replace("\\", "") for m in at.markdown)
    assert not any(key.startswith("step-tensor-") and key.endswith(("-2", "-3")) for key in figures(at))
    most = int(np.argmax(attention[1]))  # the model's most-attended source token at step 1, from the Trace
    guess = (most + 1) % attention.shape[1]
    at.pills(key="guess").set_value(guess).run()
    at.button(key="step-reveal").click().run()
    assert_clean(at)
    rows, labels = _heatmap_rows(at)
    np.testing.assert_allclose(rows[1], attention[1], atol=1e-9)
    assert labels[2:] == ["?"] * (len(labels) - 2)
    message = " ".join(i.value for i in at.info)
    assert f"attends most to «{trace.source_tokens[most]}» (α = {attention[1, most]:.2f})" in message.replace("\\", "")
    at.button(key="step-next").click().run()  # the next step starts hidden again, with an empty guess
    rows, _ = _heatmap_rows(at)
    assert all(v is None for v in rows[2]) and at.pills(key="guess").value is None
    at.pills(key="guess").set_value(int(np.argmax(attention[2]))).run()
    at.button(key="step-reveal").click().run()
    assert any("You matched the model" in s.value for s in at.success)
    assert any("1 of 2 matched" in c.value for c in at.caption)


def test_predicting_in_presentation_mode_reveals_when_the_energies_are_reached(zoo):  # noqa: F811
    at = run_app(STEP_PAGE, model="reverse-gru-general", text="abc", reveal="0", present="1")
    trace = greedy(load("reverse-gru-general", zoo), "abc")
    energies_line = next(i for i, line in enumerate(equations.chain(trace.model)) if line.tensor == "energies")
    for _ in range(energies_line):
        rows, _ = _heatmap_rows(at)
        assert all(v is None for v in rows[0])
        at.button(key="step-next").click().run()
    rows, _ = _heatmap_rows(at)
    np.testing.assert_allclose(rows[0], np.asarray(trace.attention)[0], atol=1e-9)
    assert_clean(at)


def test_a_bad_switch_in_the_link_is_one_sentence():
    at = run_app(model="reverse-gru-general", text="abc", present="yes")  # a link's notices show on its first page
    assert_clean(at)
    assert [w.value.replace("\\", "") for w in at.warning] == [
        "The presentation mode setting in the link (yes) must be 0 or 1; it was ignored."
    ]
    assert not at.toggle(key="present").value


def test_a_long_source_on_a_slide_gets_half_the_width_and_upright_labels():
    at = run_app(STEP_PAGE, model="reverse-gru-general", text="abcdefghijklmnopqr", present="1")  # 18 letters
    assert_clean(at)
    heatmap = figures(at)["step-heatmap"]
    x = heatmap["layout"]["xaxis"]
    assert len(x["ticktext"]) == 19 and x["tickangle"] == -90  # every letter and <eos>, upright
    assert [c.proto.weight for c in at.columns[:2]] == pytest.approx([0.5, 0.5])
    at = run_app(STEP_PAGE, model="reverse-gru-general", text="abc", present="1")
    assert [c.proto.weight for c in at.columns[:2]] == pytest.approx([5 / 12, 7 / 12])
