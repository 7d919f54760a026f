"""Attribution in a real browser at 1280×720: attention and the attribution matrix side by side, both with the
decode's outputs as rows and the source as columns, the step's bars and the agreement line; a fixed-context model
shows its attribution alone; nothing scrolls sideways."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from seq2seq_viz import greedy, list_models, load_model
from ui import state
from ui.text import display_token

pytestmark = pytest.mark.browser

SIDEWAYS_JS = """() => { const m = document.querySelector('[data-testid=stMain]');
  return m.scrollWidth > m.clientWidth + 1 || document.documentElement.scrollWidth > innerWidth; }"""
TICKS_JS = (
    """([key, axis]) => [...document.querySelectorAll(`.st-key-${key} .${axis}tick text`)].map(t => t.textContent)"""
)


def _model(zoo, attention: bool) -> tuple[str, str]:
    for name, entry in sorted(list_models(zoo.path).items()):
        if (entry["config"]["attention"] != "none") == attention:
            return name, ("The weather is nice today." if entry["config"]["task"] == "eng-fra" else "abcd")
    pytest.skip("no such model")


@pytest.mark.parametrize("projector", ["light", "dark"], indirect=True)
def test_attention_and_attribution_render_side_by_side(projector, app_url, zoo):
    page = projector
    name, text = _model(zoo, attention=True)
    page.goto(f"{app_url}/{state.PAGE_ATTRIBUTION}?model={quote(name, safe='')}&text={quote(text, safe='')}&step=1")
    page.wait_for_selector(".st-key-attribution-matrix .ytick", state="attached")
    page.wait_for_selector(".st-key-attribution-attention .ytick", state="attached")
    time.sleep(1.0)
    trace = greedy(load_model(name, directory=zoo.path), text)
    outputs = [display_token(t) for t in trace.output_tokens]
    sources = [display_token(t) for t in trace.source_tokens]
    for key in ("attribution-attention", "attribution-matrix"):
        assert page.evaluate(TICKS_JS, [key, "y"]) == outputs, key
        assert page.evaluate(TICKS_JS, [key, "x"]) == sources, key
    attention, matrix = (
        page.locator(f".st-key-{k}").bounding_box() for k in ("attribution-attention", "attribution-matrix")
    )
    assert (
        abs(attention["y"] - matrix["y"]) < 40 and attention["x"] + attention["width"] <= matrix["x"] + 1
    )  # side by side
    page.locator(".st-key-attribution-agreement").scroll_into_view_if_needed()
    page.wait_for_selector(".st-key-attribution-agreement .scatterlayer .point", state="attached")
    assert page.locator(".st-key-attribution-step .barlayer .point").count() == 2 * len(sources)  # α and share
    assert not page.evaluate(SIDEWAYS_JS)


def test_a_fixed_context_model_shows_its_attribution_alone(projector, app_url, zoo):
    page = projector
    name, text = _model(zoo, attention=False)
    page.goto(f"{app_url}/{state.PAGE_ATTRIBUTION}?model={quote(name, safe='')}&text={quote(text, safe='')}"
              "&method=occlusion")  # fmt: skip
    page.wait_for_selector(".st-key-attribution-matrix .ytick", state="attached")
    assert page.locator(".st-key-attribution-attention").count() == 0
    assert page.get_by_text("No attention: one fixed context vector").count() == 1
