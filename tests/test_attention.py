"""Each score is its equation; weights are a distribution over real tokens; attention keeps no state."""

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


def test_weights_sum_to_one_and_padding_gets_zero(tensors):
    _query, keys = tensors
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    energies = torch.randn(2, 3, 5)
    context, weights = attend(energies, keys, mask)
    assert torch.allclose(weights.sum(-1), torch.ones(2, 3))
    assert (weights[1, :, 2:] == 0).all()
    assert torch.allclose(context[1, 0], weights[1, 0, :2] @ keys[1, :2])
    assert torch.equal(masked_softmax(energies, None), torch.softmax(energies, -1))


def test_attention_is_stateless(tensors):
    query, keys = tensors
    att = Attention("additive", 4)
    before = dict(vars(att))
    first = att.energies(query, att.key_side(keys))
    second = att.energies(query, att.key_side(keys))
    assert torch.equal(first, second)
    assert dict(vars(att)).keys() == before.keys()
