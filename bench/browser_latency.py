"""Browser latency of the lab, measured in Debian's Chromium against a real `streamlit run app.py`.

    python bench/browser_latency.py [--repeats 7] [--model NAME]

Prints JSON: median seconds from pressing Enter to the new heatmap (its tick labels changed to the new source
tokens), from clicking "Next" to the new step being shown, and the cold first paint of the Translate page (the
first load after the server started: imports, model load and first decode included). Targets on the 2-core
reference machine: ≤ 0.5 s, ≤ 0.5 s and ≤ 5 s. Figures, not asserts: these machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seq2seq_viz import greedy, list_models, load_model  # noqa: E402
from seq2seq_viz.registry import examples_for  # noqa: E402
from ui.state import default_model  # noqa: E402
from ui.text import UNKNOWN_MARK, display_token  # noqa: E402

CHROMIUM = os.environ.get("SEQ2SEQ_VIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
TICKS_EQUAL_JS = """([key, x]) => {
  const root = document.querySelector(`.st-key-${key}`);
  return !!root && JSON.stringify([...root.querySelectorAll('.xtick text')].map(t => t.textContent))
      === JSON.stringify(x);
}"""
STEP_SHOWN_JS = """t => [...document.querySelectorAll('[data-testid="stMarkdownContainer"] p')]
  .some(p => p.textContent.startsWith(`Step t = ${t} of`))"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
               "--browser.gatherUsageStats", "false"]  # fmt: skip
    log = log_path.open("w")
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"streamlit did not start:\n{log_path.read_text()[-2000:]}")


def labels(trace) -> list[str]:
    return [display_token(t) + (UNKNOWN_MARK if i in trace.unknown_source_tokens else "")
            for i, t in enumerate(trace.source_tokens)]  # fmt: skip


def fresh_inputs(name: str, count: int) -> list[str]:
    """Inputs the server has not decoded yet (a cache hit would flatter the figure)."""
    entry = list_models()[name]
    rng = random.Random(0)
    if entry["config"]["level"] == "char" and entry["config"]["task"] in ("reverse", "copy", "sort"):
        return [
            "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(5, 10))) for _ in range(count)
        ]
    pool = list(dict.fromkeys(examples_for(name)["inputs"] + [p["source"] for p in examples_for(name)["test_pairs"]]))
    return pool[1 : count + 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--model", default=None, help="model to measure (default: the app's default model)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    models = list_models()
    name = args.model or default_model(models)
    if models[name]["config"]["attention"] == "none":  # no heatmap to time: take the first model with attention
        name = next(n for n, entry in models.items() if entry["config"]["attention"] != "none")
    model = load_model(name)
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        server, url = start_server(results_dir / "streamlit.log")
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(120_000)
            # cold: the first page load after the server started
            start = time.perf_counter()
            page.goto(url)
            page.get_by_role("heading", name="Translate").wait_for()
            first_paint = time.perf_counter() - start
            page.wait_for_selector(".st-key-translate-heatmap .xtick text")
            first_heatmap = time.perf_counter() - start

            enter = []
            box = page.locator(".st-key-text input")
            for text in fresh_inputs(name, args.repeats):
                expected = labels(greedy(model, text))
                box.fill(text)
                start = time.perf_counter()
                box.press("Enter")
                page.wait_for_function(TICKS_EQUAL_JS, arg=["translate-heatmap", expected])
                enter.append(time.perf_counter() - start)

            page.goto(f"{url}/step?model={quote(name)}&text={quote(text)}&step=0")
            page.wait_for_function(STEP_SHOWN_JS, arg=0)
            steps = []
            last = len(greedy(model, text).steps) - 1
            for t in range(1, min(args.repeats, last) + 1):
                page.wait_for_timeout(300)  # let the previous run settle, as a person would between clicks
                start = time.perf_counter()
                page.get_by_role("button", name="Next").click()
                page.wait_for_function(STEP_SHOWN_JS, arg=t)
                steps.append(time.perf_counter() - start)
        finally:
            server.terminate()
            server.wait(timeout=10)
            browser.close()

    report = {
        "model": name,
        "enter_to_heatmap_s": round(statistics.median(enter), 3),
        "next_step_s": round(statistics.median(steps), 3),
        "first_paint_s": round(first_paint, 3),
        "first_heatmap_s": round(first_heatmap, 3),
        "runs": {"enter_to_heatmap_s": [round(x, 3) for x in enter], "next_step_s": [round(x, 3) for x in steps]},
        "cpus": os.cpu_count(),
    }
    (results_dir / "browser_latency.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
