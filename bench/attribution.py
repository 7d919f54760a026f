"""What attribution costs: each method per sentence against one traced greedy decode of it, measured in one run.

    python bench/attribution.py                      # eng-fra-gru-concat and reverse-gru-general, 5 repeats
    python bench/attribution.py --models eng-fra-lstm-additive --repeats 10

For each model and sentence: the traced greedy decode (seq2seq_viz.greedy), then each method on that trace
(seq2seq_viz.attribution.attribute), alternated repeat by repeat; the ratio is median(method) / median(decode).
Targets (issue 13): gradient × input ≤ 3×, integrated gradients (≥ 20 steps; 32 here) ≤ 40×. One torch thread.
Figures, not asserts. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SENTENCES = {
    "eng-fra": ["I am cold.", "The weather is nice today.", "She is reading a book in the garden."],
    "reverse": ["abcdef", "helloworld", "attention"],
}


def measure(name: str, repeats: int) -> dict:
    import torch

    from seq2seq_viz import greedy, load_model
    from seq2seq_viz.agreement import METHODS
    from seq2seq_viz.attribution import IG_STEPS, attribute

    torch.set_num_threads(1)
    model = load_model(name)
    sentences = SENTENCES.get(model.config.task, SENTENCES["reverse"])
    attribute(model, greedy(model, sentences[0]))  # warm: imports, first allocations
    times: dict[str, list[float]] = {"decode": [], **{m: [] for m in METHODS}}
    for _ in range(repeats):
        for text in sentences:
            started = time.perf_counter()
            trace = greedy(model, text)
            times["decode"].append(time.perf_counter() - started)
            for method in METHODS:
                started = time.perf_counter()
                attribute(model, trace, [method])
                times[method].append(time.perf_counter() - started)
    decode = statistics.median(times["decode"])
    return {
        "model": name,
        "sentences": sentences,
        "decode_ms": round(1000 * decode, 2),
        "integrated_gradients_steps": IG_STEPS,
        **{f"{m}_ms": round(1000 * statistics.median(times[m]), 2) for m in METHODS},
        **{f"{m}_over_decode": round(statistics.median(times[m]) / decode, 1) for m in METHODS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["eng-fra-gru-concat", "reverse-gru-general"])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps([measure(name, args.repeats) for name in args.models], indent=1))


if __name__ == "__main__":
    main()
