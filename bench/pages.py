"""What each page costs the server: CPU-seconds and latency per interaction, page by page, on one real server.

    python bench/pages.py                         # 5 students, every page, against one `streamlit run app.py`
    python bench/pages.py --students 3 --pages step compare train --deadline 120

Students speak Streamlit's own websocket protocol (bench/classroom.py's client, imported, not copied), one at a
time, on the bundled models. For each page a student opens a link to it with a sentence of their own (a new
session: `open`, a trace-cache miss), types another new sentence on it (`new_sentence`, a miss without the
session's start), then does the page's cheap interactions:

    translate        -
    step             next (×3, the stepper's fragment)
    cells            step_slider (×3, the cells fragment)
    teacher-forcing  - (the link carries a reference, so the page decodes teacher-forced and free-running)
    beam             width_new (×2, a width not decoded yet), width_back (×1, back to a cached width)
    compare          count_up (3 → 4 models), count_down (4 → 3), picker (column 1's attention)
    attribution      (open and new_sentence attribute by integrated gradients) method (occlusion), step_slider (×2)
    models           metric (×2; the page decodes nothing, so no new_sentence)
    train            settings (hidden 32, then 200 steps), start (Train), poll (the progress fragment's
                     auto-reruns, every 0.5 s as the browser sends them), finished (the last poll: the fragment's
                     st.rerun, the replay and the model's buttons)

Students run one after another, so each interaction's server CPU is exact: the Streamlit server process's own
utime+stime read just before the send and just after the run finished (clock ticks: 10 ms, so read the means,
not single runs). Child processes (Train live's `python -m seq2seq_viz.live`) are counted apart: their CPU while
alive, plus what the server reaped (cutime+cstime). Per page also the whole phase: wall time, server CPU in and
outside interactions (Train: the server's thread reading the child's events), children CPU.

Prints one JSON document and writes it to bench/results/pages.json. Figures, not asserts: these machines are
noisy. Loopback only; bounded: --students (1-10) sessions a page, a --deadline on the measured part.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/classroom.py, also when imported by a test
import classroom
from classroom import MODEL, NEXT_KEY, SENTENCES, TEXT_KEY, WORDS, BackMsg, ForwardMsg, WidgetState

ROOT = classroom.ROOT
PAGES = ("translate", "step", "cells", "teacher-forcing", "beam", "compare", "attribution", "models", "train")
REFERENCE = "Je suis content."  # Teacher forcing's link: a reference, so that the page decodes both ways
SETTLE_S = 0.05  # after a run finished, before its CPU is read (the last messages leave the server)
THINK_S = (0.2, 0.5)  # between one student's clicks
TRAIN = {"hidden": 32, "steps": 200}  # a short live training
POLL_LIMIT_S = 90.0  # the most one student polls a training (LIMITS.live_seconds_max is 120)
CELLS_STEP_KEY = "cells_step_slider"
BEAM_WIDTH_KEY = "beam_page_width"
COMPARE_COUNT_KEY = "compare_count"
METRIC_KEY = "zoo_metric"
ATTRIBUTION_METHOD_KEY = "attribution_method"
ATTRIBUTION_STEP_KEY = "attribution_step_slider"


def fresh_sentence(number: int, slot: int) -> str:
    """Student `number`'s sentence for `slot` (page × open or typed): SENTENCES[number] with one word of WORDS
    inserted after its first word (slot mod 8), and from slot 8 on a second one before its last word, so that no
    two (number mod 20, slot < 72) share a sentence: every one misses the server's trace cache."""
    words = SENTENCES[number % len(SENTENCES)].rstrip(".").split()
    words.insert(1, WORDS[slot % len(WORDS)])
    if slot >= len(WORDS):
        words.insert(len(words) - 1, WORDS[(slot // len(WORDS) - 1) % len(WORDS)])
    return " ".join(words) + "."


# ---- CPU of the server and of its children ----


def _stat(pid: int) -> tuple[float, float] | None:
    """(utime+stime, cutime+cstime) of pid in seconds, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks, (int(fields[13]) + int(fields[14])) / ticks


def split_cpu(own: tuple[float, float] | None, descendants: list[tuple[float, float] | None]) -> tuple[float, float]:
    """(the server's own CPU, its children's): a child's CPU is its own and its reaped children's while it lives
    (a zombie included), and moves into the server's cutime+cstime once the server reaps it, so the sum stays
    monotone and counts nothing twice."""
    server, reaped = own or (0.0, 0.0)
    return server, reaped + sum(a + b for a, b in filter(None, descendants))


@dataclass
class Meter:
    pid: int

    def read(self) -> tuple[float, float]:
        return split_cpu(_stat(self.pid), [_stat(p) for p in self.children()])

    def children(self) -> list[int]:
        return [p for p in classroom.process_tree(self.pid) if p != self.pid]


# ---- the student: classroom's, plus what the harness must see of the page ----


def current_state(proto, held: WidgetState | None = None) -> WidgetState | None:
    """What a browser holds for a widget the server just drew, and sends back on every rerun: the value the
    server set (set_value), else the one it held already (`held`: drawn or sent before), else the widget's
    default. None: nothing to send (a button, a chart, an empty box)."""
    override = getattr(proto, "set_value", False)
    if held is not None and not override:
        return held
    kind = type(proto).__name__
    state = WidgetState(id=proto.id)
    if kind in ("Selectbox", "Radio"):
        if override and proto.HasField("raw_value"):
            state.string_value = proto.raw_value
        elif proto.HasField("default") and 0 <= proto.default < len(proto.options):
            state.string_value = proto.options[proto.default]
        else:
            return None
    elif kind in ("TextInput", "NumberInput"):
        field_name = "value" if override and proto.HasField("value") else "default"
        if not proto.HasField(field_name):
            return None
        setattr(state, "string_value" if kind == "TextInput" else "double_value", getattr(proto, field_name))
    elif kind == "Checkbox":
        state.bool_value = proto.value if override else proto.default
    elif kind == "Slider":
        values = list(proto.value) if override and proto.value else list(proto.default)
        if proto.options:  # a select_slider: its formatted options
            chosen = list(proto.raw_value) if override and proto.raw_value else [proto.options[int(v)] for v in values]
            state.string_array_value.data.extend(chosen)
        else:
            state.double_array_value.data.extend(values)
    elif kind == "MultiSelect":
        chosen = list(proto.raw_values) if override else [proto.options[i] for i in proto.default]
        state.string_array_value.data.extend(chosen)
    elif kind == "ButtonGroup":
        chosen = list(proto.raw_values) if override else [proto.options[i].content for i in proto.default]
        state.string_array_value.data.extend(chosen)
    else:
        return None
    return state


class _Tap:
    """The student's websocket, seen through. Every ForwardMsg received is shown to the student too. Every rerun
    sent carries, as a browser's does, the state of every widget the student was shown, the interaction's own
    replacing its widget's (classroom's client sends only the interaction's: then a callback that reads another
    widget's key finds none, as Train's does); and the next send can be marked an auto-rerun (what the browser
    sends for st.fragment(run_every=...)). It carries the page's script hash too, as the browser's does: a rerun
    the script asks for (st.rerun() in Train's polling fragment) runs the page of the last message's hash."""

    def __init__(self, ws, student: PageStudent) -> None:
        self._ws, self._student = ws, student

    def __getattr__(self, name: str):
        return getattr(self._ws, name)

    async def send(self, data: bytes) -> None:
        msg = BackMsg()
        msg.ParseFromString(data)
        rerun = msg.rerun_script
        states = dict(self._student.states)
        for state in rerun.widget_states.widgets:
            states[state.id] = state
            if state.WhichOneof("value") not in ("trigger_value", "string_trigger_value", "json_trigger_value"):
                self._student.states[state.id] = state  # the browser holds what it sent
        del rerun.widget_states.widgets[:]
        rerun.widget_states.widgets.extend(states.values())
        if rerun.page_name == self._student.page and self._student.page_script_hash:
            rerun.page_script_hash = self._student.page_script_hash  # or an st.rerun() lands on the default page
        if self._student.auto_next:
            rerun.is_auto_rerun = True
        await self._ws.send(msg.SerializeToString())

    async def recv(self):
        raw = await self._ws.recv()
        self._student.observe(raw)
        return raw


@dataclass
class PageStudent(classroom.Student):
    auto_next: bool = False
    timers: dict[str, float] = field(default_factory=dict)  # fragment id -> run_every seconds
    protos: dict[str, object] = field(default_factory=dict)  # widget key -> its element's proto (options, range)
    states: dict[str, WidgetState] = field(default_factory=dict)  # widget id -> its value, as last drawn
    page_script_hash: str = ""  # of the page the last full run ran
    first_chart: float | None = None  # perf_counter of the first chart of the current run

    async def connect(self) -> None:
        await super().connect()
        self.ws = _Tap(self.ws, self)

    def observe(self, raw: bytes) -> None:
        forward = ForwardMsg()
        forward.ParseFromString(raw)
        kind = forward.WhichOneof("type")
        if kind == "navigation" and forward.navigation.page_script_hash:  # st.navigation's page of this run
            self.page_script_hash = forward.navigation.page_script_hash
        elif kind == "auto_rerun":
            self.timers[forward.auto_rerun.fragment_id] = forward.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            for fragment_id in forward.stop_auto_rerun.fragment_ids:
                self.timers.pop(fragment_id, None)
        elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
            element = forward.delta.new_element
            which = element.WhichOneof("type")
            if which == "plotly_chart" and self.first_chart is None:
                self.first_chart = time.perf_counter()
            proto = getattr(element, which, None)
            widget_id = getattr(proto, "id", "") if proto is not None else ""
            if widget_id.startswith("$$ID-") and widget_id.count("-") >= 2:
                self.protos[widget_id.split("-", 2)[2]] = proto
            state = current_state(proto, self.states.get(widget_id)) if widget_id else None
            if state is not None:
                self.states[widget_id] = state

    def widget(self, key: str) -> classroom.Element:
        found = self.widgets.get(key)
        if found is None:
            raise classroom.Failure(f"the widget {key!r} was not drawn")
        return found

    def param(self, name: str) -> str:
        return parse_qs(self.query).get(name, [""])[0]


# ---- records ----


@dataclass
class Record:
    seconds: float  # send -> the run finished
    first_chart: float | None  # send -> its first chart arrived
    server_cpu: float
    children_cpu: float


@dataclass
class Page:
    name: str
    records: dict[str, list[Record]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    phase: dict = field(default_factory=dict)
    trainings: list[dict] = field(default_factory=list)


def describe(records: list[Record]) -> dict:
    seconds = [r.seconds for r in records]
    charts = [r.first_chart for r in records if r.first_chart is not None]
    out = {
        "count": len(records),
        "p50_s": round(statistics.median(seconds), 3),
        "p95_s": round(classroom.percentile(seconds, 0.95), 3),
        "max_s": round(max(seconds), 3),
        "server_cpu_s_per_interaction": round(statistics.fmean(r.server_cpu for r in records), 4),
        "server_cpu_s_max": round(max(r.server_cpu for r in records), 3),
        "children_cpu_s_per_interaction": round(statistics.fmean(r.children_cpu for r in records), 4),
    }
    if charts:
        out["first_chart_p50_s"] = round(statistics.median(charts), 3)
    return out


def page_report(page: Page) -> dict:
    report = {
        "interactions": {kind: describe(records) for kind, records in page.records.items() if records},
        "failures": len(page.failures),
        "failure_examples": page.failures[:3],
        **page.phase,
    }
    if page.trainings:
        report["trainings"] = page.trainings
    return report


# ---- the lessons ----


class Lesson:
    """One student on one page: each interaction timed and its CPU read, one after another."""

    def __init__(self, meter: Meter, page: Page, student: PageStudent, rng: random.Random, think: tuple) -> None:
        self.meter, self.page, self.student, self.rng, self.think = meter, page, student, rng, think

    async def pause(self) -> None:
        await asyncio.sleep(self.rng.uniform(*self.think))

    async def timed(self, kind: str, **rerun) -> float:
        """One interaction (Student.rerun's arguments); returns when it was sent (perf_counter)."""
        student = self.student
        student.first_chart = None
        server_before, children_before = self.meter.read()
        started = time.perf_counter()
        _, finished = await student.rerun(**rerun)
        await asyncio.sleep(SETTLE_S)
        server_after, children_after = self.meter.read()
        chart = None if student.first_chart is None else student.first_chart - started
        record = Record(finished, chart, server_after - server_before, children_after - children_before)
        self.page.records.setdefault(kind, []).append(record)
        return started

    async def click(self, kind: str, key: str) -> None:
        element = self.student.widget(key)
        state = WidgetState(id=element.widget_id, trigger_value=True)
        await self.timed(kind, widget=state, fragment_id=element.fragment_id)

    async def set(self, kind: str, key: str, **value) -> None:
        """A widget set to a value: string_value=..., or double_array=[...] / string_array=[...]."""
        element = self.student.widget(key)
        state = WidgetState(id=element.widget_id)
        if "double_array" in value:
            state.double_array_value.data.extend(value.pop("double_array"))
        if "string_array" in value:
            state.string_array_value.data.extend(value.pop("string_array"))
        for name, v in value.items():
            setattr(state, name, v)
        await self.timed(kind, widget=state, fragment_id=element.fragment_id)

    async def open_and_type(self, name: str, typed: str) -> None:
        opened = self.student.param("text")  # the link's, until the first run rewrites the query
        await self.timed("open", page=name)
        self.shows(opened)
        await self.pause()
        await self.set("new_sentence", TEXT_KEY, string_value=typed)
        self.shows(typed)

    def shows(self, sentence: str) -> None:
        """The page decoded the student's sentence (the app writes its input into the URL after every run)."""
        if self.student.param("text") != sentence:
            raise classroom.Failure(f"the page shows {self.student.param('text')!r}, not {sentence!r}")


async def translate(lesson: Lesson, typed: str) -> None:
    await lesson.open_and_type("translate", typed)


async def step(lesson: Lesson, typed: str) -> None:
    await lesson.open_and_type("step", typed)
    for _ in range(3):
        await lesson.pause()
        await lesson.click("next", NEXT_KEY)


async def cells(lesson: Lesson, typed: str) -> None:
    await lesson.open_and_type("cells", typed)
    last = int(getattr(lesson.student.protos.get(CELLS_STEP_KEY), "max", 0))
    for t in range(1, min(3, last) + 1):
        await lesson.pause()
        await lesson.set("step_slider", CELLS_STEP_KEY, double_array=[float(t)])


async def teacher_forcing(lesson: Lesson, typed: str) -> None:
    await lesson.open_and_type("teacher-forcing", typed)


async def beam(lesson: Lesson, typed: str) -> None:
    await lesson.open_and_type("beam", typed)
    for kind, width in (("width_new", 3), ("width_new", 8), ("width_back", 5)):  # 5: the width it opened at
        await lesson.pause()
        await lesson.set(kind, BEAM_WIDTH_KEY, double_array=[float(width)])


async def compare(lesson: Lesson, typed: str) -> None:
    await lesson.open_and_type("compare", typed)
    shown = len(lesson.student.param("models").split(","))
    if shown < 4:
        await lesson.pause()
        await lesson.set("count_up", COMPARE_COUNT_KEY, string_array=[str(shown + 1)])
        await lesson.pause()
        await lesson.set("count_down", COMPARE_COUNT_KEY, string_array=[str(shown)])
    compared = [name.rsplit("-", 1)[-1] for name in lesson.student.param("models").split(",")]
    options = list(getattr(lesson.student.protos.get("compare0_attention"), "options", []))
    other = next((o for o in options if o not in compared), None)
    if other is None:
        raise classroom.Failure(f"no attention left to pick on Compare (offered {options}, shown {compared})")
    await lesson.pause()
    await lesson.set("picker", "compare0_attention", string_value=other)


async def attribution(lesson: Lesson, typed: str) -> None:
    await lesson.open_and_type("attribution", typed)  # integrated gradients: ~25 decodes' worth, once a sentence
    await lesson.pause()
    await lesson.set("method", ATTRIBUTION_METHOD_KEY, string_array=["occlusion"])
    last = int(getattr(lesson.student.protos.get(ATTRIBUTION_STEP_KEY), "max", 0))
    for t in range(1, min(2, last) + 1):
        await lesson.pause()
        await lesson.set("step_slider", ATTRIBUTION_STEP_KEY, double_array=[float(t)])


async def models(lesson: Lesson, typed: str) -> None:
    await lesson.timed("open", page="models")
    options = list(getattr(lesson.student.protos.get(METRIC_KEY), "options", []))
    for label in options[1:3]:
        await lesson.pause()
        await lesson.set("metric", METRIC_KEY, string_value=label)


async def train(lesson: Lesson, typed: str) -> None:
    student, meter = lesson.student, lesson.meter
    await lesson.timed("open", page="train")
    await lesson.pause()
    await lesson.set("settings", "live_hidden", string_array=[str(TRAIN["hidden"])])
    await lesson.pause()
    await lesson.set("settings", "live_steps", double_array=[float(TRAIN["steps"])])
    await lesson.pause()
    server_before, children_before = meter.read()
    polls_before = len(lesson.page.records.get("poll", []))
    started = time.perf_counter()
    await lesson.click("start", "live-train")
    if not student.timers:
        raise classroom.Failure("Train started no polling fragment")
    fragment_id, interval = next(iter(student.timers.items()))
    sent = started
    while "live-use" not in student.widgets:  # the model's buttons: the training ended and the page reran whole
        if time.perf_counter() - started > POLL_LIMIT_S:
            raise classroom.Failure(f"the training was not done after {POLL_LIMIT_S:.0f} s of polling")
        await asyncio.sleep(max(0.0, sent + interval - time.perf_counter()))  # the browser's timer, not our pace
        student.auto_next = True
        try:
            sent = await lesson.timed("poll", fragment_id=fragment_id)
        finally:
            student.auto_next = False
    lesson.page.records.setdefault("finished", []).append(lesson.page.records["poll"].pop())
    trained_s = time.perf_counter() - started
    for _ in range(100):  # the server reaps its child once its stdout closed
        if not meter.children():
            break
        await asyncio.sleep(0.1)
    server_after, children_after = meter.read()
    lesson.page.trainings.append(
        {
            "seconds": round(trained_s, 2),
            "polls": len(lesson.page.records.get("poll", [])) - polls_before + 1,
            "server_cpu_s": round(server_after - server_before, 2),
            "child_cpu_s": round(children_after - children_before, 2),
        }
    )


LESSONS: dict[str, Callable[[Lesson, str], Awaitable[None]]] = {
    "translate": translate,
    "step": step,
    "cells": cells,
    "teacher-forcing": teacher_forcing,
    "beam": beam,
    "compare": compare,
    "attribution": attribution,
    "models": models,
    "train": train,
}


async def one_student(url: str, meter: Meter, page: Page, number: int, think: tuple, timeout: float, slot: int) -> None:
    """Student `number` on `page`: a link with a sentence of their own, then the page's lesson. A failure ends it."""
    query = {"model": MODEL, "text": fresh_sentence(number, 2 * slot)}
    if page.name == "teacher-forcing":
        query["reference"] = REFERENCE
    student = PageStudent(url, timeout=timeout, query=urlencode(query), page=page.name)
    lesson = Lesson(meter, page, student, random.Random(number * 100 + slot), think)
    try:
        await student.connect()
        await LESSONS[page.name](lesson, fresh_sentence(number, 2 * slot + 1))
    except (classroom.Failure, OSError, classroom.websockets.WebSocketException) as exc:
        page.failures.append(f"student {number}: {exc}")
    finally:
        with contextlib.suppress(OSError, classroom.websockets.WebSocketException):
            await student.close()


async def measure_page(url: str, meter: Meter, name: str, numbers: range, think: tuple, deadline: float) -> Page:
    page = Page(name)
    server_before, children_before = meter.read()
    started = time.perf_counter()
    for number in numbers:
        left = deadline - time.perf_counter()
        if left <= 0:
            page.failures.append(f"student {number}: not run, the deadline had passed")
            continue
        try:
            await asyncio.wait_for(
                one_student(url, meter, page, number, think, min(left, 60.0), PAGES.index(name)), left
            )
        except TimeoutError:
            page.failures.append(f"student {number}: stopped at the deadline")
    await asyncio.sleep(0.5)  # the last session's socket closed; its teardown is the phase's too
    server_after, children_after = meter.read()
    server = server_after - server_before
    inside = sum(r.server_cpu for records in page.records.values() for r in records)
    page.phase = {
        "wall_s": round(time.perf_counter() - started, 1),
        "server_cpu_s": round(server, 2),
        "server_cpu_s_outside_interactions": round(server - inside, 2),
        "children_cpu_s": round(children_after - children_before, 2),
    }
    return page


def idle_cpu(meter: Meter, seconds: float = 3.0) -> float:
    """The idle server's CPU-seconds per second (what a single interaction's reading may carry as noise)."""
    before = meter.read()[0]
    time.sleep(seconds)
    return round((meter.read()[0] - before) / seconds, 4)


def machine() -> dict:
    def version(package: str) -> str | None:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "torch": version("torch"),
        "streamlit": version("streamlit"),
        "websockets": version("websockets"),
        "platform": platform.platform(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=5, help="sessions per page, one after another (1-10)")
    parser.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES))
    parser.add_argument("--think", type=float, nargs=2, default=THINK_S, help="seconds between clicks")
    parser.add_argument("--deadline", type=float, default=240.0, help="seconds the measured pages may take")
    parser.add_argument("--no-warm-up", action="store_true", help="bill the imports and model loads to the pages")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pages.json")
    args = parser.parse_args()
    if not 1 <= args.students <= 10:
        raise SystemExit("--students takes 1 to 10 (the harness bounds its own load)")

    facts = machine()
    log = Path(tempfile.gettempdir()) / f"pages-server-{os.getpid()}.log"
    began = time.perf_counter()
    try:
        process, url = classroom.start_server(0, log)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None
    meter = Meter(process.pid)
    think = tuple(args.think)
    try:
        started_s = time.perf_counter() - began
        if not args.no_warm_up:  # one student on every page first: imports, model loads, first figures
            warm_deadline = time.perf_counter() + 120.0
            for name in args.pages:
                page = classroom.run_sync(measure_page(url, meter, name, range(19, 20), (0.0, 0.0), warm_deadline))
                if page.failures:
                    print(f"warm-up on {name}: {page.failures[0]}", file=sys.stderr, flush=True)
        idle = idle_cpu(meter)
        harness_before = time.process_time()
        deadline = time.perf_counter() + args.deadline
        pages = {}
        for name in args.pages:
            page = classroom.run_sync(measure_page(url, meter, name, range(args.students), think, deadline))
            pages[name] = page_report(page)
            print(json.dumps({name: pages[name]}), file=sys.stderr, flush=True)
        report = {
            "machine": {**facts, "load_average_after": [round(x, 2) for x in os.getloadavg()]},
            "server": "streamlit run app.py",
            "model": MODEL,
            "students_per_page": args.students,
            "think_s": list(think),
            "train_settings": TRAIN,
            "server_start_s": round(started_s, 1),
            "idle_server_cpu_s_per_s": idle,
            "pages": pages,
            "failures": sum(p["failures"] for p in pages.values()),
            "harness_cpu_s": round(time.process_time() - harness_before, 2),
            "server_rss_mb": classroom.rss_mb([process.pid]),
            "wall_s": round(time.perf_counter() - began, 1),
        }
    finally:
        classroom.stop_server(process)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    if report["failures"]:
        print(f"the server's log: {log}", file=sys.stderr)
    else:
        with contextlib.suppress(OSError):
            log.unlink()


if __name__ == "__main__":
    main()
