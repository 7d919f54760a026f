"""The classroom load harness (bench/classroom.py) against a real `streamlit run app.py`: N = 3 students."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INTERACTIONS = {"open_translate": 1, "enter_heatmap": 1, "open_step": 1, "next_step": 3}  # one student's lesson


def _harness():
    spec = importlib.util.spec_from_file_location("classroom", ROOT / "bench" / "classroom.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["classroom"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def classroom():
    return _harness()


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
    report = classroom.measure(url, lambda: pids, students=3, think=(0.1, 0.3), ramp_s=0.5, deadline_s=120)
    assert report["failures"] == 0, report["failure_examples"]
    assert report["interactions"] == 3 * sum(INTERACTIONS.values())
    for kind, count in INTERACTIONS.items():
        figures = report["latency"][kind]
        assert figures["count"] == 3 * count
        assert 0 < figures["p50_s"] <= figures["p95_s"] <= figures["max_s"] < 120
    assert report["server_cpu_s"] > 0 and report["server_rss_mb"] > 50  # a real server did the work


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
