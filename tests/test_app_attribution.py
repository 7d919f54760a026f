"""AppTest of Attribution: the matrices, the step's bars and the agreement are the core's attribution of the
page's decode, recomputed here; the method picker and the shared step; a fixed-context model; one sentence for
bad input."""

from __future__ import annotations

import numpy as np
import pytest
from app_support import assert_clean, decode_array, figures, heatmap_z, load, run_app, zoo  # noqa: F401  (fixture)

from seq2seq_viz import greedy
from seq2seq_viz.agreement import agreement, shares
from seq2seq_viz.attribution import attribute
from ui import state

PAGE = "ui/views/attribution.py"
MODEL, TEXT = "reverse-gru-general", "abcd"


@pytest.fixture(scope="module", autouse=True)
def _zoo(zoo):  # noqa: F811
    return zoo


def expected(zoo, name: str, method: str):  # noqa: F811
    model = load(name, zoo)
    return attribute(model, greedy(model, TEXT), [method])


def test_the_matrix_is_the_attributions_share_and_the_attention_beside_it(zoo):  # noqa: F811
    at = run_app(PAGE, model=MODEL, text=TEXT)
    assert_clean(at)
    found = figures(at)
    trace = expected(zoo, MODEL, state.DEFAULT_ATTRIBUTION)
    signed = trace.attribution[state.DEFAULT_ATTRIBUTION].array
    np.testing.assert_allclose(heatmap_z(found["attribution-matrix"]), shares(signed), atol=1e-6)
    np.testing.assert_allclose(heatmap_z(found["attribution-attention"]), trace.attention, atol=1e-6)
    bars = {b["name"]: decode_array(b["y"]) for b in found["attribution-step"]["data"]}
    np.testing.assert_allclose(bars["attention α"], trace.attention[0], atol=1e-6)
    np.testing.assert_allclose(bars["attribution share"], shares(signed)[0], atol=1e-6)
    rho = decode_array(found["attribution-agreement"]["data"][0]["y"])
    wanted = [np.nan if r is None else r for r in agreement(trace.attention, signed)["spearman"]]
    np.testing.assert_allclose(rho, wanted, atol=1e-9)
    assert at.query_params["method"] == state.DEFAULT_ATTRIBUTION
    assert any("Completeness" in c.value for c in at.caption)


def test_another_method_and_the_shared_step(zoo):  # noqa: F811
    at = run_app(PAGE, model=MODEL, text=TEXT, method="occlusion", step="2")
    assert_clean(at)
    found = figures(at)
    signed = expected(zoo, MODEL, "occlusion").attribution["occlusion"].array
    np.testing.assert_allclose(heatmap_z(found["attribution-matrix"]), shares(signed), atol=1e-6)
    bars = {b["name"]: decode_array(b["y"]) for b in found["attribution-step"]["data"]}
    np.testing.assert_allclose(bars["attribution share"], shares(signed)[2], atol=1e-6)  # step 2, from the link
    at.slider(key=state.ATTRIBUTION_STEP).set_value(1).run()
    assert at.session_state[state.STEP] == 1 and at.query_params["step"] == "1"
    at.get("button_group")[0].set_value("grad_x_input").run()
    assert_clean(at)
    assert at.query_params["method"] == "grad_x_input"


def test_a_fixed_context_model_still_gets_its_attribution(zoo):  # noqa: F811
    at = run_app(PAGE, model="reverse-gru-none", text=TEXT)
    assert_clean(at)
    found = figures(at)
    assert "attribution-matrix" in found and "attribution-attention" not in found
    assert any("No attention" in i.value for i in at.info)


def test_bad_input_is_one_sentence(zoo):  # noqa: F811
    at = run_app(PAGE, model=MODEL, text="ab\x00c")
    assert not at.exception and not at.error
    assert len(at.warning) == 1 and "control character" in at.warning[0].value
    assert not at.get("plotly_chart")


def test_a_bad_method_in_the_link_is_one_notice(zoo):  # noqa: F811
    at = run_app(model=MODEL, text=TEXT, method="saliency")  # notices show on the link's first run
    assert any("attribution method in the link ('saliency')" in w.value.replace("\\", "") for w in at.warning)
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert at.query_params["method"] == state.DEFAULT_ATTRIBUTION


def test_step_through_shows_the_steps_attribution_beside_attention_on_demand(zoo):  # noqa: F811
    at = run_app("ui/views/step.py", model=MODEL, text=TEXT, step="1")
    assert_clean(at)
    assert "step-attribution" not in figures(at)  # off by default: a click on Next never pays for it
    at.toggle(key=state.STEP_ATTRIBUTION).set_value(True).run()
    assert_clean(at)
    bars = {b["name"]: decode_array(b["y"]) for b in figures(at)["step-attribution"]["data"]}
    signed = expected(zoo, MODEL, state.DEFAULT_ATTRIBUTION).attribution[state.DEFAULT_ATTRIBUTION].array
    np.testing.assert_allclose(bars["attribution share"], shares(signed)[1], atol=1e-6)
