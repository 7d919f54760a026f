"""The shipped zoo: every checkpoint validates against the manifest, decodes, and its metrics can be recomputed."""

import math

import numpy as np
import pytest

from seq2seq_viz import decoding, metrics
from seq2seq_viz.checkpoint import sha256_of
from seq2seq_viz.evaluate import evaluate_examples, evaluate_model
from seq2seq_viz.registry import list_models, load_model, pretrained_dir
from seq2seq_viz.tasks import get_task
from seq2seq_viz.tasks.engfra import resolve_eng_fra_path
from seq2seq_viz.vocab import SPECIALS
from seq2seq_viz.zoo import zoo_dtype

MODELS = list_models()


def test_the_zoo_is_not_empty_and_within_budget():
    assert "reverse-gru-general" in MODELS
    size = sum(f.stat().st_size for f in pretrained_dir().iterdir() if f.is_file())
    assert size <= 100 * 10**6


@pytest.mark.parametrize("name", sorted(MODELS))
def test_checkpoint_matches_manifest_and_decodes(name):
    entry = MODELS[name]
    assert sha256_of(pretrained_dir() / entry["weights_file"]) == entry["sha256"]
    model = load_model(name)
    assert model.config.name == name
    assert entry["parameters"] == sum(p.numel() for p in model.parameters())
    card = model.card
    assert card["dtype"] == zoo_dtype(model.config.task)  # int8 rows for eng-fra, float16 for the rest
    assert card["provenance"]["license"] and card["metrics"]["test"]["exact_match"] >= 0
    text = card["examples"][0]
    trace = decoding.greedy(model, text)
    assert trace.output_tokens and trace.model["name"] == name
    if trace.attention is not None:
        keys = np.asarray(trace.encoder["states"], dtype=np.float64)  # (S, H)
        alphas = []
        for step in trace.steps:  # α_t = softmax(e_t) over the source, c_t = Σ_j α_tj h_j, recomputed in numpy
            energies = np.asarray(step.energies, dtype=np.float64)
            alphas.append(np.exp(energies - energies.max()) / np.exp(energies - energies.max()).sum())
            np.testing.assert_allclose(step.weights, alphas[-1], atol=1e-5)
            np.testing.assert_allclose(step.context, alphas[-1] @ keys, atol=1e-5)
        np.testing.assert_allclose(trace.attention, np.stack(alphas), atol=1e-5)  # the heatmap's matrix


def _numbers(metrics: dict, prefix: str = "") -> dict[str, float]:
    """Every number of a metrics record, flattened to "split.key.bucket" paths."""
    flat = {}
    for key, value in metrics.items():
        if isinstance(value, dict):
            flat.update(_numbers(value, f"{prefix}{key}."))
        elif isinstance(value, int | float):
            flat[prefix + key] = float(value)
    return flat


@pytest.mark.parametrize("name", sorted(MODELS))
def test_evaluate_recomputes_every_number_in_the_manifest(name):
    if MODELS[name]["config"]["task"] == "eng-fra" and not resolve_eng_fra_path(None).is_file():
        pytest.skip("the eng-fra data file is absent")
    metrics = dict(MODELS[name]["metrics"])
    assert "attribution" in metrics  # every card has it; its numbers are recomputed below, for a sample
    del metrics["attribution"]
    fresh, stored = _numbers(evaluate_model(load_model(name), split="all")), _numbers(metrics)
    assert fresh.keys() == stored.keys()
    for path, value in stored.items():
        assert math.isclose(fresh[path], value, rel_tol=1e-9, abs_tol=1e-9), path


# One model of each task's kind: a toy task with gold alignments, a fixed context, dates, and translation
ATTRIBUTION_SAMPLE = ["reverse-gru-general", "sort-gru-none", "dates-lstm-dot", "eng-fra-gru-concat"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ATTRIBUTION_SAMPLE)
def test_the_attribution_numbers_in_the_manifest_are_recomputed(name):
    """build-zoo --attribution's numbers, recomputed on the same 100 test examples (10-40 s a model)."""
    from seq2seq_viz.evaluate import ATTRIBUTION_EXAMPLES, attribution_metrics, task_of

    if MODELS[name]["config"]["task"] == "eng-fra" and not resolve_eng_fra_path(None).is_file():
        pytest.skip("the eng-fra data file is absent")
    model = load_model(name)
    task = task_of(model)
    fresh = _numbers(attribution_metrics(model, task, task.test[:ATTRIBUTION_EXAMPLES]))
    stored = _numbers(MODELS[name]["metrics"]["attribution"])
    assert fresh.keys() == stored.keys() and len(stored) >= 4
    for path, value in stored.items():
        assert math.isclose(fresh[path], value, rel_tol=1e-6, abs_tol=1e-6), path


def test_evaluate_on_a_slice_matches_a_direct_computation():
    model = load_model("reverse-gru-general")
    task = get_task("reverse")
    examples = list(task.test[:40]) + list(task.extra_tests["long"][:20])
    result = evaluate_examples(model, task, examples)
    outputs = [decoding.greedy(model, e.source).output_text for e in examples]
    assert result["exact_match"] == sum(o == e.target for o, e in zip(outputs, examples, strict=False)) / len(examples)
    predicted = [
        list(np.argmax(decoding.teacher_forced(model, e.source, e.target).attention, axis=1)[: len(e.target)])
        for e in examples
    ]
    assert math.isclose(result["aer"], metrics.corpus_aer(predicted, [e.alignment for e in examples]), abs_tol=1e-12)


@pytest.mark.skipif(not resolve_eng_fra_path(None).is_file(), reason="the eng-fra data file is absent")
@pytest.mark.parametrize("name", [n for n in MODELS if n.startswith("eng-fra-")][:2])
def test_eng_fra_bleu_on_a_slice_matches_sacrebleu_directly(name):
    import sacrebleu

    model = load_model(name)
    task = get_task("eng-fra")
    examples = list(task.test[:60])
    result = evaluate_examples(model, task, examples)
    # The zoo's BLEU scores the words a model wrote with <unk> left out (the text on screen keeps it).
    traces = [decoding.greedy(model, e.source) for e in examples]
    hyps = [metrics_detok(" ".join(t for t in trace.output_tokens if t not in SPECIALS)) for trace in traces]
    refs = [[" ".join(task.tokens(r)) for r in e.all_references] for e in examples]
    detok = [[metrics_detok(r) for r in rs] for rs in refs]
    streams = [[rs[i] if i < len(rs) else None for rs in detok] for i in range(max(map(len, detok)))]
    expected = sacrebleu.corpus_bleu(hyps, streams, lowercase=True).score
    assert math.isclose(result["bleu"], expected, abs_tol=1e-6)


def metrics_detok(tokens: str) -> str:
    from seq2seq_viz.text import detokenize

    return detokenize(tokens.split(" "), "word")
