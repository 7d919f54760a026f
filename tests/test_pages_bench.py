"""bench/pages.py's own arithmetic: every student's sentences are new to the server, and CPU is never counted twice."""

from __future__ import annotations

from pathlib import Path

from app_support import load_bench

ROOT = Path(__file__).resolve().parent.parent


pages = load_bench("pages")


def test_every_students_sentence_for_every_slot_is_new():
    sentences = [pages.fresh_sentence(number, slot) for number in range(20) for slot in range(72)]
    assert len(set(sentences)) == len(sentences) == 1440
    assert all(s.endswith(".") and "  " not in s for s in sentences)


def test_children_cpu_moves_to_the_server_once_reaped_and_is_never_counted_twice():
    alive = pages.split_cpu((1.0, 0.0), [(0.5, 0.25), None])  # a child with 0.75 s, one gone before it was read
    reaped = pages.split_cpu((1.0, 0.75), [])  # the same child, reaped: its time is the server's cutime+cstime
    assert alive == (1.0, 0.75) and reaped == (1.0, 0.75)
    assert pages.split_cpu(None, []) == (0.0, 0.0)
