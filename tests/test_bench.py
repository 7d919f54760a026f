"""The benchmark code runs and reports every figure (speed targets are read from its output, never asserted)."""

from seq2seq_viz import bench


def test_bench_model_decodes_exactly_the_requested_length():
    model, text = bench.bench_model(10)
    assert len(bench.decoding.greedy_tokens(model, text)) == 10


def test_run_all_reports_every_ratio():
    figures = bench.run_all(repeats=1)
    for key in (
        "trace_vs_untraced_10_tokens",
        "trace_vs_untraced_40_tokens",
        "beam5_vs_greedy",
        "train_fast_vs_explicit_speedup",
        "train_tokens_per_s_fast",
        "train_tokens_per_s_explicit",
    ):
        assert figures[key] > 0, key
