"""Every equation chain the Step page can show, checked line by line against the Trace it is drawn beside.

For every variant the model config allows (cell × attention × decoder style × input feeding × fixed-context form ×
direction × layers × bridge), a tiny seeded model decodes a string; then each line of `equations.chain` is
recomputed here in numpy from the model's own parameters and the Trace's recorded inputs, and must give the tensor
the page draws beside it. This is what keeps the teaching material exactly right (a bidirectional encoder's fixed
context is [→h_S; ←h_1], not h_S; W_s has a bias, W_c has none).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from seq2seq_viz import greedy
from ui import equations

TEXT = "abcadeb"
ATOL = 1e-5


def variants():
    for cell, bidirectional, layers in itertools.product(("rnn", "gru", "lstm"), (False, True), (1, 2)):
        for bridge in ("copy", "linear"):
            for fixed in ("init", "every_step"):
                yield {"cell": cell, "attention": "none", "fixed_context": fixed, "bidirectional": bidirectional,
                       "layers": layers, "bridge": bridge}  # fmt: skip
        for score, style in itertools.product(("dot", "general", "concat", "additive"), ("luong", "bahdanau")):
            for feeding in (False, True) if style == "luong" else (False,):
                yield {"cell": cell, "attention": score, "style": style, "input_feeding": feeding,
                       "bidirectional": bidirectional, "layers": layers}  # fmt: skip


def _id(v: dict) -> str:
    return "-".join(str(value) for value in v.values())


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def _final_states(model, trace) -> np.ndarray:
    """(L, H) each encoder layer's final state, read off the recorded per-position outputs (not the RNN's h_n)."""
    layers = np.asarray(trace.encoder["layers"])  # (L, S, H)
    if not model.config.bidirectional:
        return layers[:, -1]
    half = layers.shape[-1] // 2
    return np.concatenate([layers[:, -1, :half], layers[:, 0, half:]], axis=-1)  # [→h_S; ←h_1]


def _energies(model, score: str, query: np.ndarray, keys: np.ndarray) -> np.ndarray:
    att = model.decoder.attention
    if score == "dot":
        return keys @ query
    if score == "general":
        return keys @ (_np(att.W_a.weight).T @ query)  # sᵀ W_a h for every h
    if score == "concat":
        W = _np(att.W_a.weight)  # (H, 2H) acting on [s; h]
        hidden = np.tanh(np.concatenate([np.tile(query, (len(keys), 1)), keys], axis=1) @ W.T)
        return hidden @ _np(att.v_a).reshape(-1)
    hidden = np.tanh(query @ _np(att.W.weight).T + keys @ _np(att.U.weight).T + _np(att.U.bias))
    return hidden @ _np(att.v_a).reshape(-1)


@pytest.mark.parametrize("variant", list(variants()), ids=_id)
def test_every_line_of_the_chain_is_what_the_model_computed(make_model, variant):
    model = make_model(seed=3, hidden_size=8, **variant)
    trace = greedy(model, TEXT)
    lines = equations.chain(trace.model)
    tensors = [line.tensor for line in lines]
    assert len(tensors) == len(set(tensors))
    keys = np.asarray(trace.encoder["states"])  # H: (S, H)
    finals = _final_states(model, trace)
    W_s, b_s = _np(model.decoder.W_s.weight), _np(model.decoder.W_s.bias)
    latex = " ".join(line.latex for line in lines)
    assert ("overleftarrow" in latex) == (variant["attention"] == "none" and variant["bidirectional"])
    assert latex.count("+ b_s") == 1  # the output projection's bias is written, once

    for t, step in enumerate(trace.steps):
        for line in lines:
            shape = step.shapes[line.shape_key or line.tensor]
            if line.tensor == "encoder_states":
                assert shape == [1, *keys.shape]
            elif line.tensor == "fixed_context":
                np.testing.assert_allclose(step.context, finals[-1], atol=ATOL)
                np.testing.assert_allclose(trace.encoder["context"], finals[-1], atol=ATOL)
                assert shape == [1, finals.shape[-1]]
            elif line.tensor == "initial_state":
                bridged = (
                    finals
                    if model.encoder.bridge is None
                    else np.tanh(finals @ _np(model.encoder.bridge.weight).T + _np(model.encoder.bridge.bias))
                )
                np.testing.assert_allclose(trace.encoder["initial_state"], bridged, atol=ATOL)
                assert ("W_b" in line.latex) == (variant.get("bridge") == "linear")
                assert ("(l)" in line.latex) == (variant["layers"] > 1)
            elif line.tensor == "query":  # Bahdanau: s_{t-1}, the top layer's previous state
                previous = trace.steps[t - 1].state if t else np.asarray(trace.encoder["initial_state"])[-1]
                np.testing.assert_allclose(step.query, previous, atol=ATOL)
            elif line.tensor == "state":
                np.testing.assert_allclose(step.state, step.layer_states[-1], atol=ATOL)
                if "query" not in tensors and variant["attention"] != "none":  # Luong scores with s_t
                    np.testing.assert_allclose(step.query, step.state, atol=ATOL)
            elif line.tensor == "energies":
                expected = _energies(model, variant["attention"], np.asarray(step.query), keys)
                np.testing.assert_allclose(step.energies, expected, atol=ATOL, rtol=1e-5)
            elif line.tensor == "weights":
                np.testing.assert_allclose(step.weights, _softmax(np.asarray(step.energies)), atol=ATOL)
            elif line.tensor == "context":
                np.testing.assert_allclose(step.context, np.asarray(step.weights) @ keys, atol=ATOL)
            elif line.tensor == "attentional":
                both = np.concatenate([step.context, step.state])  # [c_t; s_t], in that order
                expected = np.tanh(_np(model.decoder.W_c.weight) @ both)  # W_c has no bias
                np.testing.assert_allclose(step.attentional, expected, atol=ATOL)
            elif line.tensor == "probs":
                read = step.attentional if "hat{s}_t +" in line.latex else step.state
                if "hat{s}_t +" not in line.latex:  # Sutskever's form: no W_c, W_s reads s_t itself
                    assert model.decoder.W_c is None
                probs = _softmax(W_s @ np.asarray(read) + b_s)
                top_token, top_p = step.topk[0]
                assert model.target_vocab.tokens[int(probs.argmax())] == top_token
                np.testing.assert_allclose(top_p, probs.max(), atol=ATOL)
            else:
                pytest.fail(f"no independent check for the line drawing {line.tensor!r}")
