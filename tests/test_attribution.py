"""Attribution checked against independent computations on tiny models: gradient × input against central finite
differences, integrated gradients' completeness, occlusion against a re-run of the fused path, the agreement
metrics on hand-made matrices; the Trace keeps them through JSON, and the CLI asks for them."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from seq2seq_viz import greedy
from seq2seq_viz.agreement import agreement, ranks, shares, spearman
from seq2seq_viz.attribution import METHODS, attribute
from seq2seq_viz.decoding import prepare_source
from seq2seq_viz.errors import InputError
from seq2seq_viz.trace import Trace
from seq2seq_viz.vocab import BOS_ID, PAD_ID, UNK_ID

TEXT = "abcd"


@pytest.fixture(scope="module", params=["general", "additive", "none"])
def decoded(request, make_model):
    model = make_model(seed=3, attention=request.param, hidden_size=8).double()  # float64: clean differences
    return model, greedy(model, TEXT, max_len=4)


def log_p_gold(model, src: torch.Tensor, outputs: list[int], embedded: torch.Tensor | None = None) -> np.ndarray:
    """log p(y_t | y_<t, x) for every step by the fused path (model.forward), optionally with the source
    embeddings replaced: an implementation apart from attribution's explicit one. -> (T,)"""
    y_in = torch.tensor([[BOS_ID, *outputs[:-1]]])
    handle = None
    if embedded is not None:
        handle = model.encoder.embedding.register_forward_hook(lambda module, args, out: embedded)
    try:
        with torch.no_grad():
            logits = model(src, torch.tensor([src.shape[1]]), y_in)  # (1, T, V)
    finally:
        if handle is not None:
            handle.remove()
    return torch.log_softmax(logits, -1)[0, torch.arange(len(outputs)), torch.tensor(outputs)].numpy()


def gold_ids(model, trace) -> list[int]:
    return model.target_vocab.encode(trace.output_tokens)[0]


def test_grad_x_input_matches_finite_differences(decoded):
    model, trace = decoded
    matrix = attribute(model, trace, ["grad_x_input"]).attribution["grad_x_input"].array
    src, outputs = prepare_source(model, TEXT).ids, gold_ids(model, trace)
    x = model.encoder.embedding(src).detach()  # (1, S, E)
    h, expected = 1e-5, np.zeros(matrix.shape)
    for j in range(x.shape[1]):
        for e in range(x.shape[2]):
            up, down = x.clone(), x.clone()
            up[0, j, e] += h
            down[0, j, e] -= h
            derivative = (log_p_gold(model, src, outputs, up) - log_p_gold(model, src, outputs, down)) / (2 * h)
            expected[:, j] += float(x[0, j, e]) * derivative
    np.testing.assert_allclose(matrix, expected, atol=2e-5)
    assert np.abs(expected).max() > 1e-3  # the model's outputs do depend on the source


def test_integrated_gradients_are_complete(decoded):
    model, trace = decoded
    result = attribute(model, trace, ["integrated_gradients"]).attribution["integrated_gradients"]
    src, outputs = prepare_source(model, TEXT).ids, gold_ids(model, trace)
    change = log_p_gold(model, src, outputs) - log_p_gold(model, torch.full_like(src, PAD_ID), outputs)
    error = np.abs(result.array.sum(axis=1) - change)
    assert error.max() == pytest.approx(result.completeness_error, abs=1e-4)  # what it reports is what it is
    assert error.max() <= 0.05 * np.abs(change).max() + 2e-3  # 32 trapezoid steps: a few % of the change
    assert result.completeness_scale == pytest.approx(np.abs(change).max(), rel=1e-6)
    assert result.settings["steps"] >= 20


def test_occlusion_is_the_change_a_rerun_sees(decoded):
    model, trace = decoded
    matrix = attribute(model, trace, ["occlusion"]).attribution["occlusion"].array
    src, outputs = prepare_source(model, TEXT).ids, gold_ids(model, trace)
    original = log_p_gold(model, src, outputs)
    for j in range(src.shape[1]):
        occluded = src.clone()
        occluded[0, j] = UNK_ID
        np.testing.assert_allclose(matrix[:, j], original - log_p_gold(model, occluded, outputs), atol=1e-6)


def test_the_trace_keeps_its_attributions_through_json(decoded):
    model, trace = decoded
    full = attribute(model, trace)
    assert set(full.attribution) == set(METHODS)
    again = Trace.from_json(full.to_json())
    assert again == full and again.attribution["occlusion"].matrix == full.attribution["occlusion"].matrix
    old = json.loads(trace.to_json())
    old["schema"] = "seq2seq_viz.trace/1"
    old.pop("attribution")
    assert Trace.from_json(json.dumps(old)).attribution == {}  # a trace saved before attribution still loads


def test_another_models_trace_and_unknown_methods_are_refused(decoded, make_model):
    model, trace = decoded
    with pytest.raises(InputError, match="Unknown attribution method 'saliency'"):
        attribute(model, trace, ["saliency"])
    other = dataclasses.replace(trace, source_tokens=["a", "b", "<eos>"])  # not what this model makes of "abcd"
    with pytest.raises(InputError, match="another model"):
        attribute(model, other, ["occlusion"])
    with pytest.raises(InputError, match="not this model's tokens"):
        attribute(model, dataclasses.replace(trace, output_tokens=["zzz"]), ["occlusion"])


def test_agreement_on_hand_made_matrices():
    assert list(ranks([3.0, 1.0, 2.0, 2.0])) == [4.0, 1.0, 2.5, 2.5]
    assert spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)  # 1 − 6·(0+1+1+0)/(4·15)
    assert spearman([1, 1, 1], [1, 2, 3]) is None
    np.testing.assert_allclose(shares([[1.0, -3.0], [0.0, 0.0]]), [[0.25, 0.75], [0.0, 0.0]])
    attention = [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]
    attribution = [[2.0, -1.0, 0.5], [0.3, -2.0, 0.1]]  # |a|: top token 0 (agrees), then 1 (α's is 2: does not)
    result = agreement(attention, attribution)
    assert result["top_match"] == [True, False] and result["top_match_rate"] == 0.5
    # row 2 by hand: ranks of α (0.1, 0.1, 0.8) are (1.5, 1.5, 3), of |a| (2, 3, 1): ρ = −1.5 / √(1.5·2) = −√3/2
    assert result["spearman"][0] == pytest.approx(1.0) and result["spearman"][1] == pytest.approx(-(3**0.5) / 2)
    assert result["mean_spearman"] == pytest.approx((1 - 3**0.5 / 2) / 2)


def test_the_cli_puts_attributions_in_the_json():
    out = subprocess.run(
        [sys.executable, "-m", "seq2seq_viz", "translate", "--model", "reverse-gru-general", "--json",
         "--attribution", "occlusion", "--attribution", "integrated_gradients", "abc"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    trace = Trace.from_json(out.stdout)
    assert set(trace.attribution) == {"occlusion", "integrated_gradients"}
    assert trace.attribution["occlusion"].array.shape == (len(trace.output_tokens), len(trace.source_tokens))
    assert trace.attribution["integrated_gradients"].completeness_error is not None
