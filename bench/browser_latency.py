"""Browser latency of the lab, measured in Debian's Chromium against a real `streamlit run app.py`.

    python bench/browser_latency.py [--repeats 7] [--model NAME] [--port P] [--serve N] [--mbps M]
                                    [--only first-visit]

Prints JSON: median seconds from pressing Enter to the new heatmap (its tick labels changed to the new source
tokens), from clicking "Next" to the new step being shown, the cold first paint of the Translate page (the
first load after the server started: imports, model load and first decode included), and the first visit on a
warm server: a new browser context (empty cache, new session) per repeat, page.goto(/translate) → the heatmap's
tick labels present (`first_visit_warm_s`, as Playwright sees it), with where that time goes (`first_visit`: bytes
per resource type, the plotly chunk's size, encoding and cache headers; the page's own timestamps of
DOMContentLoaded, the websocket's first message, the plotly chunk's arrival, each chart drawn; main-thread and CPU
seconds; and one extra, profiled visit's main-thread time by script). Targets on the 2-core reference machine:
≤ 0.5 s, ≤ 0.5 s, ≤ 5 s and ≤ 3 s. Figures, not asserts: these machines are noisy.

`--serve N` measures the lab as a class gets it from `python -m seq2seq_viz serve --workers N` (nginx in front);
by default it is a bare `streamlit run app.py`. `--mbps M` times the first visits again over a throttled link.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
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
from ui.picker import default_model  # noqa: E402
from ui.text import UNKNOWN_MARK, display_token  # noqa: E402

CHROMIUM = os.environ.get("SEQ2SEQ_VIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
TICKS_EQUAL_JS = """([key, x]) => {
  const root = document.querySelector(`.st-key-${key}`);
  return !!root && JSON.stringify([...root.querySelectorAll('.xtick text')].map(t => t.textContent))
      === JSON.stringify(x);
}"""
# Installed before the page's own scripts: timestamps (ms since navigation start) of the moments the first visit
# passes through, taken by the page itself so that Playwright's event delivery does not blur them.
MILESTONES_JS = """(() => {
  performance.setResourceTimingBufferSize(5000);
  const marks = window.__s2svMarks = {};
  const probes = {
    heading: '[data-testid="stHeading"]',
    output_code: '[data-testid="stCode"]',
    first_plotly_element: '[data-testid="stPlotlyChart"]',
    first_plotly_chart: '.js-plotly-plot .main-svg',
    heatmap: '.st-key-translate-heatmap .xtick text',
    probs: '.st-key-translate-probs .main-svg',
    alignment: '.st-key-translate-alignment .main-svg',
  };
  const check = () => {
    for (const [name, selector] of Object.entries(probes)) {
      if (!(name in marks) && document.querySelector(selector)) marks[name] = performance.now();
    }
    if (Object.keys(marks).length === Object.keys(probes).length) observer.disconnect();
  };
  const observer = new MutationObserver(check);
  observer.observe(document, {childList: true, subtree: true});
})()"""
FIRST_VISIT_ENTRIES_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const pick = e => ({name: e.name, initiator: e.initiatorType, start: e.startTime, end: e.responseEnd,
                      transfer: e.transferSize, encoded: e.encodedBodySize, decoded: e.decodedBodySize});
  return {origin: performance.timeOrigin, marks: window.__s2svMarks,
          dom_content_loaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd, document: pick(nav),
          resources: performance.getEntriesByType('resource').map(pick)};
}"""
ALL_CHARTS_DRAWN_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
  .every(chart => chart.querySelector('.main-svg'))"""
MAIN_THREAD_METRICS = {  # Chromium's Performance.getMetrics, seconds of main-thread time since the page opened
    "tasks": "TaskDuration",
    "script": "ScriptDuration",
    "layout": "LayoutDuration",
    "style": "RecalcStyleDuration",
}
STEP_SHOWN_JS = """t => [...document.querySelectorAll('[data-testid="stMarkdownContainer"] p')]
  .some(p => p.textContent.startsWith(`Step t = ${t} of`))"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(log_path: Path, port: int = 0, serve_workers: int = 0) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py`, or with serve_workers > 0 `python -m seq2seq_viz serve` (nginx on `port`, the
    workers on the ports after it)."""
    port = port or free_port()
    if serve_workers:
        command = [sys.executable, "-m", "seq2seq_viz", "serve", "--workers", str(serve_workers),
                   "--port", str(port), "--address", "127.0.0.1"]  # fmt: skip
        health = "/healthz"
    else:
        command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                   "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
                   "--browser.gatherUsageStats", "false"]  # fmt: skip
        health = "/_stcore/health"
    log = log_path.open("w")
    process = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=log, stderr=log, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}{health}", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.2)
    stop_server(process)
    raise SystemExit(f"the server did not start:\n{log_path.read_text()[-2000:]}")


def stop_server(process: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (serve stops nginx and its workers in order), SIGKILL after 20 s."""
    for signum, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _median(values: list[float], digits: int = 3) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), digits) if values else None


def process_tree_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by process `pid` and all its descendants (Linux /proc)."""
    ticks, children = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # a process that ended meanwhile
        child = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(child)
        ticks[child] = int(fields[11]) + int(fields[12])
    if pid not in ticks:
        return None
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += ticks.get(current, 0)
        todo.extend(children.get(current, []))
    return total / os.sysconf("SC_CLK_TCK")


def browser_cpu_s(browser_cdp) -> dict[int, float]:
    """CPU seconds so far of every Chromium process (browser, renderers, network, GPU), by process id."""
    return {info["id"]: info["cpuTime"] for info in browser_cdp.send("SystemInfo.getProcessInfo")["processInfo"]}


def first_visit_once(browser, url: str, server_pid: int | None = None, mbps: float | None = None) -> dict:
    """One fresh browser (new context: empty cache, no cookies, a new session) opening /translate on a warm server:
    seconds from page.goto to the heatmap's tick labels, and where that time went. CPU seconds (Chromium's
    processes, and the server's process tree when `server_pid` is given) are counted until every chart is drawn:
    on a busy machine they vary far less than the wall time. `mbps`: the browser's link throttled to that many
    Mbit/s each way with 20 ms of latency (Chromium's network emulation), as a student's share of a classroom's
    Wi-Fi, instead of loopback."""
    browser_cdp = browser.new_browser_cdp_session()
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(MILESTONES_JS)
    page = context.new_page()
    page.set_default_timeout(120_000)
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    if mbps:
        cdp.send("Network.enable")
        rate = mbps * 1e6 / 8  # bytes/s
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 20, "downloadThroughput": rate, "uploadThroughput": rate},
        )
    responses: dict[str, dict] = {}
    frames: list[tuple[float, int]] = []  # (epoch s, bytes) of every websocket message the page received

    def on_response(response) -> None:
        headers = response.headers
        responses[response.url] = {
            "type": response.request.resource_type,
            "encoding": headers.get("content-encoding"),
            "cache_control": headers.get("cache-control"),
            "content_length": headers.get("content-length"),
        }

    def on_websocket(ws) -> None:
        ws.on("framereceived", lambda payload: frames.append((time.time(), len(payload))))

    page.on("response", on_response)
    page.on("websocket", on_websocket)
    try:
        cpu_before = browser_cpu_s(browser_cdp)
        server_before = process_tree_cpu_s(server_pid) if server_pid else None
        start, start_epoch = time.perf_counter(), time.time()
        page.goto(f"{url}/translate")
        page.wait_for_selector(".st-key-translate-heatmap .xtick text")
        elapsed = time.perf_counter() - start
        page.wait_for_function(ALL_CHARTS_DRAWN_JS, timeout=30_000)  # for the marks of the charts after the heatmap
        data = page.evaluate(FIRST_VISIT_ENTRIES_JS)
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        cpu_after = browser_cpu_s(browser_cdp)
        server_after = process_tree_cpu_s(server_pid) if server_pid else None
    finally:
        context.close()
        browser_cdp.detach()
    browser_cpu = sum(cpu - cpu_before.get(pid, 0.0) for pid, cpu in cpu_after.items())
    server_cpu = server_after - server_before if server_before is not None and server_after is not None else None

    origin_s = data["origin"] / 1000  # navigation start, epoch seconds
    by_type: dict[str, dict[str, int]] = {}
    for entry in [data["document"], *data["resources"]]:
        kind = responses.get(entry["name"], {}).get("type") or entry["initiator"]
        totals = by_type.setdefault(kind, {"count": 0, "transfer_bytes": 0, "body_bytes": 0})
        totals["count"] += 1
        totals["transfer_bytes"] += entry["transfer"]
        totals["body_bytes"] += entry["decoded"]
    plotly = next((e for e in data["resources"] if "/PlotlyChart" in e["name"]), None)
    plotly_headers = responses.get(plotly["name"], {}) if plotly else {}

    def ms(x: float | None) -> float | None:  # page milliseconds → seconds
        return None if x is None else round(x / 1000, 3)

    return {
        "to_heatmap_s": round(elapsed, 3),
        "goto_to_navigation_start_s": round(origin_s - start_epoch, 3),
        "dom_content_loaded_s": ms(data["dom_content_loaded"]),
        "websocket_first_message_s": round(frames[0][0] - origin_s, 3) if frames else None,
        "websocket_messages": len(frames),
        "websocket_bytes": sum(size for _, size in frames),
        "heading_s": ms(data["marks"].get("heading")),
        "output_code_s": ms(data["marks"].get("output_code")),
        "first_plotly_element_s": ms(data["marks"].get("first_plotly_element")),
        "plotly_chunk_requested_s": ms(plotly["start"]) if plotly else None,
        "plotly_chunk_received_s": ms(plotly["end"]) if plotly else None,
        "first_plotly_chart_s": ms(data["marks"].get("first_plotly_chart")),
        "heatmap_s": ms(data["marks"].get("heatmap")),
        "probs_chart_s": ms(data["marks"].get("probs")),
        "alignment_chart_s": ms(data["marks"].get("alignment")),
        "plotly_chunk": {
            "transfer_bytes": plotly["transfer"] if plotly else None,
            "body_bytes": plotly["decoded"] if plotly else None,
            "content_encoding": plotly_headers.get("encoding"),
            "cache_control": plotly_headers.get("cache_control"),
        },
        "transfer_bytes_total": sum(t["transfer_bytes"] for t in by_type.values()),
        "by_type": dict(sorted(by_type.items())),
        "browser_cpu_s": round(browser_cpu, 3),
        "server_cpu_s": None if server_cpu is None else round(server_cpu, 3),
        "main_thread_s": {key: round(metrics.get(metric, 0.0), 3) for key, metric in MAIN_THREAD_METRICS.items()},
    }


def js_self_time_once(browser, url: str) -> dict[str, float]:
    """One more first visit under V8's sampling profiler (which slows it, so it is not among the timed ones):
    main-thread seconds from page.goto to the heatmap, by script file (the largest), garbage collection,
    V8/Blink's own work ("program") and waiting ("idle")."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(120_000)
    cdp = context.new_cdp_session(page)
    try:
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 1000})  # µs
        cdp.send("Profiler.start")
        page.goto(f"{url}/translate")
        page.wait_for_selector(".st-key-translate-heatmap .xtick text")
        profile = cdp.send("Profiler.stop")["profile"]
    finally:
        context.close()
    frames = {node["id"]: node["callFrame"] for node in profile["nodes"]}
    seconds: dict[str, float] = {}
    for sample, delta_us in zip(profile["samples"], profile["timeDeltas"], strict=True):
        frame = frames[sample]
        script = frame["url"].rsplit("/", 1)[-1].split("?")[0]
        key = script or {"(idle)": "idle", "(program)": "program", "(garbage collector)": "gc"}.get(
            frame["functionName"], "other"
        )
        seconds[key] = seconds.get(key, 0.0) + delta_us / 1e6
    named = {"idle", "program", "gc", "other"}
    scripts = sorted((k for k in seconds if k not in named), key=seconds.get, reverse=True)
    top = {k: round(seconds[k], 3) for k in scripts[:6]}
    top["other_scripts"] = round(sum(seconds[k] for k in scripts[6:]) + seconds.get("other", 0.0), 3)
    return {**top, **{k: round(seconds.get(k, 0.0), 3) for k in ("program", "gc", "idle")}}


def first_visit(browser, url: str, repeats: int, server_pid: int | None = None, mbps: float | None = None) -> dict:
    """first_visit_once `repeats` times: the median of every figure, and the raw seconds to the heatmap."""
    runs = [first_visit_once(browser, url, server_pid, mbps) for _ in range(repeats)]
    timing_keys = [k for k, v in runs[0].items() if k.endswith("_s") and not isinstance(v, dict)]
    summary = {key: _median([run[key] for run in runs]) for key in timing_keys}
    summary["main_thread_s"] = {k: _median([run["main_thread_s"][k] for run in runs]) for k in runs[0]["main_thread_s"]}
    last = runs[-1]  # sizes and headers do not change between repeats
    summary.update({key: last[key] for key in ("plotly_chunk", "transfer_bytes_total", "by_type",
                                                "websocket_messages", "websocket_bytes")})  # fmt: skip
    summary["runs_to_heatmap_s"] = [run["to_heatmap_s"] for run in runs]
    if not mbps:  # where the main thread's time goes does not depend on the link
        summary["profiled_main_thread_s"] = js_self_time_once(browser, url)
    summary["link"] = f"{mbps:g} Mbit/s, 20 ms" if mbps else "loopback"
    return summary


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


def enter_to_heatmap(page, model, name: str, repeats: int) -> list[float]:
    """Seconds from Enter in the text box to the heatmap's ticks showing the new source, for fresh inputs."""
    enter = []
    box = page.locator(".st-key-text input")
    for text in fresh_inputs(name, repeats):
        expected = labels(greedy(model, text))
        box.fill(text)
        start = time.perf_counter()
        box.press("Enter")
        page.wait_for_function(TICKS_EQUAL_JS, arg=["translate-heatmap", expected])
        enter.append(time.perf_counter() - start)
    return enter


def next_step(page, url: str, model, name: str, enter_text: str, repeats: int) -> list[float]:
    """Seconds from clicking Next on /step to the next step being shown."""
    page.goto(f"{url}/step?model={quote(name)}&text={quote(enter_text)}&step=0")
    page.wait_for_function(STEP_SHOWN_JS, arg=0)
    steps = []
    last = len(greedy(model, enter_text).steps) - 1
    for t in range(1, min(repeats, last) + 1):
        page.wait_for_timeout(300)  # let the previous run settle, as a person would between clicks
        start = time.perf_counter()
        page.get_by_role("button", name="Next").click()
        page.wait_for_function(STEP_SHOWN_JS, arg=t)
        steps.append(time.perf_counter() - start)
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--model", default=None, help="model to measure (default: the app's default model)")
    parser.add_argument("--port", type=int, default=0, help="the server's port (default: a free one)")
    parser.add_argument(
        "--serve",
        type=int,
        default=0,
        metavar="N",
        help="measure `python -m seq2seq_viz serve --workers N` (nginx) instead of streamlit run",
    )
    parser.add_argument(
        "--mbps",
        type=float,
        default=None,
        help="also time the first visits over a link throttled to this many Mbit/s (a share of a classroom's Wi-Fi)",
    )
    parser.add_argument(
        "--only",
        choices=("all", "first-visit"),
        default="all",
        help="first-visit: only the cold load and the first visits on the warm server",
    )
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
        server, url = start_server(results_dir / "streamlit.log", args.port, args.serve)
        enter, steps = [], []
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

            # first visit, warm server: every repeat a browser that has never seen the lab
            visits = first_visit(browser, url, args.repeats, server.pid)
            throttled = first_visit(browser, url, args.repeats, server.pid, args.mbps) if args.mbps else None
            if args.only == "all":
                enter = enter_to_heatmap(page, model, name, args.repeats)
                steps = next_step(page, url, model, name, enter_text=fresh_inputs(name, args.repeats)[-1],
                                  repeats=args.repeats)  # fmt: skip
        finally:
            stop_server(server)
            browser.close()

    report = {
        "model": name,
        "server": f"serve --workers {args.serve} (nginx)" if args.serve else "streamlit run app.py",
        "enter_to_heatmap_s": _median(enter),
        "next_step_s": _median(steps),
        "first_paint_s": round(first_paint, 3),
        "first_heatmap_s": round(first_heatmap, 3),
        "first_visit_warm_s": visits["to_heatmap_s"],
        "first_visit": visits,
        **(
            {"first_visit_throttled_s": throttled["to_heatmap_s"], "first_visit_throttled": throttled}
            if throttled
            else {}
        ),
        "runs": {"enter_to_heatmap_s": [round(x, 3) for x in enter], "next_step_s": [round(x, 3) for x in steps]},
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    (results_dir / "browser_latency.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
