"""A class on one server: N simulated students speaking Streamlit's own websocket protocol to a real server.

    python bench/classroom.py                      # N = 10, 30, 60, 100 against one `streamlit run app.py`
    python bench/classroom.py --students 60 --workers 2   # behind nginx: `python -m seq2seq_viz serve --workers 2`
    python bench/classroom.py --url http://127.0.0.1:8501 --students 30   # a server that is already running
    python bench/classroom.py --churn 500          # memory after 500 sessions opened and closed
    python bench/classroom.py --students 20 --abuser   # the class alone, then again beside one abusive session

Each student does what a student in class does, with think time between clicks: opens /translate, types a
sentence of their own and presses Enter (timed until the new heatmap arrives), goes to /step, and presses Next
three times (each timed until the step is shown). The client is a small websocket client of our own (the
`websockets` package): it sends BackMsg protobufs and reads ForwardMsg deltas, exactly as the browser does, so
the server does all of its real work (script run, figures, protobuf serialization) and the browser's work is
left out. Bounded: at most --students sessions, each with a fixed script, and a --deadline on the whole run.

A student whose socket drops mid-lesson (its worker died) does what the browser does: it reconnects, keeping its
cookies (behind nginx the route cookie then hashes it to a live worker), reruns the page it was on with its URL
query (the app keeps its whole view there), and goes on; only a reconnect that fails counts as a failure.

--abuser adds one session that sends maximal requests in a loop (every time a new input of 39 words and a full
stop, the longest the model reads, with beam search of the widest width, so every request misses the cache and
decodes for as long as the model allows), each sent as soon as the last was answered; the class runs once
without it and once beside it, and both are reported.

Prints JSON: per interaction type p50 / p95 / max seconds and count, failures, reconnects, server CPU-seconds
per interaction (every server process: Streamlit workers and nginx), the harness's own CPU-seconds, server RSS.
Figures, not asserts: these machines are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
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
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # as bench/run.py: the package from this checkout
from seq2seq_viz.limits import LIMITS  # noqa: E402  (torch-free: the ceilings the abuser runs up against)

MODEL = "eng-fra-gru-concat"
TEXT_KEY = "text"  # the sidebar's input (ui.state.TEXT)
NEXT_KEY = "step-next"  # Step through's Next button
HEATMAP_KEY = "translate-heatmap"
DONE = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}
SENTENCES = (  # students type their own sentences: mostly unseen by the server's trace cache
    "I am cold.", "I love learning.", "The weather is nice today.", "She is my friend.", "We are very happy.",
    "He is a good teacher.", "They are at home.", "I am not tired.", "You are right.", "It is too late.",
    "I like this book.", "We must go now.", "The cat is black.", "He is reading a book.", "I want to sleep.",
    "She is very tall.", "I am a student.", "They are watching television.", "This is my car.", "I am hungry.",
)  # fmt: skip
WORDS = ("very", "really", "now", "again", "today", "here", "too", "still")
WORKER_HEADER = "X-S2SV-Worker"  # set by `serve`'s nginx: the worker(s) it tried, the one that answered last
RECONNECT_TRIES = 3  # a browser retries too, then gives up and shows "connection error"
RECONNECT_WINDOW_S = 20.0


class Failure(Exception):
    """A student saw something wrong: an error on screen, a dropped connection, no answer in time."""


class ConnectionLost(Failure):
    """The websocket closed under a student (its worker died, or nginx stopped): the student reconnects."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Element:
    key: str
    widget_id: str
    fragment_id: str


@dataclass
class Student:
    """One browser tab: a websocket to the server, its cookies, the widgets it was last shown, the URL query."""

    base: str  # http://host:port
    timeout: float = 30.0
    ws: websockets.ClientConnection | None = None
    widgets: dict[str, Element] = field(default_factory=dict)  # user key -> widget
    query: str = ""
    page: str = "translate"
    cookies: dict[str, str] = field(default_factory=dict)  # the tab's cookie jar: kept across reconnects
    workers: list[str] = field(default_factory=list)  # the worker behind each socket it opened ("" without nginx)
    reconnects: int = 0
    strict: bool = True  # an error alert on screen is a Failure; False: it is kept in `alerts` (the abuser's refusals)
    alerts: list[str] = field(default_factory=list)

    @property
    def session_cookie(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    async def connect(self) -> None:
        """Like a browser: GET the page first, then open the socket, both with every cookie the tab holds.

        Behind `serve`, the first GET sets the sticky route cookie; sending it again on every connect is what
        keeps a student on one worker, and what moves it, as a whole, to a live worker when its worker died.
        """
        parts = urlsplit(self.base)
        self.cookies.update(await asyncio.to_thread(_get_cookies, f"{self.base}/{self.page}", self.session_cookie))
        headers = {"Origin": self.base}
        if self.cookies:
            headers["Cookie"] = self.session_cookie
        self.ws = await websockets.connect(
            f"ws://{parts.netloc}/_stcore/stream",
            subprotocols=["streamlit"],
            additional_headers=headers,
            max_size=64 * 2**20,
            open_timeout=self.timeout,
        )
        answered = self.ws.response.headers.get(WORKER_HEADER, "") if self.ws.response else ""
        self.workers.append(answered.rsplit(",", 1)[-1].strip())  # after a failover nginx lists each one it tried

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    async def reconnect(self, lost: ConnectionLost) -> None:
        """A new socket after the old one dropped: RECONNECT_TRIES tries within RECONNECT_WINDOW_S, or Failure."""
        if self.ws is not None:
            with contextlib.suppress(OSError, websockets.WebSocketException):
                await self.ws.close()
            self.ws = None
        deadline = time.perf_counter() + RECONNECT_WINDOW_S
        problem: Exception = lost
        for attempt in range(RECONNECT_TRIES):
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self.connect(), remaining)
                self.reconnects += 1
                return
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                problem = exc
                await asyncio.sleep(min(0.5 * 2**attempt, max(deadline - time.perf_counter(), 0)))
        raise Failure(f"{lost}, and reconnecting failed: {str(problem) or type(problem).__name__}")

    async def rerun(
        self, page: str | None = None, widget: WidgetState | None = None, fragment_id: str = "", until=None
    ) -> tuple[float, float]:
        """Send one rerun; return (seconds until `until(delta)` first held, seconds until the run finished).

        If the socket drops, reconnect and first rerun the current page with the current query, as the browser
        does; that restores the view on the new worker. Then the interaction is sent again, unless it was a page
        change (the restore was that), or a click whose effect the restore already shows (the lost run had got
        as far as updating the URL: a second click would go one step too far). Times count from the first send.
        """
        if page is not None:
            self.page = page
        started = time.perf_counter()
        restoring = False
        while True:
            try:
                if restoring:
                    seen, finished = await self._exchange(None, "", until, started)
                    if seen is not None and (widget is None or widget.trigger_value):
                        return seen, finished
                seen, finished = await self._exchange(widget, fragment_id, until, started)
                if seen is None:
                    raise Failure("the run finished without showing what was asked for")
                return seen, finished
            except ConnectionLost as lost:
                if self.reconnects >= RECONNECT_TRIES * 2:  # bounded, even if every new socket drops again
                    raise
                await self.reconnect(lost)
                restoring = True

    async def _exchange(
        self, widget: WidgetState | None, fragment_id: str, until, started: float
    ) -> tuple[float | None, float]:
        """One rerun message and its answer: (seconds until `until` held or None, seconds until it finished)."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query
        state.page_name = self.page
        if widget is not None:
            state.widget_states.widgets.append(widget)
        if fragment_id:
            state.fragment_id = fragment_id
        try:
            await self.ws.send(msg.SerializeToString())
        except websockets.ConnectionClosed as exc:
            raise ConnectionLost(f"connection closed ({_close_code(exc)})") from exc
        seen = None if until is not None else 0.0
        deadline = time.perf_counter() + self.timeout
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise Failure("no answer in time")
            try:
                raw = await asyncio.wait_for(self.ws.recv(), remaining)
            except TimeoutError as exc:
                raise Failure("no answer in time") from exc
            except websockets.ConnectionClosed as exc:
                raise ConnectionLost(f"connection closed ({_close_code(exc)})") from exc
            forward = ForwardMsg()
            forward.ParseFromString(raw)
            kind = forward.WhichOneof("type")
            if kind == "delta":
                self._read_delta(forward)
                if seen is None and until(forward.delta):
                    seen = time.perf_counter() - started
            elif kind == "page_info_changed":
                self.query = forward.page_info_changed.query_string
            elif kind == "script_finished":
                if forward.script_finished in DONE:
                    return seen, time.perf_counter() - started
                if forward.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    raise Failure("the script failed to compile")

    def _read_delta(self, forward: ForwardMsg) -> None:
        delta = forward.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            raise Failure(f"a traceback on screen: {element.exception.message[:200]}")
        if kind == "alert" and element.alert.format == element.alert.ERROR:
            if self.strict:
                raise Failure(f"an error on screen: {element.alert.body[:200]}")
            self.alerts.append(element.alert.body)
        proto = getattr(element, kind, None)
        widget_id = getattr(proto, "id", "") if proto is not None else ""
        if widget_id.startswith("$$ID-") and widget_id.count("-") >= 2:
            key = widget_id.split("-", 2)[2]  # $$ID-<hash>-<the widget's key>
            self.widgets[key] = Element(key, widget_id, delta.fragment_id)


def _close_code(closed: websockets.ConnectionClosed) -> int:
    frame = closed.rcvd or closed.sent
    return frame.code if frame else 1006  # no close frame at all: the connection just dropped


def _get_cookies(url: str, cookie: str) -> dict[str, str]:
    """GET url sending `cookie`; the cookies the response sets, name -> value."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        set_cookies = response.headers.get_all("Set-Cookie") or []
    pairs = (c.split(";", 1)[0].split("=", 1) for c in set_cookies)
    return {name.strip(): value.strip() for name, value in (p for p in pairs if len(p) == 2)}


def heatmap_shown(delta) -> bool:
    element = delta.new_element
    return element.WhichOneof("type") == "plotly_chart" and '"type":"heatmap"' in element.plotly_chart.spec


def step_shown(t: int):
    def shown(delta) -> bool:
        element = delta.new_element
        if element.WhichOneof("type") != "markdown":
            return False
        return element.markdown.body.replace("\\", "").startswith(f"Step t = {t} of")  # the app escapes markdown

    return shown


def anything(delta) -> bool:
    return True


def heatmap_or_error(delta) -> bool:
    element = delta.new_element
    is_error = element.WhichOneof("type") == "alert" and element.alert.format == element.alert.ERROR
    return is_error or heatmap_shown(delta)


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    interactions: int = 0
    reconnects: int = 0  # sockets reopened after one dropped mid-lesson (a worker died), all students together
    workers: dict[int, list[str]] = field(default_factory=dict)  # student -> the worker behind each of its sockets

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        self.interactions += 1


def sentence_of(number: int, rng: random.Random, variant: int = 0) -> str:
    """Student `number`'s sentence: a lesson sentence, with a word inserted at a random place for every student
    past the first 20, and one more for every student of a class of another `variant`, so that the students of
    one run (each class its own variant) mostly miss the trace cache, as a class typing its own sentences does."""
    words = SENTENCES[number % len(SENTENCES)].rstrip(".").split()
    extra = [WORDS[(number // len(SENTENCES) - 1) % len(WORDS)]] if number >= len(SENTENCES) else []
    if variant:
        extra.append(WORDS[(variant - 1) % len(WORDS)])
    for word in extra:
        words.insert(rng.randrange(1, len(words) + 1), word)
    return " ".join(words) + "."


async def student_lesson(
    number: int,
    base: str,
    results: Results,
    think: tuple[float, float],
    rng: random.Random,
    timeout: float,
    variant: int = 0,
) -> None:
    """One student's lesson; any failure is recorded and ends that student's lesson (as a reload would)."""
    sentence = sentence_of(number, rng, variant)
    student = Student(base, timeout=timeout, query=urlencode({"model": MODEL}))
    results.workers[number] = student.workers  # the same list: it grows as the student reconnects

    async def pause() -> None:
        await asyncio.sleep(rng.uniform(*think))

    try:
        await student.connect()
        seen, _ = await student.rerun("translate", until=heatmap_shown)
        results.add("open_translate", seen)
        await pause()
        text = student.widgets.get(TEXT_KEY)
        if text is None:
            raise Failure("the input box was not drawn")
        typed = WidgetState(id=text.widget_id, string_value=sentence)
        seen, _ = await student.rerun(widget=typed, until=heatmap_shown)
        results.add("enter_heatmap", seen)
        await pause()
        seen, _ = await student.rerun("step", until=step_shown(0))
        results.add("open_step", seen)
        for t in range(1, 4):
            await pause()
            button = student.widgets.get(NEXT_KEY)
            if button is None:
                raise Failure("the Next button was not drawn")
            click = WidgetState(id=button.widget_id, trigger_value=True)
            seen, _ = await student.rerun(widget=click, fragment_id=button.fragment_id, until=step_shown(t))
            results.add("next_step", seen)
    except (Failure, OSError, websockets.WebSocketException) as exc:
        results.failures.append(f"student {number}: {exc}")
    finally:
        results.reconnects += student.reconnects
        await student.close()


async def run_class(
    base: str,
    students: int,
    think: tuple[float, float],
    ramp_s: float,
    deadline_s: float,
    seed: int = 0,
    results: Results | None = None,
) -> Results:
    """The class; pass `results` to watch it fill while the class runs (a test that kills a worker mid-lesson).

    `seed` also picks the sentences' variant, so classes with different seeds type different sentences."""
    results = Results() if results is None else results
    rng = random.Random(seed)

    async def one(number: int) -> None:
        await asyncio.sleep(ramp_s * number / max(students, 1))  # students arrive over ramp_s seconds
        lesson_rng = random.Random(rng.random())
        await student_lesson(number, base, results, think, lesson_rng, timeout=deadline_s, variant=seed)

    tasks = [asyncio.create_task(one(n)) for n in range(students)]
    _, pending = await asyncio.wait(tasks, timeout=deadline_s)
    for task in pending:
        task.cancel()
        results.failures.append("a student was still waiting at the deadline")
    await asyncio.gather(*pending, return_exceptions=True)
    return results


async def churn(base: str, sessions: int, concurrent: int = 10) -> None:
    """Open and close `sessions` sessions (each loads /translate once), `concurrent` at a time."""
    gate = asyncio.Semaphore(concurrent)

    async def one(number: int) -> None:
        async with gate:
            student = Student(base, query=urlencode({"model": MODEL, "text": SENTENCES[number % len(SENTENCES)]}))
            try:
                await student.connect()
                await student.rerun("translate", until=heatmap_shown)
            finally:
                await student.close()

    await asyncio.gather(*(one(n) for n in range(sessions)))


@dataclass
class Abuse:
    """What the abusive session sent and what it got back."""

    sent: int = 0
    decoded: int = 0  # answered with a heatmap
    refused: int = 0  # answered with one sentence (over a ceiling, out of budget, or still busy)
    refusals: list[str] = field(default_factory=list)  # the distinct sentences it was shown
    seconds: list[float] = field(default_factory=list)  # send -> answer, each request

    def report(self) -> dict:
        return {
            "sent": self.sent,
            "decoded": self.decoded,
            "refused": self.refused,
            "refusals": self.refusals[:3],
            "p50_answer_s": round(statistics.median(self.seconds), 3) if self.seconds else None,
        }


def maximal_text(rng: random.Random, words: int = 39) -> str:
    """The most the default model reads (40 tokens: 39 words and a full stop), drawn anew so it is never cached."""
    vocabulary = sorted({w.strip(".").lower() for sentence in SENTENCES for w in sentence.split()} | set(WORDS))
    return " ".join(rng.choice(vocabulary) for _ in range(words)) + "."


async def abuser(base: str, stop: asyncio.Event, abuse: Abuse, seed: int = 0, timeout: float = 60.0) -> None:
    """One session sending maximal requests in a loop until `stop` is set (one at a time, each as soon as answered)."""
    rng = random.Random(seed)
    query = urlencode({"model": MODEL, "mode": "beam", "width": LIMITS.beam_width})
    student = Student(base, timeout=timeout, query=query, strict=False)
    await student.connect()
    try:
        await student.rerun("translate", until=anything)
        text = student.widgets[TEXT_KEY]
        while not stop.is_set():
            student.alerts.clear()
            typed = WidgetState(id=text.widget_id, string_value=maximal_text(rng))
            abuse.sent += 1
            seen, _ = await student.rerun(widget=typed, until=heatmap_or_error)
            abuse.seconds.append(seen)
            if student.alerts:
                abuse.refused += 1
                abuse.refusals.extend(a for a in student.alerts if a not in abuse.refusals)
            else:
                abuse.decoded += 1
    finally:
        await student.close()


def run_sync(coroutine):
    """asyncio.run, also from a thread whose event loop is already running (Playwright's sync API keeps one
    running in the test process once a browser test has run): then on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


# ---- the server under test ----


def process_tree(root: int) -> list[int]:
    """root and all its descendants (Streamlit workers and nginx under `serve`)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(pids: Iterable[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / ticks


def rss_mb(pids: Iterable[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return round(total / 1024, 1)


def wait_healthy(url: str, process: subprocess.Popen | None, log: Path | None = None, timeout: float = 120) -> None:
    """Until url's /_stcore/health answers; RuntimeError (with the log's tail) if the server exits or is late."""

    def tail() -> str:
        return f":\n{log.read_text(errors='replace')[-3000:]}" if log is not None and log.exists() else ""

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}{tail()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer /_stcore/health within {timeout:.0f} s{tail()}")


def start_server(workers: int, log: Path, extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """One `streamlit run app.py` (workers 0) or `python -m seq2seq_viz serve --workers N` on a free port."""
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(extra_env or {})}
    if workers:
        command = [sys.executable, "-m", "seq2seq_viz", "serve", "--workers", str(workers), "--port", str(port)]
    else:
        command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                   "--server.address", "127.0.0.1", "--server.port", str(port),
                   "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]  # fmt: skip
    handle = log.open("w")
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log)
    except BaseException:
        stop_server(process)
        raise
    return process, url


def stop_server(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(results: Results, server_cpu: float, harness_cpu: float, wall: float, rss: float) -> dict:
    kinds = {
        kind: {
            "count": len(values),
            "p50_s": round(statistics.median(values), 3),
            "p95_s": round(percentile(values, 0.95), 3),
            "max_s": round(max(values), 3),
        }
        for kind, values in sorted(results.latencies.items())
    }
    return {
        "interactions": results.interactions,
        "latency": kinds,
        "failures": len(results.failures),
        "failure_examples": results.failures[:5],
        "reconnects": results.reconnects,
        "server_cpu_s_per_interaction": round(server_cpu / max(results.interactions, 1), 4),
        "server_cpu_s": round(server_cpu, 2),
        "harness_cpu_s": round(harness_cpu, 2),
        "wall_s": round(wall, 1),
        "server_rss_mb": rss,
    }


def measure(
    url: str,
    pids_of,
    students: int,
    think: tuple[float, float],
    ramp_s: float,
    deadline_s: float,
    with_abuser: bool = False,
    seed: int = 0,
) -> dict:
    """One class of `students`; with_abuser: one abusive session loops maximal requests for the whole class."""
    pids = pids_of()
    cpu_before, harness_before = cpu_seconds(pids), time.process_time()
    started = time.perf_counter()
    abuse = Abuse()

    async def lesson() -> Results:
        if not with_abuser:
            return await run_class(url, students, think, ramp_s, deadline_s, seed)
        stop = asyncio.Event()
        loop = asyncio.create_task(abuser(url, stop, abuse))
        await asyncio.sleep(1.0)  # already abusing when the first student arrives
        try:
            return await run_class(url, students, think, ramp_s, deadline_s, seed)
        finally:
            stop.set()
            await asyncio.wait_for(loop, deadline_s)

    results = run_sync(lesson())
    wall = time.perf_counter() - started
    pids = pids_of()
    report = {
        "students": students,
        **summary(results, cpu_seconds(pids) - cpu_before, time.process_time() - harness_before, wall, rss_mb(pids)),
    }
    if with_abuser:
        report["abuser"] = abuse.report()
    return report


def warm_up(url: str) -> None:
    """One student first, so that imports and the model load are not billed to the class."""
    run_sync(run_class(url, 1, (0.0, 0.0), 0.0, 120.0, seed=99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, nargs="+", default=[10, 30, 60, 100])
    parser.add_argument("--workers", type=int, default=0, help="0: one `streamlit run`; N: `seq2seq_viz serve`")
    parser.add_argument("--url", help="measure a server that is already running (CPU and RSS then not measured)")
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 5.0), help="seconds between clicks")
    parser.add_argument("--ramp", type=float, default=10.0, help="students arrive over this many seconds")
    parser.add_argument("--deadline", type=float, default=180.0, help="seconds one class may take at most")
    parser.add_argument("--churn", type=int, default=0, help="also open and close this many sessions")
    parser.add_argument(
        "--abuser", action="store_true", help="each class again beside one session looping maximal requests"
    )
    args = parser.parse_args()
    if any(not 1 <= n <= 200 for n in args.students):
        raise SystemExit("--students takes 1 to 200 students (the harness bounds its own load)")

    process = None
    if args.url:
        url, pids_of = args.url.rstrip("/"), list
    else:
        log = ROOT / "bench" / "results"
        log.mkdir(parents=True, exist_ok=True)
        try:
            process, url = start_server(args.workers, log / "classroom-server.log")
        except RuntimeError as exc:
            raise SystemExit(str(exc)) from None
        pids_of = lambda: process_tree(process.pid)
    try:
        warm_up(url)
        report = {"workers": args.workers or 1, "think_s": list(args.think), "classes": []}
        for n in args.students:
            for with_abuser in (False, True) if args.abuser else (False,):
                seed = len(report["classes"]) + 1  # each class types sentences of its own (warm_up used 99)
                figures = measure(url, pids_of, n, tuple(args.think), args.ramp, args.deadline, with_abuser, seed)
                report["classes"].append(figures)
                print(json.dumps(figures), file=sys.stderr, flush=True)
        if args.churn:
            report["churn"] = churn_memory(url, pids_of, args.churn)
        print(json.dumps(report, indent=1))
    finally:
        if process is not None:
            stop_server(process)


def churn_memory(url: str, pids_of, sessions: int) -> dict:
    """RSS after the first 10 sessions and after `sessions`, each opened and closed."""
    run_sync(churn(url, 10))
    first = rss_mb(pids_of())
    run_sync(churn(url, sessions - 10))
    time.sleep(2)
    last = rss_mb(pids_of())
    return {
        "sessions": sessions,
        "rss_after_10_mb": first,
        "rss_after_all_mb": last,
        "growth": round(last / first - 1, 3),
    }


if __name__ == "__main__":
    main()
