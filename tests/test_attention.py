"""Each score is its equation; weights are a distribution over real tokens; attention keeps no state."""

import math

import numpy as np
import pytest
import torch

from seq2seq_viz.attention import Attention, attend, masked_softmax


@pytest.fixture
def tensors():
    torch.manual_seed(0)
    return torch.randn(2, 3, 4), torch.randn(2, 5, 4)  # query (B, T, H), keys (B, S, H)


def energies_of(score, query, keys):
    torch.manual_seed(1)
    attention = Attention(score, 4)
    return attention, attention.energies(query, attention.key_side(keys))


def test_dot(tensors):
    query, keys = tensors
    _, e = energies_of("dot", query, keys)
    assert torch.allclose(e[1, 2, 3], query[1, 2] @ keys[1, 3])


def test_general(tensors):
    query, keys = tensors
    att, e = energies_of("general", query, keys)
    assert torch.allclose(e[0, 1, 4], query[0, 1] @ att.W_a.weight @ keys[0, 4], atol=1e-6)


def test_concat(tensors):
    query, keys = tensors
    att, e = energies_of("concat", query, keys)
    expected = att.v_a @ torch.tanh(att.W_a.weight @ torch.cat([query[1, 0], keys[1, 2]]))
    assert torch.allclose(e[1, 0, 2], expected, atol=1e-6)


def test_additive(tensors):
    query, keys = tensors
    att, e = energies_of("additive", query, keys)
    expected = att.v_a @ torch.tanh(att.W.weight @ query[0, 2] + att.U.weight @ keys[0, 1] + att.U.bias)
    assert torch.allclose(e[0, 2, 1], expected, atol=1e-6)


def _softmax64(energies: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """softmax_j over the real positions only, in float64; padded positions get 0."""
    shifted = np.where(mask, energies - np.where(mask, energies, -np.inf).max(-1, keepdims=True), -np.inf)
    exp = np.exp(shifted)
    return exp / exp.sum(-1, keepdims=True)


def test_masked_softmax_by_hand():
    energies = torch.tensor([[[0.0, math.log(2.0), math.log(3.0), 5.0, 7.0]]])  # (B=1, T=1, S=5)
    mask = torch.tensor([[True, True, True, False, False]])
    weights = masked_softmax(energies, mask)
    # e^0 : e^ln2 : e^ln3 = 1 : 2 : 3 over the three real positions; the large padded energies get nothing
    np.testing.assert_allclose(weights[0, 0, :3].numpy(), [1 / 6, 2 / 6, 3 / 6], rtol=1e-6)
    assert weights[0, 0, 3].item() == 0.0 and weights[0, 0, 4].item() == 0.0
    unmasked = masked_softmax(energies, None)[0, 0].numpy()
    total = 1 + 2 + 3 + math.exp(5) + math.exp(7)
    expected = np.array([1, 2, 3, math.exp(5), math.exp(7)]) / total
    np.testing.assert_allclose(unmasked, expected, rtol=1e-6)


def test_weights_sum_to_one_and_padding_gets_zero(tensors):
    _query, keys = tensors
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    torch.manual_seed(2)
    energies = torch.randn(2, 3, 5) * 3
    context, weights = attend(energies, keys, mask)
    e64, h64, m64 = energies.double().numpy(), keys.double().numpy(), mask.numpy()[:, None, :]
    expected = _softmax64(e64, m64)  # (B, T, S)
    np.testing.assert_allclose(weights.numpy(), expected, atol=1e-6)
    assert (weights[1, :, 2:] == 0).all()  # exactly zero, not merely small
    np.testing.assert_allclose(weights.sum(-1).numpy(), 1.0, atol=1e-6)
    # c_i = Σ_j α_ij h_j, from the numpy weights and the keys themselves
    np.testing.assert_allclose(context.numpy(), np.einsum("bts,bsh->bth", expected, h64), atol=1e-5)
    no_mask = masked_softmax(energies, None).numpy()
    np.testing.assert_allclose(no_mask, _softmax64(e64, np.ones_like(e64, dtype=bool)), atol=1e-6)
    assert not np.allclose(no_mask[1], weights[1].numpy())  # without the mask, padding takes weight


def test_attention_is_stateless(tensors):
    query, keys = tensors
    att = Attention("additive", 4)
    before = dict(vars(att))
    first = att.energies(query, att.key_side(keys))
    second = att.energies(query, att.key_side(keys))
    assert torch.equal(first, second)
    assert dict(vars(att)).keys() == before.keys()
