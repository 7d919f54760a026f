"""Natural long sentences: BLEU of every shipped eng-fra model on 40 single English sentences of 10-15 words.

    python bench/long_sentences.py                          # every eng-fra model: a markdown table
    python bench/long_sentences.py --show eng-fra-lstm-dot  # and that model's 40 translations

The length table (list-models --lengths) measures long inputs made by joining test sentences. A student types
something else: one sentence with clauses ("When I was a child, I lived in a small house near the river.").
bench/data/long_sentences.tsv holds 40 such sentences, written for this project with one French translation each
(none in the training data; every English word in the models' vocabulary, so the figure is about length, not
unknown words). Greedy decoding, BLEU as everywhere in the project (seq2seq_viz.metrics.bleu, one reference);
"short" counts outputs under 60% of the reference's length in words (a translation that stopped early). One
reference and 40 sentences: read differences of a few BLEU as noise. Figures, not asserts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SENTENCES = ROOT / "bench" / "data" / "long_sentences.tsv"
SHORT = 0.6  # an output under this share of its reference's words stopped early


def read_sentences(path: Path = SENTENCES) -> list[tuple[str, str]]:
    """(English, French) pairs of the file: tab-separated lines, '#' lines are comments."""
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not all(f.strip() for f in fields):
            raise SystemExit(f"{path}:{number}: expected 'English<TAB>French', got {line!r}")
        pairs.append((fields[0].strip(), fields[1].strip()))
    return pairs


def measure(name: str, pairs: list[tuple[str, str]]) -> dict:
    """BLEU, outputs cut short, and the translations of one model on the pairs."""
    from seq2seq_viz import load_model
    from seq2seq_viz.evaluate import _texts, greedy_batch
    from seq2seq_viz.metrics import bleu
    from seq2seq_viz.text import tokenize

    model = load_model(name)

    def tokens(text: str) -> list[str]:  # as the model's task tokenizes (no data file needed)
        return tokenize(text, model.config.level, model.config.lowercase)

    outputs = _texts(model, greedy_batch(model, [tokens(english) for english, _ in pairs]))
    words = [(len(tokens(out)), len(tokens(french))) for out, (_, french) in zip(outputs, pairs, strict=True)]
    return {
        "model": name,
        "trained_longest": (getattr(model, "card", None) or {}).get("task", {}).get("longest_source"),
        "bleu": bleu(outputs, [[french] for _, french in pairs]),
        "short": sum(out < SHORT * ref for out, ref in words),
        "outputs": outputs,
    }


def main() -> None:
    import torch

    from seq2seq_viz import list_models

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", help="default: every shipped eng-fra model")
    parser.add_argument("--show", action="append", default=[], help="print this model's translations (repeatable)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    pairs = read_sentences()
    names = args.models or sorted(n for n, e in list_models().items() if e["config"]["task"] == "eng-fra")
    results = [measure(name, pairs) for name in names]
    print(f"{len(pairs)} sentences of 10-15 words, greedy decoding, one reference each\n")
    print("| model | trained ≤ | BLEU | short |\n|---|--:|--:|--:|")
    for r in results:
        trained = r["trained_longest"] if r["trained_longest"] is not None else "–"
        print(f"| {r['model']} | {trained} | {r['bleu']:.1f} | {r['short']} of {len(pairs)} |")
    for r in results:
        if r["model"] in args.show:
            print(f"\n{r['model']}:")
            for (english, french), out in zip(pairs, r["outputs"], strict=True):
                print(f"  {english}\n    ref: {french}\n    out: {out}")


if __name__ == "__main__":
    main()
