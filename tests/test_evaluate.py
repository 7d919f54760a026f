"""The metrics' batched greedy decode writes what the lab's traced greedy shows, on every shipped model."""

import pytest

from seq2seq_viz import decoding
from seq2seq_viz.evaluate import greedy_batch
from seq2seq_viz.registry import examples_for, list_models, load_model
from seq2seq_viz.text import tokenize

EXAMPLES_PER_MODEL = 10  # a fixed slice keeps the 41 models under ~10 s on a loaded 2-core CI machine


@pytest.mark.parametrize("name", sorted(list_models()))
def test_batched_greedy_equals_the_traced_greedy_on_the_test_examples(name):
    model = load_model(name)
    sources = [pair["source"] for pair in examples_for(name)["test_pairs"][:EXAMPLES_PER_MODEL]]
    assert len(sources) == EXAMPLES_PER_MODEL
    batched = greedy_batch(model, [tokenize(s, model.config.level, model.config.lowercase) for s in sources])
    for source, tokens in zip(sources, batched, strict=True):
        traced = decoding.greedy(model, source).output_tokens  # explicit cells, one sentence, <eos> kept
        assert tokens == (traced[:-1] if traced[-1] == "<eos>" else traced), source


def test_attribution_metrics_are_the_mean_agreement_and_the_aer_of_each_method(make_model):
    """On a tiny aligned task: the agreement is the mean over examples of agreement() on each greedy decode, and
    the AER is the gold AER of argmax |a| teacher-forced on the gold, both recomputed here from the core."""
    import numpy as np

    from seq2seq_viz.agreement import METHODS, agreement
    from seq2seq_viz.attribution import COMPUTE, attribute
    from seq2seq_viz.decoding import greedy, prepare_source
    from seq2seq_viz.evaluate import attribution_metrics
    from seq2seq_viz.metrics import corpus_aer
    from seq2seq_viz.tasks import get_task
    from seq2seq_viz.vocab import EOS_ID

    task = get_task("reverse")
    examples = task.test[:4]
    model = make_model(seed=1)
    found = attribution_metrics(model, task, examples)
    assert found["examples"] == 4 and "attention_aer" in found
    for method in METHODS:
        traces = [attribute(model, greedy(model, e.source), [method]) for e in examples]
        rows = [agreement(t.attention, t.attribution[method].array) for t in traces]
        assert found[method]["mean_spearman"] == pytest.approx(np.mean([r["mean_spearman"] for r in rows]))
        assert found[method]["top_match_rate"] == pytest.approx(np.mean([r["top_match_rate"] for r in rows]))
        predicted = []
        for e in examples:
            gold, _ = model.target_vocab.encode(task.tokens(e.target))
            matrix = COMPUTE[method](model, prepare_source(model, e.source).ids, [*gold, EOS_ID]).array
            predicted.append([int(np.abs(row).argmax()) for row in matrix[: len(gold)]])
        assert found[method]["aer"] == pytest.approx(corpus_aer(predicted, [e.alignment for e in examples]))
    fixed = attribution_metrics(make_model(seed=1, attention="none"), task, examples)
    assert "mean_spearman" not in fixed["integrated_gradients"] and "aer" in fixed["integrated_gradients"]
