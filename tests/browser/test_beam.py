"""Beam search in a real browser: the tree draws a marker for every node and labels kept ones where there is room
(always the winning path's), picking another hypothesis (in the picker, or by clicking its node in the tree)
redraws its heatmap, and the page fits 1280×720 without scrolling sideways, light and dark."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from seq2seq_viz import decode, list_models, load_model
from seq2seq_viz.config import LESSON_EXAMPLES
from ui import picker, state
from ui.text import display_token

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WIDTH = 4

POINTS_JS = """() => document.querySelectorAll('.st-key-beam-tree .scatterlayer path.point').length"""
LABELS_JS = """() => [...document.querySelectorAll('.st-key-beam-tree .scatterlayer .textpoint text')]
  .map(t => t.textContent).filter(t => t)"""
ROWS_JS = """() => [...document.querySelectorAll('.st-key-beam-heatmap .ytick text')].map(t => t.textContent)"""
TITLE_JS = """() => document.querySelector('.st-key-beam-heatmap .gtitle')?.textContent ?? null"""
DASHED_JS = """() => [...document.querySelectorAll('.st-key-beam-tree .scatterlayer path.js-line')]
  .filter(p => (p.style.strokeDasharray || 'none') !== 'none').length"""
SIDEWAYS_JS = """() => { const m = document.querySelector('[data-testid=stMain]');
  return m.scrollWidth > m.clientWidth + 1 || document.documentElement.scrollWidth > innerWidth; }"""
# where node `id` is drawn on screen (scrolled into view first): the marker of the trace whose customdata holds it
NODE_JS = """(id) => { const gd = document.querySelector('.st-key-beam-tree .js-plotly-plot');
  const layers = gd.querySelectorAll('.scatterlayer .trace');
  for (const [c, trace] of gd.data.entries()) {
    const i = Array.from(trace.customdata || []).indexOf(id);
    if (i < 0 || !trace.mode.includes('markers')) continue;
    const point = layers[c].querySelectorAll('path.point')[i];
    point.scrollIntoView({block: 'center'});
    const r = point.getBoundingClientRect();
    return {x: r.x + r.width / 2, y: r.y + r.height / 2};
  }
  return null; }"""
PICKER_JS = f"""() => {{ const box = document.querySelector('.st-key-{state.BEAM_PICK}');
  return [box.innerText, ...[...box.querySelectorAll('input')].map(i => i.value)].join(' | '); }}"""
TREE_BOX_JS = """() => { const r = document.querySelector('.st-key-beam-tree .main-svg').getBoundingClientRect();
  return {left: r.left, right: r.right, w: innerWidth}; }"""


def _subject(zoo) -> tuple[str, str]:
    """A model with attention and an input of its task."""
    models = list_models(zoo.path)
    name = picker.default_model(models)
    if models[name]["config"]["attention"] == "none":
        name = next(n for n, entry in sorted(models.items()) if entry["config"]["attention"] != "none")
    task = models[name]["config"]["task"]
    return name, (LESSON_EXAMPLES[task][0] if LESSON_EXAMPLES.get(task) else "abc")


def _open(page, app_url: str, name: str, text: str) -> None:
    page.goto(f"{app_url}/{state.PAGE_BEAM}?model={quote(name, safe='')}&text={quote(text, safe='')}")
    page.wait_for_selector(".st-key-beam-tree .scatterlayer path.point")
    page.wait_for_selector(".st-key-beam-heatmap .ytick text")


def _set_width(page, width: int) -> None:
    """Move the page's width slider from its default with the keyboard."""
    thumb = page.locator(f".st-key-{state.BEAM_PAGE_WIDTH} input[type=range]")
    start = int(thumb.input_value())
    for _ in range(abs(start - width)):
        thumb.press("ArrowLeft" if width < start else "ArrowRight")
    title = "() => document.querySelector('.st-key-beam-tree .gtitle')?.textContent.endsWith('= ' + arguments[0])"
    page.wait_for_function(title.replace("arguments[0]", str(width)))


def _pick(page, label: str, tries: int = 3) -> None:
    """Choose an n-best hypothesis; a rerun still drawing the page may close the open list, so try again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # only where a browser runs

    for attempt in range(tries):
        page.locator(f".st-key-{state.BEAM_PICK} [role='combobox']").click()
        try:
            page.get_by_role("option", name=label).click(timeout=5_000)
            return
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise
            page.keyboard.press("Escape")


@pytest.mark.parametrize("projector", ["light", "dark"], indirect=True)
def test_the_tree_draws_every_node_and_a_pick_redraws_the_heatmap(projector, app_url, zoo, request):
    page = projector
    name, text = _subject(zoo)
    beam = decode(load_model(name, directory=zoo.path), text, "beam", beam_size=WIDTH).beam
    _open(page, app_url, name, text)
    _set_width(page, WIDTH)
    page.wait_for_function(f"() => ({POINTS_JS})() === {len(beam.nodes)}")

    def label(node) -> str:  # a kept node reads its token over its cumulative log p (two lines); the root its token
        return display_token(node.token) + ("" if node.parent is None else f"{node.cumulative:.2f}")

    labels = page.evaluate(LABELS_JS)
    kept = [label(n) for n in beam.nodes if n.kept]
    assert labels and all(text in kept for text in labels)  # where there is room; never a pruned node
    assert {label(beam.nodes[i]) for i in [0, *beam.path(beam.best.node)]} <= set(labels)
    best = beam.best
    assert page.evaluate(ROWS_JS) == [display_token(t) for t in best.tokens]
    assert "#1" in page.evaluate(TITLE_JS)

    other = beam.nbest[1]
    _pick(page, f"#2 · {other.text or '(empty)'} · score {other.score:.4f}")
    page.wait_for_function(f"() => ({TITLE_JS})()?.includes('#2')")
    page.wait_for_function(
        "rows => JSON.stringify((" + ROWS_JS + ")()) === JSON.stringify(rows)",
        arg=[display_token(t) for t in other.tokens],
    )
    page.wait_for_function(f"() => ({POINTS_JS})() === {len(beam.nodes)}")  # the tree redrawn, its dashed pick
    assert page.evaluate(DASHED_JS) == 1  # the picked hypothesis's path

    # a click on the third hypothesis's last node picks it; nothing on the tree dims
    third = beam.nbest[2]
    where = page.evaluate(NODE_JS, third.node)
    page.mouse.move(where["x"], where["y"])
    page.mouse.click(where["x"], where["y"])
    page.wait_for_function(f"() => ({TITLE_JS})()?.includes('#3')")
    page.wait_for_function(
        "rows => JSON.stringify((" + ROWS_JS + ")()) === JSON.stringify(rows)",
        arg=[display_token(t) for t in third.tokens],
    )
    page.wait_for_function(f"() => ({POINTS_JS})() === {len(beam.nodes)}")
    assert page.evaluate(DASHED_JS) == 1
    picker = page.evaluate(PICKER_JS)
    assert "#3 ·" in picker, picker  # the picker follows the click
    page.evaluate("() => window.scrollTo(0, 0)")

    assert not page.evaluate(SIDEWAYS_JS)
    box = page.evaluate(TREE_BOX_JS)
    assert box["left"] >= 0 and box["right"] <= box["w"], box
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"beam-{request.node.callspec.id}.png"), full_page=True)
