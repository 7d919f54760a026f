"""Compare and Train live in a real browser at 1280×720: Compare draws every model's attention map with its own
output as rows and one line per attention model; Train live's progress bar advances while it trains and the
replay slider shows different snapshots afterwards."""

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
ROWS_JS = """(key) => [...document.querySelectorAll(`.st-key-${key} .ytick text`)].map(t => t.textContent)"""
LINES_JS = """() => document.querySelectorAll('.st-key-compare-entropy .scatterlayer .trace').length"""
PROGRESS_JS = """() => { const bar = document.querySelector('[data-testid=stProgress] [role=progressbar]');
  return bar ? Number(bar.getAttribute('aria-valuenow')) : null; }"""
OUTPUT_JS = """() => document.querySelector('.st-key-live-output')?.innerText ?? null"""


def _comparable(zoo) -> tuple[str, str]:
    """A model with attention whose task has a fixed-context model too, and an input of that task."""
    models = list_models(zoo.path)
    for name, entry in sorted(models.items()):
        config = entry["config"]
        rivals = [n for n, e in models.items() if e["config"]["task"] == config["task"] and n != name]
        if config["attention"] != "none" and rivals:
            return name, ("I am cold." if config["task"] == "eng-fra" else "abcd")
    pytest.skip("no task with two models")


@pytest.mark.parametrize("projector", ["light", "dark"], indirect=True)
def test_compare_draws_each_models_own_decode(projector, app_url, zoo):
    page = projector
    name, text = _comparable(zoo)
    page.goto(f"{app_url}/{state.PAGE_COMPARE}?model={quote(name, safe='')}&text={quote(text, safe='')}")
    page.wait_for_selector(".st-key-compare-entropy .scatterlayer .trace")
    time.sleep(1.0)
    compared = page.evaluate("() => new URL(location.href).searchParams.get('models')").split(",")
    assert 2 <= len(compared) <= 4
    with_attention = 0
    for i, model_name in enumerate(compared):
        trace = greedy(load_model(model_name, directory=zoo.path), text)
        if trace.attention is None:
            assert page.locator(f".st-key-compare-heatmap-{i}").count() == 0
            continue
        with_attention += 1
        page.locator(f".st-key-compare-heatmap-{i}").scroll_into_view_if_needed()
        rows = page.evaluate(ROWS_JS, f"compare-heatmap-{i}")
        assert rows == [display_token(t) for t in trace.output_tokens], model_name
    assert page.evaluate(LINES_JS) >= with_attention
    assert not page.evaluate(SIDEWAYS_JS)


def test_train_live_progress_advances_and_the_replay_shows_different_snapshots(projector, app_url):
    page = projector
    page.goto(f"{app_url}/{state.PAGE_TRAIN}")
    page.wait_for_selector(".st-key-live-train")
    thumb = page.locator(".st-key-live_steps input[type=range]")
    thumb.focus()
    for _ in range(14):  # 800 steps -> 100, one 50-step notch a press
        page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => document.querySelector('.st-key-live_steps input[type=range]').value === '100'")
    time.sleep(0.5)
    page.get_by_role("button", name="Train").click()
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and page.locator(".st-key-live_snapshot").count() == 0:
        value = page.evaluate(PROGRESS_JS)
        if value is not None:
            seen.append(value)
        time.sleep(0.3)
    assert page.locator(".st-key-live_snapshot").count() == 1, "the replay slider appears when it ends"
    moving = sorted(set(seen))
    assert len(moving) >= 2 and moving[-1] > moving[0], seen  # it advanced while training, not only at the end
    slider = page.locator(".st-key-live_snapshot input[type=range]")
    slider.focus()
    last = page.evaluate(OUTPUT_JS)
    page.keyboard.press("Home")
    page.wait_for_function(f"() => document.querySelector('.st-key-live-output')?.innerText !== {last!r}",
                           timeout=30_000)  # fmt: skip
    first = page.evaluate(OUTPUT_JS)
    assert first != last
