"""The app in a real browser: typing, stepping, switching models, shared links, and markup that stays text."""

from __future__ import annotations

import itertools
import math
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import pytest

from seq2seq_viz import forced_prefix, greedy, list_models, load_model
from seq2seq_viz.config import LESSON_EXAMPLES, LONG_EXAMPLES
from seq2seq_viz.registry import examples_for
from seq2seq_viz.text import detokenize
from seq2seq_viz.vocab import SPECIALS
from ui import picker
from ui.text import UNKNOWN_MARK, display_token

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # screenshots of every page (gitignored)

TICKS_JS = """key => {
  const root = document.querySelector(`.st-key-${key}`);
  if (!root) return null;
  const read = sel => [...root.querySelectorAll(sel)].map(t => t.textContent);
  return {x: read('.xtick text'), y: read('.ytick text')};
}"""
WAIT_TICKS_JS = """([key, x, y]) => {
  const root = document.querySelector(`.st-key-${key}`);
  if (!root) return false;
  const read = sel => [...root.querySelectorAll(sel)].map(t => t.textContent);
  return JSON.stringify(read('.xtick text')) === JSON.stringify(x)
      && (y === null || JSON.stringify(read('.ytick text')) === JSON.stringify(y));
}"""


# ---- what the server should show, computed here from the same core ----


def labels(tokens: list[str], unknown: list[int] = ()) -> list[str]:
    return [display_token(t) + (UNKNOWN_MARK if i in unknown else "") for i, t in enumerate(tokens)]


def expected(zoo, name: str, text: str):
    return greedy(load_model(name, directory=zoo.path), text)


def subject(zoo) -> str:
    """The model the app opens with, or (if that one has no attention) the first model with attention."""
    models = list_models(zoo.path)
    default = picker.default_model(models)
    if models[default]["config"]["attention"] != "none":
        return default
    return next(name for name, entry in models.items() if entry["config"]["attention"] != "none")


def inputs_for(zoo, name: str, long: bool = True) -> list[str]:
    """The example pills offered for a model, in order (long=False: without the task's long example)."""
    entry = list_models(zoo.path)[name]
    task = entry["config"]["task"]
    offered = [*LESSON_EXAMPLES.get(task, ()), *examples_for(name, zoo.path)["inputs"]]
    return list(dict.fromkeys([*offered, *(LONG_EXAMPLES.get(task, ()) if long else ())]))


# ---- browser helpers ----


def wait_ticks(page, key: str, x: list[str], y: list[str] | None = None, timeout: float = 60_000) -> None:
    page.wait_for_function(WAIT_TICKS_JS, arg=[key, x, y], timeout=timeout)


def ticks(page, key: str) -> dict:
    return page.evaluate(TICKS_JS, key)


def type_input(page, text: str) -> None:
    box = page.locator(".st-key-text input")
    box.fill(text)
    box.press("Enter")


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query, keep_blank_values=True).items()}


def wait_idle(page) -> None:
    """Until Streamlit has finished its run (the running indicator is gone)."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')"
    )


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    time.sleep(0.5)  # let plotly finish its transitions
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def url_for(base: str, page: str = "", **params: str) -> str:
    return f"{base}/{page}?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())


# ---- the tests ----


def test_the_app_opens_on_translate_with_the_heatmap_of_the_default_input(tab, app_url, zoo):
    page = tab.page
    page.goto(app_url)
    default = picker.default_model(list_models(zoo.path))
    text = inputs_for(zoo, default)[0]
    trace = expected(zoo, default, text)
    if trace.attention is None:
        page.wait_for_selector(".st-key-translate-probs .xtick text")
    else:
        wait_ticks(page, "translate-heatmap", labels(trace.source_tokens, trace.unknown_source_tokens),
                   labels(trace.output_tokens))  # fmt: skip
    page.wait_for_function("t => document.querySelector('.st-key-text input')?.value === t", arg=text)
    page.wait_for_function("m => new URL(location.href).searchParams.get('model') === m", arg=default)
    assert query(page)["model"] == default and query(page)["text"] == text
    assert urlparse(page.url).path.endswith("/translate")  # "/" forwards to the Translate page's own path
    assert page.title() == "seq2seq_viz"


def test_typing_a_sentence_and_enter_redraws_the_heatmap(tab, app_url, zoo):
    page = tab.page
    name = subject(zoo)
    page.goto(url_for(app_url, model=name))
    page.wait_for_selector(".st-key-translate-heatmap .xtick text")
    text = inputs_for(zoo, name)[1]
    type_input(page, text)
    trace = expected(zoo, name, text)
    wait_ticks(page, "translate-heatmap", labels(trace.source_tokens, trace.unknown_source_tokens),
               labels(trace.output_tokens))  # fmt: skip
    page.wait_for_function("t => new URL(location.href).searchParams.get('text') === t", arg=text)
    assert page.locator(".st-key-translate-output").first.inner_text().strip() == trace.output_text
    assert not tab.dialogs
    shoot(page, "translate")


def test_stepping_forward_and_back(tab, app_url, zoo):
    page = tab.page
    name = subject(zoo)
    text = inputs_for(zoo, name)[0]
    trace = expected(zoo, name, text)
    assert len(trace.steps) >= 3
    page.goto(url_for(app_url, "step", model=name, text=text, step="0"))
    page.wait_for_selector(".st-key-step-heatmap .xtick text")
    description = page.get_by_text(re.compile(r"^Step t = \d+ of"))

    def shown_step() -> int:
        return int(re.search(r"Step t = (\d+)", description.inner_text()).group(1))

    assert shown_step() == 0
    page.get_by_role("button", name="Next").click()
    page.wait_for_function("() => new URL(location.href).searchParams.get('step') === '1'")
    page.get_by_text(re.compile(r"^Step t = 1 of")).wait_for()
    step = trace.steps[1]
    assert f"«{display_token(step.output_token)}»" in description.inner_text()
    page.get_by_role("button", name="Next").click()
    page.get_by_text(re.compile(r"^Step t = 2 of")).wait_for()
    shoot(page, "step")
    page.get_by_role("button", name="Previous").click()
    page.get_by_text(re.compile(r"^Step t = 1 of")).wait_for()
    page.wait_for_function("() => new URL(location.href).searchParams.get('step') === '1'")
    page.get_by_role("button", name="Last").click()
    page.get_by_text(re.compile(rf"^Step t = {len(trace.steps) - 1} of")).wait_for()
    assert shown_step() == len(trace.steps) - 1


def test_switching_the_model(tab, app_url, zoo):
    models = list_models(zoo.path)

    def kind(n: str) -> tuple[str, str]:
        return models[n]["config"]["task"], models[n]["config"]["cell"]

    # Start from the default model when it has a sibling (same task and cell), else from any model that has one.
    starts = [subject(zoo), *sorted(models)]
    pairs = [(n, o) for n in starts for o in sorted(models) if o != n and kind(o) == kind(n)]
    assert pairs, "the zoo needs two models of one task and cell to switch between"
    name, target = pairs[0]
    page = tab.page
    text = inputs_for(zoo, name)[0]
    page.goto(url_for(app_url, model=name, text=text))
    page.wait_for_selector(".st-key-translate-heatmap .xtick text")
    page.locator(".st-key-attention [role='combobox']").click()
    label = picker.ATTENTION_LABELS[models[target]["config"]["attention"]]
    page.get_by_role("option", name=label).click()
    page.wait_for_function("m => new URL(location.href).searchParams.get('model') === m", arg=target)
    trace = expected(zoo, target, text)
    if trace.attention is None:
        page.get_by_text("This model has no attention").wait_for()
        page.wait_for_function("() => !document.querySelector('.st-key-translate-heatmap')")
    else:
        wait_ticks(page, "translate-heatmap", labels(trace.source_tokens), labels(trace.output_tokens))
    assert page.locator(".st-key-translate-output").first.inner_text().strip() == trace.output_text


def test_a_shared_url_lands_on_the_same_state(tab, app_url, zoo):
    page = tab.page
    name = subject(zoo)
    text = inputs_for(zoo, name, long=False)[-1]
    trace = expected(zoo, name, text)
    step = min(2, len(trace.steps) - 1)
    page.goto(url_for(app_url, "step", model=name, text=text, step=str(step)))
    page.get_by_text(re.compile(rf"^Step t = {step} of")).wait_for()
    page.wait_for_function("t => document.querySelector('.st-key-text input')?.value === t", arg=text)
    page.wait_for_function("() => new URL(location.href).searchParams.get('mode') === 'greedy'")  # URL rewritten
    assert query(page) == {"model": name, "text": text, "mode": "greedy", "step": str(step)}
    entry = list_models(zoo.path)[name]["config"]
    assert page.locator(".st-key-attention input").input_value() == picker.ATTENTION_LABELS[entry["attention"]]
    assert page.locator(".st-key-cell input").input_value() == picker.CELL_LABELS[entry["cell"]]
    wait_ticks(page, "step-heatmap", labels(trace.source_tokens, trace.unknown_source_tokens),
               labels(trace.output_tokens))  # fmt: skip
    # a translate link opens Translate itself (Streamlit's default page lives at "/"), and "/" forwards to it
    for path in ("translate", ""):
        page.goto(url_for(app_url, path, model=name, text=text, mode="beam", width="3"))
        page.wait_for_function("() => location.pathname.endsWith('/translate')")
        wait_ticks(page, "translate-heatmap", labels(trace.source_tokens, trace.unknown_source_tokens))
        page.wait_for_function("() => new URL(location.href).searchParams.get('width') === '3'")
        assert query(page)["mode"] == "beam" and query(page)["text"] == text
        assert page.get_by_text("Page not found").count() == 0
    # a teacher-forcing link keeps its reference
    reference = "".join(reversed(text)) if entry["level"] == "char" else text
    page.goto(url_for(app_url, "teacher-forcing", model=name, text=text, reference=reference))
    page.locator(".st-key-reference input").wait_for()
    assert page.locator(".st-key-reference input").input_value() == reference
    page.wait_for_selector(".st-key-tf-heatmap .xtick text")


def test_teacher_forcing_marks_the_divergence_and_forcing_continues_free_running(tab, app_url, zoo):
    page = tab.page
    name = subject(zoo)
    text = inputs_for(zoo, name)[1]
    model = load_model(name, directory=zoo.path)
    free = greedy(model, text)
    written = [t for t in free.output_tokens if t not in SPECIALS]
    assert len(written) >= 3
    # a reference that differs from what the model writes at step 2, so the two decodes must part there
    other = next(t for t, _ in free.steps[2].topk if t not in SPECIALS and t != written[2])
    gold = [*written[:2], other, *written[3:]]
    reference = detokenize(gold, list_models(zoo.path)[name]["config"]["level"])
    page.goto(url_for(app_url, "teacher-forcing", model=name, text=text, reference=reference))
    page.get_by_text("They diverge at step 2").wait_for()
    source = labels(free.source_tokens, free.unknown_source_tokens)
    wait_ticks(page, "tf-heatmap", source, labels([*gold, "<eos>"]))
    wait_ticks(page, "free-heatmap", source, labels(free.output_tokens))
    shoot(page, "teacher-forcing")
    # force the reference's token at step 2 and watch free-running continue from it
    at_step = page.locator(".st-key-force_at input")
    at_step.fill("2")
    at_step.press("Enter")
    typed = page.locator(".st-key-force_typed input")
    typed.fill(other)
    typed.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Force").click()
    forced = forced_prefix(model, text, [*free.output_tokens[:2], other])
    rows = zip(labels(forced.output_tokens), forced.steps, strict=True)
    marked = [label + (" ✎" if step.forced else "") for label, step in rows]
    wait_ticks(page, "forced-heatmap", source, marked)
    assert not tab.dialogs


@pytest.mark.parametrize(
    "markup",
    ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "<b>x</b> $$"],
    ids=["img-onerror", "script", "bold-and-dollars"],
)
def test_markup_typed_by_a_user_is_shown_as_text(tab, app_url, zoo, markup):
    page = tab.page
    name = subject(zoo)
    page.goto(url_for(app_url, model=name))
    page.wait_for_selector(".st-key-translate-heatmap .xtick text")
    type_input(page, markup)
    trace = expected(zoo, name, markup)
    wait_ticks(page, "translate-heatmap", labels(trace.source_tokens, trace.unknown_source_tokens))
    wait_idle(page)
    time.sleep(1.0)  # give any injected handler the chance to fire
    assert not tab.dialogs, tab.dialogs
    assert page.locator(".st-key-text input").input_value() == markup
    main = page.locator("[data-testid='stMain']")
    assert main.locator("img[src='x']").count() == 0
    assert main.locator("script:has-text('alert')").count() == 0
    assert main.locator("b:text-is('x')").count() == 0
    if trace.unknown_source_tokens:  # the note quotes the (first five distinct) unknown tokens exactly as typed
        note = main.locator("[data-testid='stAlert']").first.inner_text()
        unknown = list(dict.fromkeys(trace.source_tokens[i] for i in trace.unknown_source_tokens))
        for token in unknown[:5]:
            assert f"«{display_token(token)}»" in note
        if len(unknown) > 5:
            assert f"and {len(unknown) - 5} more" in note
        assert main.locator("[data-testid='stAlert'] .katex").count() == 0
    # and on the step page, whose sentence quotes the tokens read and written
    page.goto(url_for(app_url, "step", model=name, text=markup, step="0"))
    description = page.get_by_text(re.compile(r"^Step t = 0 of"))
    description.wait_for()
    assert f"«{display_token(trace.steps[0].output_token)}»" in description.inner_text()
    assert not tab.dialogs


def test_the_cells_page_draws_states_gates_and_trajectories(tab, app_url, zoo):
    """A few units' states and gates over the tokens, the keep gate per token, two PCA planes; all compact."""
    page = tab.page
    name = subject(zoo)
    text = inputs_for(zoo, name)[0]
    trace = expected(zoo, name, text)
    page.goto(url_for(app_url, "cells", model=name, text=text))
    wait_ticks(page, "cells-encoder-units", labels(trace.source_tokens, trace.unknown_source_tokens))
    wait_ticks(page, "cells-decoder-units", labels(trace.output_tokens))  # step 0's tick is bold, same text
    page.wait_for_selector(".st-key-cells-decoder-pca .js-plotly-plot")
    hidden = len(trace.encoder["states"][0])
    legend = page.locator(".st-key-cells-encoder-units .legendtext").all_text_contents()
    assert len(legend) == min(8, hidden)  # the k = 8 most variable units, one legend entry each
    if trace.model.get("bidirectional"):
        assert all(entry.endswith(("→", "←")) for entry in legend)  # each unit says which direction it reads
    for side in ("encoder", "decoder"):
        titles = page.locator(f".st-key-cells-{side}-pca .xtitle").all_text_contents()
        assert len(titles) == 1 and titles[0].startswith("PC1 (")  # each network in its own plane
    heights = page.evaluate(
        "() => [...document.querySelectorAll('[class*=st-key-cells-] .js-plotly-plot')]"
        ".map(e => e.getBoundingClientRect().height)"
    )
    assert heights and max(heights) < 800  # no 4,000 px barcode
    if trace.model.get("cell") in ("gru", "lstm"):
        page.wait_for_selector(".st-key-cells-decoder-keep .js-plotly-plot")
    assert page.get_by_text("different networks", exact=False).count() >= 1
    assert page.locator("[data-testid='stException']").count() == 0
    shoot(page, "cells")
    if len(trace.steps) > 1:  # moving t on Cells moves the shared step: Step through opens there
        page.locator(".st-key-cells_step_slider input[type=range]").press("ArrowRight")
        page.wait_for_function("() => document.body.innerText.includes('Step t = 1 reads')")
        page.get_by_role("link", name="Step through").click()
        page.wait_for_selector(".st-key-step_slider input[type=range]")
        page.wait_for_function("() => document.querySelector('.st-key-step_slider input[type=range]').value === '1'")


def test_the_models_page_compares_every_model_of_the_task(tab, app_url, zoo):
    page = tab.page
    name = subject(zoo)
    models = list_models(zoo.path)
    task = models[name]["config"]["task"]
    siblings = sorted(n for n, entry in models.items() if entry["config"]["task"] == task)
    page.goto(url_for(app_url, "models", model=name))
    wait_ticks(page, "models-grid", ["none", "dot", "general", "concat", "additive"], ["rnn", "gru", "lstm"])
    page.wait_for_selector(".st-key-models-by-length .legendtext")
    legend = page.locator(".st-key-models-by-length .legendtext").all_text_contents()
    cell = models[name]["config"]["cell"]
    assert legend == [n for n in siblings if models[n]["config"]["cell"] == cell]  # at first the sidebar's cell
    page.get_by_role("radio", name=f"every model ({len(siblings)})").click()  # a segmented control's option
    page.wait_for_function(
        "n => document.querySelectorAll('.st-key-models-by-length .legendtext').length === n", arg=len(siblings)
    )
    legend = page.locator(".st-key-models-by-length .legendtext").all_text_contents()
    assert legend == siblings  # then one line per model of the sidebar's task
    assert page.locator("[data-testid='stException']").count() == 0
    shoot(page, "models")


TICK_LAYOUT_JS = """selector => [...document.querySelectorAll(selector)].map(figure =>
    [...figure.querySelectorAll('.xtick text')].map(t => {
        const move = /translate\\(([-\\d.]+)/.exec(t.getAttribute('transform') || '');
        const turn = /rotate\\(([-\\d.]+)/.exec(t.getAttribute('transform') || '');
        const r = t.getBoundingClientRect();
        return [move ? parseFloat(move[1]) : 0, turn ? parseFloat(turn[1]) : 0,
                parseFloat(getComputedStyle(t).fontSize), r.left, r.right]; }))"""


def test_a_long_input_draws_no_label_over_another(projector, app_url, zoo):
    """At 1280×720 with the sidebar open, the long example's source labels on Translate, Step through (its
    narrow heatmap and the energies' bars) and Compare (two heatmaps to a row), as the browser lays them out: flat
    labels' boxes do not meet, and tilted or upright ones are a line of their type (1.15 em, tight line spacing)
    apart across their slant, so none is drawn over another: the plot each figure really gets is at least the
    width its labels were fitted to."""
    page = projector
    name = subject(zoo)
    task = list_models(zoo.path)[name]["config"]["task"]
    text = LONG_EXAMPLES.get(task, ("abcdefghijabcdefghij",))[0]
    for path, selector in (
        ("translate", ".st-key-translate-heatmap"),
        ("step", ".st-key-step-heatmap, .st-key-step-tensor-2"),
        ("compare", "[class*='st-key-compare-heatmap-']"),
    ):
        page.goto(url_for(app_url, path, model=name, text=text, step="3"))
        page.wait_for_selector(f"{selector.split(',')[0]} .xtick text")
        page.wait_for_timeout(500)  # plotly's relayout after the first draw
        figures = page.evaluate(TICK_LAYOUT_JS, selector)
        assert figures and all(len(ticks) >= 5 for ticks in figures), (path, figures)
        for ticks in figures:
            ticks.sort()
            for (here, angle, size, _, right), (there, _, _, left, _) in itertools.pairwise(ticks):
                if angle:
                    assert (there - here) * abs(math.sin(math.radians(angle))) >= 1.15 * size - 0.5, (path, ticks)
                else:
                    assert right <= left + 0.5, (path, ticks)
    assert page.locator("[data-testid='stException']").count() == 0
