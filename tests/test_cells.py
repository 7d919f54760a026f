"""The explicit cells give the same numbers as torch's cells and fused multi-layer RNNs (≤ 1e-5)."""

import numpy as np
import pytest
import torch
from torch import nn

from seq2seq_viz.cells import FUSED, ExplicitCell, run_explicit

TORCH_CELLS = {"rnn": nn.RNNCell, "gru": nn.GRUCell, "lstm": nn.LSTMCell}


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_cell_step_matches_torch_cell(kind):
    torch.manual_seed(0)
    reference = TORCH_CELLS[kind](5, 7)
    cell = ExplicitCell(kind, 5, 7)
    cell.load_state_dict(reference.state_dict())
    x, h, c = torch.randn(3, 5), torch.randn(3, 7), torch.randn(3, 7)
    if kind == "lstm":
        (h_new, c_new), gates = cell(x, (h, c))
        h_ref, c_ref = reference(x, (h, c))
        assert (c_new - c_ref).abs().max() < 1e-5
        assert set(gates) == {"input", "forget", "candidate", "output"}
    else:
        h_new, gates = cell(x, h)
        h_ref = reference(x, h)
        assert set(gates) == ({"reset", "update", "candidate"} if kind == "gru" else set())
    assert (h_new - h_ref).abs().max() < 1e-5
    for value in gates.values():
        assert value.shape == (3, 7)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _parameters(cell: ExplicitCell) -> tuple[np.ndarray, ...]:
    return tuple(p.detach().double().numpy() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh))


def test_gru_gates_follow_the_equation():
    torch.manual_seed(1)
    cell = ExplicitCell("gru", 4, 3)
    x, h = torch.randn(2, 4), torch.randn(2, 3)
    h_new, g = cell(x, h)
    W_i, W_h, b_i, b_h = _parameters(cell)
    x64, h64 = x.double().numpy(), h.double().numpy()
    pre_x, pre_h = x64 @ W_i.T + b_i, h64 @ W_h.T + b_h  # (B, 3H), rows stacked r | z | n
    r = _sigmoid(pre_x[:, :3] + pre_h[:, :3])
    z = _sigmoid(pre_x[:, 3:6] + pre_h[:, 3:6])
    n = np.tanh(pre_x[:, 6:] + r * pre_h[:, 6:])  # the reset gate scales W_hn h + b_hn only
    for name, expected in (("reset", r), ("update", z), ("candidate", n)):
        np.testing.assert_allclose(g[name].detach().numpy(), expected, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(h_new.detach().numpy(), (1 - z) * n + z * h64, atol=1e-6)


def test_lstm_gates_follow_the_equation():
    torch.manual_seed(4)
    cell = ExplicitCell("lstm", 4, 3)
    x, h, c = torch.randn(2, 4), torch.randn(2, 3), torch.randn(2, 3)
    (h_new, c_new), g = cell(x, (h, c))
    W_i, W_h, b_i, b_h = _parameters(cell)
    pre = x.double().numpy() @ W_i.T + b_i + h.double().numpy() @ W_h.T + b_h  # (B, 4H), rows i | f | g | o
    i, f, cand, o = _sigmoid(pre[:, :3]), _sigmoid(pre[:, 3:6]), np.tanh(pre[:, 6:9]), _sigmoid(pre[:, 9:])
    for name, expected in (("input", i), ("forget", f), ("candidate", cand), ("output", o)):
        np.testing.assert_allclose(g[name].detach().numpy(), expected, atol=1e-6, err_msg=name)
    c_expected = f * c.double().numpy() + i * cand
    np.testing.assert_allclose(c_new.detach().numpy(), c_expected, atol=1e-6)
    np.testing.assert_allclose(h_new.detach().numpy(), o * np.tanh(c_expected), atol=1e-6)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize(("layers", "bidirectional"), [(1, False), (2, False), (2, True), (3, True)])
def test_explicit_run_matches_fused_rnn_with_padding(kind, layers, bidirectional):
    torch.manual_seed(2)
    rnn = FUSED[kind](6, 5, num_layers=layers, batch_first=True, bidirectional=bidirectional)
    x = torch.randn(3, 7, 6)
    lengths = torch.tensor([7, 4, 1])
    mask = torch.arange(7).unsqueeze(0) < lengths.unsqueeze(1)
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out_ref, final_ref = rnn(packed)
    out_ref, _ = nn.utils.rnn.pad_packed_sequence(out_ref, batch_first=True, total_length=7)
    out, final, records = run_explicit(rnn, kind, x, mask)
    assert (out - out_ref).abs().max() < 1e-5
    for got, want in zip(
        final if kind == "lstm" else (final,), final_ref if kind == "lstm" else (final_ref,), strict=False
    ):
        assert (got - want).abs().max() < 1e-5
    assert len(records) == layers
    assert records[-1].outputs.shape == (3, 7, 5 * (2 if bidirectional else 1))
