"""Presentation mode in a real browser at a projector's 1280×720: one slide per line of the chain, the keyboard,
predict-then-reveal, and nothing that scrolls sideways or below the fold."""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from seq2seq_viz import greedy, list_models, load_model
from seq2seq_viz.config import LESSON_EXAMPLES
from ui import equations, picker
from ui.text import display_token

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

IN_VIEW_JS = """sel => {
  const el = document.querySelector(sel);
  if (!el) return null;
  const r = el.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, w: innerWidth, h: innerHeight};
}"""
# st.latex scrolls a wide equation inside its .katex-display box (overflow-x: auto), cutting it off at the edge
OVERFLOWING_EQUATIONS_JS = """() => [...document.querySelectorAll('.katex-display')]
  .filter(el => el.scrollWidth > el.clientWidth + 1 || el.getBoundingClientRect().right > innerWidth).length"""
HEATMAP_ROWS_JS = """() => [...document.querySelectorAll('.st-key-step-heatmap .ytick text')].map(t => t.textContent)"""


def _subject(zoo) -> tuple[str, str]:
    """A model with attention and its first example (the lab's default when it has attention)."""
    models = list_models(zoo.path)
    default = picker.default_model(models)
    if models[default]["config"]["attention"] == "none":
        default = next(name for name, entry in models.items() if entry["config"]["attention"] != "none")
    task = models[default]["config"]["task"]
    text = LESSON_EXAMPLES.get(task, ("abc",))[0] if task == "eng-fra" else "abc"
    return default, text


def _open(page, app_url: str, **params: str) -> None:
    page.goto(f"{app_url}/step?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items()))
    page.wait_for_selector(".st-key-step-heatmap .xtick text")
    page.wait_for_selector(".st-key-step-equation .katex" if params.get("present") else ".st-key-step-line-0 .katex")


def _inside(page, selector: str) -> None:
    box = page.evaluate(IN_VIEW_JS, selector)
    assert box is not None, selector
    assert box["top"] >= 0 and box["left"] >= 0, (selector, box)
    assert box["bottom"] <= box["h"] and box["right"] <= box["w"], (selector, box)


def _line(page) -> tuple[int, int]:
    text = page.get_by_text(re.compile(r"^t = \d+ of \d+ · line \d+ of")).inner_text()
    t, line = re.search(r"t = (\d+) of \d+ · line (\d+)", text).groups()
    return int(t), int(line)


@pytest.mark.parametrize("projector", ["light", "dark"], indirect=True)
def test_a_slide_fits_the_projector_and_the_keyboard_walks_it(projector, app_url, zoo, request):
    page = projector
    name, text = _subject(zoo)
    trace = greedy(load_model(name, directory=zoo.path), text)
    lines = equations.chain(trace.model)
    _open(page, app_url, model=name, text=text, present="1")
    for selector in (".st-key-step-previous", ".st-key-step-next", ".st-key-step-play", ".st-key-step-heatmap",
                     ".st-key-step-equation", ".st-key-step-tensor-0"):  # fmt: skip
        _inside(page, selector)
    assert page.evaluate(OVERFLOWING_EQUATIONS_JS) == 0
    assert not page.locator('[data-testid="stSidebar"][aria-expanded="true"]').count()  # the sidebar is folded
    size = page.evaluate(  # the type the letters are set in (KaTeX's sizing spans inside the equation)
        "() => Math.max(...[...document.querySelectorAll('.st-key-step-equation .katex-html .mord')]"
        ".map(el => parseFloat(getComputedStyle(el).fontSize)))"
    )
    assert size >= 28
    tick = page.evaluate("() => parseFloat(document.querySelector('.st-key-step-heatmap .xtick text').style.fontSize)")
    assert tick >= 18
    assert _line(page) == (0, 1)
    page.locator("body").press("ArrowRight")
    page.get_by_text(re.compile(r"· line 2 of")).wait_for()
    page.keyboard.press("ArrowRight")
    page.get_by_text(re.compile(r"· line 3 of")).wait_for()
    page.keyboard.press("ArrowLeft")
    page.get_by_text(re.compile(r"· line 2 of")).wait_for()
    for _ in range(len(lines) - 1):  # past the last line of step 0 comes the first line of step 1
        page.keyboard.press("ArrowRight")
        time.sleep(0.3)
    page.get_by_text(re.compile(r"^t = 1 of \d+ · line 1 of")).wait_for()
    page.wait_for_function("() => new URL(location.href).searchParams.get('step') === '1'")
    for number in range(len(lines)):  # every line of the chain fits, at the largest tensor too
        page.get_by_text(re.compile(rf"· line {number + 1} of")).wait_for()
        page.wait_for_selector(f".st-key-step-tensor-{number} .main-svg")
        for selector in (".st-key-step-heatmap", ".st-key-step-equation", f".st-key-step-tensor-{number}"):
            _inside(page, selector)
        assert page.evaluate(OVERFLOWING_EQUATIONS_JS) == 0
        page.keyboard.press("ArrowRight")
    ARTIFACTS.mkdir(exist_ok=True)
    page.keyboard.press("ArrowLeft")
    time.sleep(1)
    page.screenshot(path=str(ARTIFACTS / f"presentation-{request.node.callspec.params['projector']}.png"))


def test_the_keyboard_leaves_a_text_box_alone(projector, app_url, zoo):
    page = projector
    name, text = _subject(zoo)
    _open(page, app_url, model=name, text=text)
    box = page.locator(".st-key-text input")
    box.click()
    box.press("End")
    box.press("ArrowLeft")
    box.press("ArrowLeft")
    time.sleep(1)
    assert page.get_by_text(re.compile(r"^Step t = 0 of")).count() == 1  # the arrows moved the caret, not the step
    page.locator(".st-key-step-heatmap").click(position={"x": 5, "y": 5})
    page.keyboard.press("ArrowRight")
    page.get_by_text(re.compile(r"^Step t = 1 of")).wait_for()


def test_predict_then_reveal_hides_the_later_rows_until_revealed(projector, app_url, zoo):
    page = projector
    name, text = _subject(zoo)
    trace = greedy(load_model(name, directory=zoo.path), text)
    _open(page, app_url, model=name, text=text, reveal="0", step="1")
    rows = page.evaluate(HEATMAP_ROWS_JS)
    assert rows[1:] == ["?"] * (len(trace.steps) - 1) and rows[0] != "?"
    page.locator(".st-key-guess button").first.click()
    page.get_by_role("button", name="Reveal step t").click()
    page.wait_for_function(  # plotly swaps the whole figure: wait for the new one alone
        f"() => {{ const rows = ({HEATMAP_ROWS_JS})(); return rows.length === {len(trace.steps)} && rows[1] !== '?'; }}"
    )
    rows = page.evaluate(HEATMAP_ROWS_JS)
    assert rows[2:] == ["?"] * (len(trace.steps) - 2)
    page.get_by_text(re.compile(r"attends most to")).wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "predict-then-reveal.png"))


def _variants(zoo) -> list[str]:
    """One model per decoder style: Luong, Bahdanau, and the fixed context fed at every step (or at the start)."""
    models = list_models(zoo.path)
    picks = []
    for wanted in ("general", "additive", "none"):
        name = next((n for n, e in sorted(models.items()) if e["config"]["attention"] == wanted), None)
        if name:
            picks.append(name)
    return picks


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 720}, {"width": 1400, "height": 900}])
def test_no_equation_is_cut_on_the_step_page(chromium_browser, app_url, zoo, viewport):
    context = chromium_browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        for name in _variants(zoo):
            task = list_models(zoo.path)[name]["config"]["task"]
            text = "The weather is nice today." if task == "eng-fra" else "abcd"
            for present in ("0", "1"):
                page.goto(f"{app_url}/step?model={name}&text={quote(text)}&present={present}")
                page.wait_for_selector(".st-key-step-tensor-0 .main-svg")
                page.wait_for_selector(".katex")
                time.sleep(0.5)
                overflowing = page.evaluate(OVERFLOWING_EQUATIONS_JS)
                assert overflowing == 0, (name, present, viewport)
    finally:
        context.close()


PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36"
)
RECTS_JS = """key => {
  const root = document.querySelector(`.st-key-${key}`);
  const rect = sel => { const el = root && root.querySelector(sel); if (!el) return null;
                        const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom}; };
  return {modebar: rect('.modebar-container .modebar'), title: rect('.gtitle')};
}"""


def test_a_phone_types_on_the_page_and_no_toolbar_covers_a_title(chromium_browser, app_url, zoo):
    name, _ = _subject(zoo)
    context = chromium_browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, user_agent=PHONE_UA
    )
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{app_url}/translate?model={name}")
        page.wait_for_selector(".st-key-translate-heatmap .xtick text")
        box = page.locator(".st-key-text_on_page input")  # the input is on the page: no drawer to open and close
        new = "We are happy." if list_models(zoo.path)[name]["config"]["task"] == "eng-fra" else "abcd"
        box.fill(new)
        box.press("Enter")
        tokens = greedy(load_model(name, directory=zoo.path), new).source_tokens
        page.wait_for_function(
            "x => JSON.stringify([...document.querySelectorAll('.st-key-translate-heatmap .xtick text')]"
            ".map(t => t.textContent)) === JSON.stringify(x)",
            arg=[display_token(t) for t in tokens],
        )
        assert page.evaluate("() => document.querySelector('[data-testid=\"stSidebar\"]').dataset.collapsed") == "true"
        heatmap = page.locator(".st-key-translate-heatmap")
        heatmap.scroll_into_view_if_needed()
        heatmap.tap(position={"x": 150, "y": 150})  # a tap shows plotly's toolbar
        time.sleep(0.5)
        rects = page.evaluate(RECTS_JS, "translate-heatmap")
        assert rects["title"] is not None
        if rects["modebar"] is not None:
            assert rects["modebar"]["bottom"] <= rects["title"]["top"] + 1, rects
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "phone-translate.png"))
    finally:
        context.close()


TICK_BOXES_JS = """key => [...document.querySelectorAll(`.st-key-${key} .xtick text`)].map(t => {
  const r = t.getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom]; })"""


def test_at_150_percent_zoom_the_step_page_stacks_instead_of_squeezing(chromium_browser, app_url, zoo):
    name, text = _subject(zoo)
    context = chromium_browser.new_context(viewport={"width": 853, "height": 480})  # 1280×720 at 150%
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        _open(page, app_url, model=name, text=text)
        for selector in (".st-key-step-first", ".st-key-step-previous", ".st-key-step-next", ".st-key-step-play"):
            button = page.locator(f"{selector} button").first
            assert "…" not in button.inner_text(), selector  # a label shown whole, not cut to "P…"
            assert button.evaluate(  # neither the button nor the label inside it cuts its text with an ellipsis
                "b => [b, ...b.querySelectorAll('*')].every(e => e.scrollWidth <= e.clientWidth + 1)"
            ), selector
        heatmap = page.evaluate(IN_VIEW_JS, ".st-key-step-heatmap")
        equation = page.evaluate(IN_VIEW_JS, ".st-key-step-line-0")
        assert heatmap["bottom"] <= equation["top"] + 1  # stacked: the chain comes below the heatmap
        boxes = page.evaluate(TICK_BOXES_JS, "step-heatmap")
        for (_, right, top, bottom), (left, _, top2, bottom2) in itertools.pairwise(boxes):
            assert right <= left + 1 or bottom <= top2 + 1 or bottom2 <= top + 1  # neighbours never overlap
    finally:
        context.close()
