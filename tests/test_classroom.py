"""The classroom load harness (bench/classroom.py) against a real `streamlit run app.py`: N = 3 students."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from app_support import load_bench

ROOT = Path(__file__).resolve().parent.parent
INTERACTIONS = {"open_translate": 1, "enter_heatmap": 1, "open_step": 1, "next_step": 3}  # one student's lesson


@pytest.fixture(scope="module")
def classroom():
    return load_bench("classroom")


@pytest.fixture(scope="module")
def server(classroom, tmp_path_factory):
    """One real server on loopback for the module: (process, url)."""
    process, url = classroom.start_server(0, tmp_path_factory.mktemp("classroom") / "server.log")
    yield process, url
    classroom.stop_server(process)


@pytest.mark.slow
def test_three_students_get_every_interaction_answered(classroom, server):
    process, url = server
    pids = classroom.process_tree(process.pid)
    cpu_before = _cpu_seconds(pids)
    report = classroom.measure(url, lambda: pids, students=3, think=(0.1, 0.3), ramp_s=0.5, deadline_s=120)
    cpu_after, rss_after = _cpu_seconds(pids), _rss_mb(pids)
    assert report["failures"] == 0, report["failure_examples"]
    assert report["interactions"] == 3 * sum(INTERACTIONS.values())
    for kind, count in INTERACTIONS.items():
        figures = report["latency"][kind]
        assert figures["count"] == 3 * count
        assert 0 < figures["p50_s"] <= figures["p95_s"] <= figures["max_s"] < 120
    # The server's CPU, read here from /proc around the whole measurement, bounds the figure measured inside it,
    # and the per-interaction figure is that CPU over the interactions counted above.
    assert 0 < report["server_cpu_s"] <= cpu_after - cpu_before + 0.01
    assert report["server_cpu_s_per_interaction"] == pytest.approx(
        report["server_cpu_s"] / report["interactions"], abs=0.006 / report["interactions"] + 1e-4
    )
    assert report["server_cpu_s"] <= report["wall_s"] * os.cpu_count() + 0.1
    assert report["server_rss_mb"] == pytest.approx(rss_after, rel=0.2) and rss_after > 50  # a real server


def _cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the processes, in seconds (proc(5): fields 14 and 15 of /proc/PID/stat)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # fields from the 3rd on
        total += int(fields[14 - 3]) + int(fields[15 - 3])
    return total / os.sysconf("SC_CLK_TCK")


def _rss_mb(pids: list[int]) -> float:
    pages = sum(int(Path(f"/proc/{pid}/statm").read_text().split()[1]) for pid in pids)  # resident pages
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_the_summary_counts_and_orders_the_latencies_it_was_given(classroom):
    results = classroom.Results()
    latencies = {"open_step": [0.4, 0.1, 0.3, 0.2], "next_step": [float(n) for n in range(1, 22)]}  # 21: 1 s .. 21 s
    for kind, values in latencies.items():
        for value in values:
            results.add(kind, value)
    results.failures.extend(f"failure {n}" for n in range(7))
    report = classroom.summary(results, server_cpu=5.0, harness_cpu=1.234, wall=12.34, rss=321.5)
    assert report["interactions"] == 25 and report["failures"] == 7
    assert report["failure_examples"] == [f"failure {n}" for n in range(5)]
    assert report["latency"]["open_step"] == {"count": 4, "p50_s": 0.25, "p95_s": 0.4, "max_s": 0.4}
    # 21 sorted values: the median is the 11th, the 95th percentile the value at rank round(0.95 * 20) = 19
    assert report["latency"]["next_step"] == {"count": 21, "p50_s": 11.0, "p95_s": 20.0, "max_s": 21.0}
    assert report["server_cpu_s_per_interaction"] == 0.2  # 5.0 s over 25 interactions
    assert (report["server_cpu_s"], report["harness_cpu_s"], report["wall_s"], report["server_rss_mb"]) == (
        5.0,
        1.23,
        12.3,
        321.5,
    )


@pytest.mark.slow
def test_a_student_sees_the_sentence_they_typed(classroom, server):
    """The harness drives the real app: the heatmap it waits for carries the typed sentence's tokens."""
    _, url = server

    from streamlit.proto.WidgetStates_pb2 import WidgetState

    async def lesson() -> list[str]:
        student = classroom.Student(url, query="model=" + classroom.MODEL)
        await student.connect()
        try:
            await student.rerun("translate", until=classroom.heatmap_shown)
            typed = WidgetState(id=student.widgets[classroom.TEXT_KEY].widget_id, string_value="We are happy.")
            shown: list[str] = []

            def heatmap_ticks(delta) -> bool:
                if classroom.heatmap_shown(delta):
                    spec = json.loads(delta.new_element.plotly_chart.spec)
                    shown.extend(spec["layout"]["xaxis"]["ticktext"])
                    return True
                return False

            await student.rerun(widget=typed, until=heatmap_ticks)
            return shown
        finally:
            await student.close()

    assert classroom.run_sync(lesson())[:4] == ["we", "are", "happy", "."]  # the eng-fra models read lowercased words


def test_every_student_of_a_class_types_a_sentence_of_their_own_and_classes_differ(classroom):
    import random

    def class_sentences(variant: int) -> list[str]:
        rng = random.Random(variant)
        return [classroom.sentence_of(n, random.Random(rng.random()), variant) for n in range(100)]

    first, second = class_sentences(1), class_sentences(2)
    assert len(set(first)) == 100 and len(set(second)) == 100
    assert len(set(first) & set(second)) <= 5  # another class, other sentences: the trace cache mostly misses
    assert class_sentences(0)[:20] == list(classroom.SENTENCES)  # variant 0 starts with the lesson sentences
    assert all(s.endswith(".") and 3 <= len(s.split()) <= 9 for s in first)
