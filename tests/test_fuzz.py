"""The public API under fuzzing (bench/fuzz.py's property, CI-sized): every call gives a strict, UTF-8 Trace or one
InputError sentence. `python bench/fuzz.py` runs the same property 6,000 times."""

from __future__ import annotations

from pathlib import Path

from app_support import load_bench

from seq2seq_viz import decoding

ROOT = Path(__file__).resolve().parent.parent


fuzz = load_bench("fuzz")


def test_every_fuzzed_call_is_a_trace_or_one_sentence():
    report = fuzz.run(500)
    assert report["failures"] == 0, report["failure_examples"]
    assert report["calls"] == 500
    assert report["traces"] >= 75 and report["refused_with_one_sentence"] >= 75  # both paths are exercised


def test_the_property_catches_an_open_gate(monkeypatch):
    """Without the gate on sampling's options, hostile values reach torch (top_k -1, a seed of 2^64, a text
    temperature) and the property reports them. (The gate stays on the options that bound work, beam_size,
    max_len and prefix: opened, those make a beam of 2^62 hypotheses, which is the point of the gate.)"""
    gated = decoding.option
    monkeypatch.setattr(
        decoding,
        "option",
        lambda name, value: value if name in ("top_k", "seed", "temperature") else gated(name, value),
    )
    report = fuzz.run(300)
    assert report["failures"] > 0
    assert any("Error" in example["error"] for example in report["failure_examples"])


def test_the_sentence_rule():
    assert fuzz.one_sentence("The beam width must be a whole number from 1 to 10, not 2.5.")
    assert not fuzz.one_sentence("Traceback (most recent call last):\n  File ...")
    assert not fuzz.one_sentence("'<' not supported between instances of 'str' and 'int'")
