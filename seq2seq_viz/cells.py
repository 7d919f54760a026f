"""RNN, GRU and LSTM cells written from their equations; each step returns the new state and its gates.

The weights use torch's layout (weight_ih, weight_hh, bias_ih, bias_hh; gates stacked r|z|n for the GRU and
i|f|g|o for the LSTM), so the explicit path can run on the very parameters of a fused nn.GRU / nn.LSTM.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import GATES  # the names each step below returns in its gates dict

# A cell state: h for RNN/GRU, (h, c) for LSTM.
State = Tensor | tuple[Tensor, Tensor]
Gates = dict[str, Tensor]

GATE_MULTIPLIER = {"rnn": 1, "gru": 3, "lstm": 4}
FUSED = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def rnn_step(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> tuple[Tensor, Gates]:
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh). It has no gates."""
    return rnn_update(F.linear(x, w_ih, b_ih), F.linear(h, w_hh, b_hh), h)


def rnn_update(x_side: Tensor, h_side: Tensor, h: Tensor) -> tuple[Tensor, Gates]:
    """rnn_step from its two projections, x_side = W_ih x_t + b_ih and h_side = W_hh h_{t-1} + b_hh."""
    return torch.tanh(x_side + h_side), {}  # (B, H)


def gru_step(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor) -> tuple[Tensor, Gates]:
    """GRU (Cho et al. 2014):
    r = σ(W_ir x + b_ir + W_hr h + b_hr)            reset gate
    z = σ(W_iz x + b_iz + W_hz h + b_hz)            update gate
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))   candidate
    h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}
    """
    return gru_update(F.linear(x, w_ih, b_ih), F.linear(h, w_hh, b_hh), h)


def gru_update(x_side: Tensor, h_side: Tensor, h: Tensor) -> tuple[Tensor, Gates]:
    """gru_step from its two projections, x_side = W_i[rzn] x + b_i[rzn] and h_side = W_h[rzn] h + b_h[rzn]."""
    x_r, x_z, x_n = x_side.chunk(3, dim=-1)  # 3 × (B, H)
    h_r, h_z, h_n = h_side.chunk(3, dim=-1)  # 3 × (B, H)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    h_new = (1 - z) * n + z * h  # (B, H)
    return h_new, {"reset": r, "update": z, "candidate": n}


def lstm_step(
    x: Tensor, state: tuple[Tensor, Tensor], w_ih: Tensor, w_hh: Tensor, b_ih: Tensor, b_hh: Tensor
) -> tuple[tuple[Tensor, Tensor], Gates]:
    """LSTM (Hochreiter & Schmidhuber 1997):
    i = σ(W_ii x + b_ii + W_hi h + b_hi)     input gate
    f = σ(W_if x + b_if + W_hf h + b_hf)     forget gate
    g = tanh(W_ig x + b_ig + W_hg h + b_hg)  candidate
    o = σ(W_io x + b_io + W_ho h + b_ho)     output gate
    c_t = f ⊙ c_{t−1} + i ⊙ g
    h_t = o ⊙ tanh(c_t)
    """
    return lstm_update(F.linear(x, w_ih, b_ih), F.linear(state[0], w_hh, b_hh), state)


def lstm_update(x_side: Tensor, h_side: Tensor, state: tuple[Tensor, Tensor]) -> tuple[tuple[Tensor, Tensor], Gates]:
    """lstm_step from its two projections, x_side = W_i[ifgo] x + b_i[ifgo] and h_side = W_h[ifgo] h + b_h[ifgo]."""
    _, c = state
    pre_i, pre_f, pre_g, pre_o = (x_side + h_side).chunk(4, dim=-1)  # 4 × (B, H)
    i, f, g, o = torch.sigmoid(pre_i), torch.sigmoid(pre_f), torch.tanh(pre_g), torch.sigmoid(pre_o)
    c_new = f * c + i * g  # (B, H)
    h_new = o * torch.tanh(c_new)  # (B, H)
    return (h_new, c_new), {"input": i, "forget": f, "candidate": g, "output": o}


STEPS = {"rnn": rnn_step, "gru": gru_step, "lstm": lstm_step}
# The same cells from their two projections (a caller that projected the inputs of many steps at once)
UPDATES = {"rnn": rnn_update, "gru": gru_update, "lstm": lstm_update}


def hidden_of(state: State) -> Tensor:
    """The output h of a cell state (h for RNN/GRU, the first of (h, c) for LSTM)."""
    return state[0] if isinstance(state, tuple) else state


def blend(new: State, old: State, keep_new: Tensor) -> State:
    """Per-row choice between two states: rows where keep_new (B, 1) is 0 keep the old state (padding)."""
    if isinstance(new, tuple):
        return tuple(torch.where(keep_new, n, o) for n, o in zip(new, old, strict=True))  # type: ignore[return-value]
    return torch.where(keep_new, new, old)


class ExplicitCell(nn.Module):
    """One cell with its own parameters, laid out like torch.nn.RNNCell / GRUCell / LSTMCell."""

    def __init__(self, kind: str, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.kind, self.hidden_size = kind, hidden_size
        rows = GATE_MULTIPLIER[kind] * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(rows))
        self.bias_hh = nn.Parameter(torch.empty(rows))
        bound = 1 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: Tensor, state: State) -> tuple[State, Gates]:
        return STEPS[self.kind](x, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


def layer_weights(rnn: nn.RNNBase, layer: int, reverse: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The four parameter tensors of one layer and direction of a fused torch RNN."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    return tuple(getattr(rnn, name + suffix) for name in names)  # type: ignore[return-value]


@dataclass
class LayerRecord:
    """What one layer (both directions concatenated) did at every position: (B, S, D·Hd) tensors."""

    outputs: Tensor
    gates: dict[str, Tensor]
    cells: Tensor | None  # LSTM cell states c_t, else None


def run_explicit(
    rnn: nn.RNNBase, kind: str, inputs: Tensor, mask: Tensor | None, initial: State | None = None
) -> tuple[Tensor, State, list[LayerRecord]]:
    """Run a fused torch RNN's parameters step by step with the explicit cells.

    inputs (B, S, I), mask (B, S) true at real tokens (padding keeps the state, so a backward direction starts
    at each row's true end, exactly like a packed sequence). initial: torch layout (L·D, B, Hd) or a pair.
    Returns outputs (B, S, D·Hd) of the top layer (zeros at padding), the final state in torch layout, and a
    record per layer.
    """
    batch, length, _ = inputs.shape
    directions = 2 if rnn.bidirectional else 1
    hd = rnn.hidden_size
    if mask is None:
        mask = torch.ones(batch, length, dtype=torch.bool, device=inputs.device)
    if initial is None:
        zeros = inputs.new_zeros(rnn.num_layers * directions, batch, hd)
        initial = (zeros, zeros.clone()) if kind == "lstm" else zeros
    step = STEPS[kind]
    layer_input = inputs
    finals_h, finals_c, records = [], [], []
    for layer in range(rnn.num_layers):
        dir_outputs, dir_gates, dir_cells = [], [], []
        for direction in range(directions):
            index = layer * directions + direction
            state = tuple(s[index] for s in initial) if kind == "lstm" else initial[index]
            weights = layer_weights(rnn, layer, reverse=direction == 1)
            positions = range(length - 1, -1, -1) if direction else range(length)
            outs: list[Tensor] = [None] * length  # type: ignore[list-item]
            gates: list[Gates] = [None] * length  # type: ignore[list-item]
            cells: list[Tensor] = [None] * length  # type: ignore[list-item]
            for pos in positions:
                new_state, gate_values = step(layer_input[:, pos], state, *weights)
                keep = mask[:, pos : pos + 1]  # (B, 1)
                state = blend(new_state, state, keep)
                outs[pos] = hidden_of(state) * keep
                gates[pos] = gate_values
                if kind == "lstm":
                    cells[pos] = state[1]
            dir_outputs.append(torch.stack(outs, dim=1))  # (B, S, Hd)
            dir_gates.append({name: torch.stack([g[name] for g in gates], dim=1) for name in GATES[kind]})
            dir_cells.append(torch.stack(cells, dim=1) if kind == "lstm" else None)
            finals_h.append(hidden_of(state))
            if kind == "lstm":
                finals_c.append(state[1])
        output = torch.cat(dir_outputs, dim=-1)  # (B, S, D·Hd)
        records.append(
            LayerRecord(
                outputs=output,
                gates={n: torch.cat([g[n] for g in dir_gates], dim=-1) for n in GATES[kind]},
                cells=torch.cat(dir_cells, dim=-1) if kind == "lstm" else None,  # type: ignore[arg-type]
            )
        )
        layer_input = output
        if rnn.dropout and rnn.training and layer < rnn.num_layers - 1:
            layer_input = F.dropout(layer_input, rnn.dropout, training=True)
    final_h = torch.stack(finals_h)  # (L·D, B, Hd)
    final: State = (final_h, torch.stack(finals_c)) if kind == "lstm" else final_h
    return records[-1].outputs, final, records


def step_stack(
    rnn: nn.RNNBase, kind: str, x: Tensor, states: Sequence[State], dropout: float = 0.0
) -> tuple[list[State], list[Gates]]:
    """One time step through every layer of a unidirectional fused RNN's parameters, explicitly.

    x (B, I); states: one per layer. Returns the new states and the gates of each layer.
    """
    new_states, all_gates = [], []
    layer_input = x
    for layer, state in enumerate(states):
        new_state, gates = STEPS[kind](layer_input, state, *layer_weights(rnn, layer, reverse=False))
        new_states.append(new_state)
        all_gates.append(gates)
        layer_input = hidden_of(new_state)
        if dropout and layer < len(states) - 1:
            layer_input = F.dropout(layer_input, dropout, training=True)
    return new_states, all_gates
