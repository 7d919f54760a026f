"""The explicit cells give the same numbers as torch's cells and fused multi-layer RNNs (≤ 1e-5)."""

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


def test_gru_gates_follow_the_equation():
    torch.manual_seed(1)
    cell = ExplicitCell("gru", 4, 3)
    x, h = torch.randn(2, 4), torch.randn(2, 3)
    h_new, g = cell(x, h)
    assert torch.allclose(h_new, (1 - g["update"]) * g["candidate"] + g["update"] * h)
    assert ((g["reset"] > 0) & (g["reset"] < 1)).all()


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
