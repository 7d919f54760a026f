"""The encoder: embedding -> 1..N recurrent layers, uni- or bidirectional -> states at every source position."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .cells import FUSED, LayerRecord, State, run_explicit
from .config import ModelConfig
from .vocab import PAD_ID


@dataclass
class Encoded:
    """What the decoder reads from the encoder."""

    states: Tensor  # H: (B, S, H) top-layer states, both directions concatenated; zeros at padding
    mask: Tensor  # (B, S) true at real tokens
    initial: State  # decoder initial state, (L, B, H) or a pair for LSTM (after the bridge)
    summary: Tensor  # (B, H) the fixed context vector c: the encoder's final top-layer state
    embedded: Tensor  # (B, S, E)
    layers: list[LayerRecord] | None  # per-layer record of the explicit run; None on the fused path

    def select(self, rows: Tensor) -> Encoded:
        """The same encoding of the batch rows `rows` (B',) only, in that order."""

        def pick(state: State) -> State:  # decoder layout: the batch is dimension 1
            return tuple(x[:, rows] for x in state) if isinstance(state, tuple) else state[:, rows]  # type: ignore[return-value]

        layers = None
        if self.layers is not None:
            layers = [
                LayerRecord(
                    r.outputs[rows],
                    {k: v[rows] for k, v in r.gates.items()},
                    None if r.cells is None else r.cells[rows],
                )
                for r in self.layers
            ]
        return Encoded(
            self.states[rows], self.mask[rows], pick(self.initial), self.summary[rows], self.embedded[rows], layers
        )


class Encoder(nn.Module):
    """h_j = RNN(x_j, h_{j-1}); bidirectional: h_j = [→h_j; ←h_j], each direction of size H/2."""

    def __init__(self, config: ModelConfig, vocab_size: int) -> None:
        super().__init__()
        self.config = config
        self.directions = 2 if config.bidirectional else 1
        self.embedding = nn.Embedding(vocab_size, config.embedding_size, padding_idx=PAD_ID)
        self.rnn = FUSED[config.cell](
            config.embedding_size,
            config.hidden_size // self.directions,
            num_layers=config.layers,
            batch_first=True,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        # The bridge maps the final state of each layer to the decoder's: copy, or s_0 = tanh(W_b h_final).
        self.bridge = nn.Linear(config.hidden_size, config.hidden_size) if config.bridge == "linear" else None

    def forward(self, src: Tensor, lengths: Tensor, explicit: bool = False) -> Encoded:
        """src (B, S) token ids, lengths (B,). explicit=True runs the equations step by step and records them."""
        _batch, length = src.shape
        mask = torch.arange(length, device=src.device).unsqueeze(0) < lengths.unsqueeze(1)  # (B, S)
        embedded = self.embedding(src)  # (B, S, E)
        layers = None
        if explicit:
            states, final, layers = run_explicit(self.rnn, self.config.cell, embedded, mask)
        else:
            packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
            packed_out, final = self.rnn(packed)
            states, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=length)  # (B, S, H)
        initial = self._bridge(final)
        summary = self._by_layer(final[0] if isinstance(final, tuple) else final)[-1]  # (B, H)
        return Encoded(states, mask, initial, summary, embedded, layers)

    def _by_layer(self, final: Tensor) -> Tensor:
        """(L·D, B, H/D) torch layout -> (L, B, H) with the directions of each layer concatenated."""
        _num, batch, hd = final.shape
        per_layer = final.view(self.config.layers, self.directions, batch, hd)
        return torch.cat(per_layer.unbind(1), dim=-1)  # (L, B, D·hd)

    def _bridge(self, final: State) -> State:
        def one(x: Tensor) -> Tensor:
            x = self._by_layer(x)
            return torch.tanh(self.bridge(x)) if self.bridge is not None else x

        return tuple(one(x) for x in final) if isinstance(final, tuple) else one(final)  # type: ignore[return-value]
