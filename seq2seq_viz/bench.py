"""Benchmarks as ratios measured in one run (these machines are noisy): tracing overhead, beam cost, training speed."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import torch

from . import decoding
from .config import ModelConfig
from .model import Seq2Seq
from .tasks import get_task
from .train import batches, build_vocabs


def _interleaved(a: Callable[[], object], b: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Fastest times of a and b over runs alternated so both see the same machine load.

    The minimum is the run least disturbed by other processes (as timeit advises), so ratios of minima are
    the stable figure on a shared, noisy machine.
    """
    a(), b()
    ta, tb = [], []
    for _ in range(repeats):
        for fn, out in ((a, ta), (b, tb)):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return min(ta), min(tb)


def bench_model(source_len: int, seed: int = 0) -> tuple[Seq2Seq, str]:
    """A GRU + general attention word-level model (H=256, E=128, V=8000) that never stops before max_output_len."""
    torch.manual_seed(seed)
    words = [f"w{i}" for i in range(7996)]
    vocab = build_vocabs([(words, words)])[0]
    config = ModelConfig(
        task="bench",
        level="word",
        cell="gru",
        attention="general",
        hidden_size=256,
        embedding_size=128,
        max_source_len=64,
        max_output_len=source_len,
    )
    model = Seq2Seq(config, vocab, vocab).eval()
    with torch.no_grad():
        model.decoder.W_s.bias[2] = -1e4  # <eos> never wins, so every decode runs exactly source_len steps
    return model, " ".join(words[i] for i in range(4, 4 + source_len))


def tracing_overhead(repeats: int = 20) -> dict[str, float]:
    """Greedy decode with full tracing vs the same decode (same explicit cells) recording nothing."""
    figures = {}
    for length in (10, 40):
        model, text = bench_model(length)
        traced, untraced = _interleaved(
            partial(decoding.greedy, model, text), partial(decoding.greedy_tokens, model, text), repeats
        )
        figures[f"trace_vs_untraced_{length}_tokens"] = round(traced / untraced, 3)
        figures[f"traced_greedy_{length}_tokens_ms"] = round(traced * 1000, 2)
    return figures


def beam_cost(repeats: int = 10) -> dict[str, float]:
    model, text = bench_model(10)
    beam, greedy = _interleaved(
        lambda: decoding.beam_search(model, text, beam_size=5), lambda: decoding.greedy(model, text), repeats
    )
    return {"beam5_vs_greedy": round(beam / greedy, 3)}


def training_speed(steps: int = 6) -> dict[str, float]:
    """Target tokens per second: fused fast path vs the explicit per-step path, same batches and weights."""
    task = get_task("reverse")
    pairs = task.pairs("train")[: 64 * steps]
    vocabs = build_vocabs(pairs)
    config = ModelConfig(task="reverse", hidden_size=128, embedding_size=32, attention="general", bidirectional=True)
    torch.manual_seed(0)
    model = Seq2Seq(config, *vocabs)
    data = batches(pairs, *vocabs, 64, None)
    tokens = sum(b.target_tokens for b in data)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # lr 0: both paths see identical weights

    def epoch(fast: bool) -> None:
        for b in data:
            loss = model.loss(b.src, b.lengths, b.y_in, b.y_out, fast=fast)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    fast, explicit = _interleaved(lambda: epoch(True), lambda: epoch(False), 3)
    return {
        "train_tokens_per_s_fast": round(tokens / fast),
        "train_tokens_per_s_explicit": round(tokens / explicit),
        "train_fast_vs_explicit_speedup": round(explicit / fast, 3),
    }


def run_all(repeats: int = 20) -> dict[str, float]:
    """Every figure, with the targets they are read against."""
    figures: dict[str, float | str] = {"threads": torch.get_num_threads()}
    figures.update(tracing_overhead(repeats))
    figures.update(beam_cost(max(3, repeats // 2)))
    figures.update(training_speed())
    figures["targets"] = "trace_vs_untraced_* <= 1.10; train_fast_vs_explicit_speedup >= 1.3"
    return figures
