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
