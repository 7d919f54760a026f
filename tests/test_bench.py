"""The benchmark code runs what it says and every figure is the arithmetic of the times it measured (speed targets
are read from its output, never asserted)."""

import torch

from seq2seq_viz import bench
from seq2seq_viz.tasks import get_task
from seq2seq_viz.trace import Trace


def test_bench_model_decodes_exactly_the_requested_length():
    model, text = bench.bench_model(10)
    assert len(bench.decoding.greedy_tokens(model, text)) == 10


class ScriptedClock:
    """perf_counter for _interleaved: each call of a benchmarked function advances it by its next scripted time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def runner(self, name: str, durations: list[float], order: list[str]):
        def run() -> None:
            order.append(name)
            self.now += durations.pop(0)

        return run


def test_interleaved_alternates_the_two_and_keeps_each_ones_fastest_timed_run(monkeypatch):
    clock, order = ScriptedClock(), []
    monkeypatch.setattr(bench.time, "perf_counter", clock)
    a = clock.runner("a", [0.001, 5.0, 3.0, 4.0], order)  # the first call is the untimed warm-up
    b = clock.runner("b", [9.0, 2.0, 7.0, 1.5], order)
    assert bench._interleaved(a, b, repeats=3) == (3.0, 1.5)
    assert order == ["a", "b"] * 4


def test_run_all_figures_are_the_ratios_of_what_it_timed_and_ran(monkeypatch):
    """_interleaved replaced by one run of each function (checked here) and scripted (a, b) times."""
    times = [(0.030, 0.025), (0.120, 0.100), (0.5, 0.05), (2.0, 5.0)]  # trace 10, trace 40, beam, training
    runs = []

    def scripted(a, b, repeats):
        runs.append((a(), b(), repeats))
        return times[len(runs) - 1]

    monkeypatch.setattr(bench, "_interleaved", scripted)
    figures = bench.run_all(repeats=4)

    (traced_10, tokens_10, r1), (traced_40, tokens_40, r2), (beam, greedy, r3), (fast, explicit, r4) = runs
    assert (r1, r2, r3, r4) == (4, 4, 3, 3)  # repeats as asked; the beam at least 3, training always 3
    for traced, tokens, length in ((traced_10, tokens_10, 10), (traced_40, tokens_40, 40)):
        assert isinstance(traced, Trace) and len(traced.steps) == length  # the traced decode ran `length` steps
        assert traced.output_tokens == tokens  # ... and is the same decode as the untraced one it is timed against
    assert isinstance(beam, Trace) and beam.mode == "beam" and beam.options["beam_size"] == 5
    assert greedy.mode == "greedy" and len(greedy.steps) == 10
    assert fast is None and explicit is None  # an epoch returns nothing; it is timed, not read

    target_tokens = sum(len(target) + 1 for _, target in get_task("reverse").pairs("train")[: 64 * 6])  # + <eos>
    assert figures == {
        "threads": torch.get_num_threads(),
        "trace_vs_untraced_10_tokens": 1.2,  # 0.030 / 0.025
        "traced_greedy_10_tokens_ms": 30.0,
        "trace_vs_untraced_40_tokens": 1.2,  # 0.120 / 0.100
        "traced_greedy_40_tokens_ms": 120.0,
        "beam5_vs_greedy": 10.0,  # 0.5 / 0.05
        "train_tokens_per_s_fast": round(target_tokens / 2.0),
        "train_tokens_per_s_explicit": round(target_tokens / 5.0),
        "train_fast_vs_explicit_speedup": 2.5,  # 5.0 / 2.0
        "targets": "trace_vs_untraced_* <= 1.10; train_fast_vs_explicit_speedup >= 1.3",
    }
