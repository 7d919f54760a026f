import json

import numpy as np
import pytest

from seq2seq_viz import decoding
from seq2seq_viz.errors import InputError
from seq2seq_viz.trace import SCHEMA, Beam, BeamNode, Hypothesis, Trace

REQUIRED = {
    "schema",
    "model",
    "mode",
    "source_tokens",
    "unknown_source_tokens",
    "output_tokens",
    "output_text",
    "attention",
    "steps",
    "encoder",
}
STEP_KEYS = {
    "t",
    "input_token",
    "output_token",
    "topk",
    "energies",
    "weights",
    "gold_token",
    "gold_prob",
    "loss",
    "shapes",
}


def test_json_has_the_documented_keys_and_round_trips(make_model):
    model = make_model(0, cell="lstm", attention="general")
    trace = decoding.greedy(model, "abc", reference="cba")
    data = json.loads(trace.to_json())
    assert data["schema"] == SCHEMA
    assert REQUIRED <= set(data)
    assert STEP_KEYS <= set(data["steps"][0])
    assert {"name", "task", "cell", "attention", "hidden_size", "embedding_size", "layers", "bidirectional"} <= set(
        data["model"]
    )
    assert {"states", "gates"} <= set(data["encoder"])
    assert set(data["encoder"]["gates"]) == {"input", "forget", "candidate", "output"}
    assert data["steps"][0]["gold_token"] == "c"
    assert Trace.from_json(trace.to_json()) == trace


def test_beam_trace_round_trips_with_its_typed_tree(make_model):
    trace = decoding.beam_search(make_model(1), "abc", beam_size=3, length_penalty=0.7)
    data = json.loads(trace.to_json())
    assert set(data["beam"]) == {"width", "length_penalty", "nodes", "nbest"}
    assert set(data["beam"]["nodes"][0]) == {"id", "parent", "t", "token", "logprob", "cumulative", "score",
                                             "finished", "kept"}  # fmt: skip
    assert set(data["beam"]["nbest"][0]) == {"node", "tokens", "logprob", "score", "text", "finished"}
    again = Trace.from_json(trace.to_json())
    assert again == trace
    assert again.beam == trace.beam  # the dataclasses themselves, field by field
    assert isinstance(again.beam, Beam) and (again.beam.width, again.beam.length_penalty) == (3, 0.7)
    assert all(isinstance(n, BeamNode) for n in again.beam.nodes)
    assert all(isinstance(h, Hypothesis) and isinstance(h.tokens, tuple) for h in again.beam.nbest)
    assert again.beam.nbest and again.beam.path(again.beam.best.node) == trace.beam.path(trace.beam.best.node)


def test_a_beam_trace_of_the_untyped_shape_still_loads(make_model):
    """Written before the tree was typed: nodes and nbest only, and Step.forced True on every beam step."""
    trace = decoding.beam_search(make_model(1), "abc", beam_size=2)
    data = json.loads(trace.to_json())
    data["beam"] = {
        "nodes": data["beam"]["nodes"],
        "nbest": [{k: v for k, v in hyp.items() if k != "finished"} for hyp in data["beam"]["nbest"]],
    }
    for step in data["steps"]:
        step["forced"] = True
    old = Trace.from_dict(data)
    assert old == trace
    assert (old.beam.width, old.beam.length_penalty) == (2, 1.0)  # from the trace's options
    assert [h.finished for h in old.beam.nbest] == [old.beam.nodes[h.node].finished for h in old.beam.nbest]
    assert not any(s.forced for s in old.steps)


def test_a_damaged_beam_is_one_sentence(make_model):
    data = json.loads(decoding.beam_search(make_model(1), "abc", beam_size=2).to_json())
    for damage in ({"nodes": [], "nbest": [{"node": 5}]}, {"nodes": "?", "nbest": []}, "tree"):
        with pytest.raises(InputError, match="incomplete or malformed"):
            Trace.from_dict({**data, "beam": damage})


@pytest.mark.parametrize("text", ["not json", '{"schema": "other/1"}', json.dumps({"schema": SCHEMA})])
def test_bad_trace_files_raise_one_sentence(text):
    with pytest.raises(InputError):
        Trace.from_json(text)


def test_attention_csv(make_model):
    trace = decoding.greedy(make_model(2), "ab")
    lines = trace.attention_csv().strip().splitlines()
    assert lines[0].split(",")[1:] == trace.source_tokens
    assert len(lines) == 1 + len(trace.output_tokens)
    for line, token, step in zip(lines[1:], trace.output_tokens, trace.steps, strict=True):
        label, *values = line.split(",")
        assert label == token
        # each row is α_t = softmax(e_t), recomputed here from the step's recorded energies, to the 6 decimals written
        energies = np.asarray(step.energies, dtype=np.float64)
        expected = np.exp(energies - energies.max()) / np.exp(energies - energies.max()).sum()
        np.testing.assert_allclose([float(v) for v in values], expected, atol=2e-6)
    with pytest.raises(InputError):
        decoding.greedy(make_model(2, attention="none"), "ab").attention_csv()
