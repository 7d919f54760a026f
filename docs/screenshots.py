"""Take the README's screenshots from a real server in Debian's Chromium: python docs/screenshots.py

Every page at 1400×900 (a student's laptop), and Step through in presentation mode at 1280×720 (a projector),
light and dark, plus predict-then-reveal. Writes docs/screenshots/*.png.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from classroom import start_server, stop_server  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
LAPTOP = {"width": 1400, "height": 900}
PROJECTOR = {"width": 1280, "height": 720}
MODEL, TEXT = "eng-fra-lstm-dot", "The weather is nice today."  # the model the app opens on
LONG_MODEL, LONG_TEXT = "eng-fra-lstm-dot", "I am cold. The weather is nice today. Where is the station? We are happy."

# name, viewport, theme, path and query, what to do after load (keys pressed, "click:<button>", "wait:<selector>"),
# what to wait for first
SHOTS = [
    ("translate", LAPTOP, "light", f"translate?model={MODEL}&text={quote(TEXT)}", [], ".st-key-translate-heatmap"),
    ("step", LAPTOP, "light", f"step?model={MODEL}&text={quote(TEXT)}&step=2", [], ".st-key-step-heatmap"),
    ("cells", LAPTOP, "light", f"cells?model={MODEL}&text={quote(TEXT)}&step=2", [],
     ".st-key-cells-decoder-units"),
    ("teacher-forcing", LAPTOP, "light", f"teacher-forcing?model={MODEL}", [], ".st-key-tf-heatmap"),
    ("beam", LAPTOP, "light", f"beam?model={MODEL}&text={quote('I am cold.')}", [], ".st-key-beam-tree"),
    ("compare", LAPTOP, "light", f"compare?model={MODEL}&text={quote(TEXT)}", [],
     ".st-key-compare-heatmap-2"),
    ("train", LAPTOP, "light", "train", ["click:Train", "wait:.st-key-live-use"], ".st-key-live-train"),
    ("attribution", LAPTOP, "light", f"attribution?model={MODEL}&text={quote(TEXT)}&step=1", [],
     ".st-key-attribution-matrix"),
    ("models", LAPTOP, "light", f"models?model={MODEL}", [], ".st-key-models-grid"),
    ("long", LAPTOP, "light", f"translate?model={LONG_MODEL}&text={quote(LONG_TEXT)}", [], ".st-key-translate-heatmap"),
    ("models-lengths", LAPTOP, "light", f"models?model={LONG_MODEL}", ["scroll:.st-key-models-by-length"],
     ".st-key-models-by-length"),
    ("presentation", PROJECTOR, "light", f"step?model={MODEL}&text={quote(TEXT)}&step=2&present=1",
     ["ArrowRight"] * 3, ".st-key-step-equation"),
    ("presentation-dark", PROJECTOR, "dark", f"step?model={MODEL}&text={quote(TEXT)}&step=2&present=1",
     ["ArrowRight"] * 6, ".st-key-step-equation"),
    ("predict-then-reveal", PROJECTOR, "light", f"step?model={MODEL}&text={quote(TEXT)}&step=3&reveal=0", [],
     ".st-key-guess"),
]  # fmt: skip


def main(names: list[str]) -> None:
    """Take every shot, or only those named (python docs/screenshots.py compare train)."""
    from playwright.sync_api import sync_playwright

    unknown = set(names) - {shot[0] for shot in SHOTS}
    if unknown:
        raise SystemExit(f"no shot called {', '.join(sorted(unknown))}; the shots are {', '.join(s[0] for s in SHOTS)}")
    OUT.mkdir(parents=True, exist_ok=True)
    process, url = start_server(0, Path(tempfile.mkdtemp()) / "streamlit.log")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for name, viewport, theme, path, keys, ready in SHOTS:
                if names and name not in names:
                    continue
                context = browser.new_context(viewport=viewport, color_scheme=theme)
                page = context.new_page()
                page.set_default_timeout(90_000)
                page.goto(f"{url}/{path}")
                page.wait_for_selector(f"{ready}")
                time.sleep(1.5)
                for key in keys:
                    if key.startswith("click:"):
                        page.get_by_role("button", name=key.removeprefix("click:")).first.click()
                    elif key.startswith("wait:"):
                        page.wait_for_selector(key.removeprefix("wait:"))
                    elif key.startswith("scroll:"):
                        page.locator(key.removeprefix("scroll:")).scroll_into_view_if_needed()
                    else:
                        page.keyboard.press(key)
                    time.sleep(0.6)
                time.sleep(1.5)  # plotly's transitions
                page.screenshot(path=str(OUT / f"{name}.png"))
                print(f"{name}.png")
                context.close()
            browser.close()
    finally:
        stop_server(process)


if __name__ == "__main__":
    main(sys.argv[1:])
