"""The decoder: one step at a time (explicit or fused), or a whole teacher-forced sequence where the style allows.

Luong (score with s_t, after the RNN step):
    s_t = RNN([y_{t-1}; ŝ_{t-1} if input feeding], s_{t-1});  e_t = score(s_t, H);  c_t = Σ α_tj h_j
    ŝ_t = tanh(W_c [c_t; s_t]);  p(y_t) = softmax(W_s ŝ_t)
Bahdanau (score with s_{t-1}, before the RNN step; the context joins the RNN input):
    e_t = score(s_{t-1}, H);  c_t = Σ α_tj h_j;  s_t = RNN([y_{t-1}; c_t], s_{t-1})
    ŝ_t = tanh(W_c [c_t; s_t]);  p(y_t) = softmax(W_s ŝ_t)
None (fixed context c = the encoder's final state; s_0 is bridged from it):
    init (Sutskever et al. 2014):      s_t = RNN(y_{t-1}, s_{t-1});       p(y_t) = softmax(W_s s_t)
    every_step (Cho et al. 2014):      s_t = RNN([y_{t-1}; c], s_{t-1});  ŝ_t = tanh(W_c [c; s_t])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .attention import Attention, attend
from .cells import FUSED, UPDATES, Gates, State, hidden_of, layer_weights, step_stack
from .config import ModelConfig
from .encoder import Encoded
from .vocab import PAD_ID


@dataclass
class DecoderState:
    layers: list[State]  # one cell state per layer: s (B, H), or (s, c) for LSTM
    feed: Tensor | None  # ŝ_{t-1} (B, H) when input feeding, else None


@dataclass
class StepRecord:
    """Every named tensor of one decoder step (batch first); None where the variant has no such tensor."""

    embedded: Tensor  # (B, E) embedding of y_{t-1}
    rnn_input: Tensor  # (B, I) what entered the first recurrent layer
    query: Tensor | None  # (B, H) the state the score used: s_t (Luong) or s_{t-1} (Bahdanau)
    state: Tensor  # (B, H) s_t, top layer
    cell: Tensor | None  # (B, H) LSTM cell state c_t, top layer
    layer_states: Tensor  # (L, B, H) s_t of every layer
    gates: Gates  # top layer gate activations, (B, H) each
    energies: Tensor | None  # (B, S) e_t
    weights: Tensor | None  # (B, S) α_t
    context: Tensor | None  # (B, H) c_t
    attentional: Tensor  # (B, H) ŝ_t (equals s_t when the variant has no W_c)
    logits: Tensor  # (B, V) W_s ŝ_t + b_s


def stack_layers(layers: list[State]) -> State:
    """Per-layer list -> torch layout (L, B, H) (or a pair for LSTM)."""
    if isinstance(layers[0], tuple):
        return torch.stack([s[0] for s in layers]), torch.stack([s[1] for s in layers])
    return torch.stack(layers)  # type: ignore[arg-type]


def unstack_layers(state: State) -> list[State]:
    if isinstance(state, tuple):
        return list(zip(state[0].unbind(0), state[1].unbind(0), strict=True))
    return list(state.unbind(0))


class Decoder(nn.Module):
    def __init__(self, config: ModelConfig, vocab_size: int) -> None:
        super().__init__()
        self.config = config
        self.style = config.decoder_style
        hidden, emb = config.hidden_size, config.embedding_size
        self.context_input = self.style == "bahdanau" or (self.style == "none" and config.fixed_context == "every_step")
        input_size = emb + (hidden if self.context_input or config.input_feeding else 0)
        self.embedding = nn.Embedding(vocab_size, emb, padding_idx=PAD_ID)
        self.rnn = FUSED[config.cell](
            input_size,
            hidden,
            num_layers=config.layers,
            batch_first=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        self.attention = Attention(config.attention, hidden) if self.style != "none" else None
        uses_combine = self.style != "none" or config.fixed_context == "every_step"
        self.W_c = nn.Linear(2 * hidden, hidden, bias=False) if uses_combine else None
        self.W_s = nn.Linear(hidden, vocab_size)
        self.dropout = nn.Dropout(config.dropout)

    @property
    def runs_whole_sequence(self) -> bool:
        """Teacher-forced training can run the fused RNN over all steps at once (no step feeds the next)."""
        return self.style == "none" or (self.style == "luong" and not self.config.input_feeding)

    def initial_state(self, encoded: Encoded) -> DecoderState:
        feed = encoded.summary.new_zeros(encoded.summary.shape) if self.config.input_feeding else None
        return DecoderState(unstack_layers(encoded.initial), feed)

    def key_side(self, encoded: Encoded) -> Tensor | None:
        return self.attention.key_side(encoded.states) if self.attention is not None else None

    def _attend(self, query: Tensor, key_side: Tensor, encoded: Encoded) -> tuple[Tensor, Tensor, Tensor]:
        """query (B, H) -> energies (B, S), weights (B, S), context (B, H)."""
        return self._attend_rows(query, key_side, encoded.states, encoded.mask)

    def _attend_rows(self, query: Tensor, key_side: Tensor, states: Tensor, mask: Tensor) -> tuple[Tensor, ...]:
        energies = self.attention.energies(query.unsqueeze(1), key_side)  # (B, 1, S)
        context, weights = attend(energies, states, mask)  # (B, 1, H), (B, 1, S)
        return energies.squeeze(1), weights.squeeze(1), context.squeeze(1)

    def step(
        self,
        y_prev: Tensor,
        state: DecoderState,
        encoded: Encoded,
        key_side: Tensor | None,
        explicit: bool = True,
        project: Tensor | None = None,
    ) -> tuple[Tensor, DecoderState, StepRecord]:
        """y_prev (B,) ids of y_{t-1} -> logits (B, V), the new state, and the record of every tensor.

        project (B,) bool: compute the logits of those rows only, (n, V) (W_s is most of a step's work; a caller
        that needs some rows' p(y_t) skips the rest)."""
        embedded = self.embedding(y_prev)  # (B, E)
        energies = weights = context = query = None
        if self.style == "bahdanau":
            query = hidden_of(state.layers[-1])  # s_{t-1} (B, H)
            energies, weights, context = self._attend(query, key_side, encoded)
            rnn_input = torch.cat([embedded, context], dim=-1)  # (B, E + H)
        elif self.style == "none":
            context = encoded.summary  # c (B, H), fixed for every step
            rnn_input = torch.cat([embedded, context], dim=-1) if self.context_input else embedded
        else:
            rnn_input = torch.cat([embedded, state.feed], dim=-1) if state.feed is not None else embedded
        rnn_input = self.dropout(rnn_input)

        if explicit:
            layers, all_gates = step_stack(
                self.rnn, self.config.cell, rnn_input, state.layers, self.rnn.dropout if self.training else 0.0
            )
            gates = all_gates[-1]
        else:
            _, final = self.rnn(rnn_input.unsqueeze(1), stack_layers(state.layers))  # one fused step
            layers, gates = unstack_layers(final), {}
        s_t = hidden_of(layers[-1])  # (B, H)

        if self.style == "luong":
            query = s_t
            energies, weights, context = self._attend(query, key_side, encoded)
        attentional = torch.tanh(self.W_c(torch.cat([context, s_t], dim=-1))) if self.W_c is not None else s_t
        logits = self.W_s(self.dropout(attentional if project is None else attentional[project]))  # (B, V)

        record = StepRecord(
            embedded=embedded,
            rnn_input=rnn_input,
            query=query,
            state=s_t,
            cell=layers[-1][1] if isinstance(layers[-1], tuple) else None,
            layer_states=torch.stack([hidden_of(s) for s in layers]),
            gates=gates,
            energies=energies,
            weights=weights,
            context=context,
            attentional=attentional,
            logits=logits,
        )
        return logits, DecoderState(layers, attentional if self.config.input_feeding else None), record

    def forward_sequence(
        self, y_in: Tensor, encoded: Encoded, key_side: Tensor | None, keep: Tensor | None = None
    ) -> Tensor:
        """Teacher-forced logits for all steps at once (fused RNN). y_in (B, T) -> (B, T, V).

        keep (B, T) bool: project only those positions -> (N, V). W_s is most of the cost of a step (V ≫ H), so
        training skips the padded positions.
        """
        assert self.runs_whole_sequence, "this decoder style needs the step loop"
        embedded = self.embedding(y_in)  # (B, T, E)
        steps = y_in.shape[1]
        if self.style == "none":
            context = encoded.summary.unsqueeze(1).expand(-1, steps, -1)  # (B, T, H)
            rnn_input = torch.cat([embedded, context], dim=-1) if self.context_input else embedded
        else:
            rnn_input = embedded
        states, _ = self.rnn(self.dropout(rnn_input), encoded.initial)  # (B, T, H)
        if self.style == "luong":
            energies = self.attention.energies(states, key_side)  # (B, T, S)
            context, _ = attend(energies, encoded.states, encoded.mask)  # (B, T, H)
        attentional = torch.tanh(self.W_c(torch.cat([context, states], dim=-1))) if self.W_c is not None else states
        if keep is not None:
            attentional = attentional[keep]  # (N, H)
        return self.W_s(self.dropout(attentional))  # (B, T, V), or (N, V) with keep

    def forward_steps(self, y_in: Tensor, encoded: Encoded, key_side: Tensor | None, lengths: Tensor) -> Tensor:
        """Teacher-forced ŝ_t of every real target position, one step at a time: the training path of the styles
        whose step t needs step t-1's output (Bahdanau's context and s_{t-1}, Luong's input feeding).

        The rows must be sorted by target length, longest first (lengths (B,) counts y_in's real positions), so
        step t runs only the first n_t rows, those still writing: no padded position is computed. The step is
        step()'s equations on the same parameters (ŝ_t is what W_s reads), made cheap: the embeddings' share of
        the first layer's input projection, W_ih[:, :E] y_{t-1} + b_ih, is one matmul over all steps; the cells
        are the explicit ones (cells.UPDATES); W_s is left to the caller, over the N real positions at once.
        Returns (N, H), time-major: step 0's rows, then step 1's, ... (the order of y_out.T[mask.T]).
        """
        assert self.style in ("luong", "bahdanau"), "a fixed-context decoder runs the whole sequence"
        cell, layers = self.config.cell, self.config.layers
        active = [int(n) for n in (lengths.unsqueeze(0) > torch.arange(y_in.shape[1]).unsqueeze(1)).sum(1)]
        weights = [layer_weights(self.rnn, layer, reverse=False) for layer in range(layers)]
        w_ih, _, b_ih, _ = weights[0]
        emb_size = self.config.embedding_size
        embedded = self.dropout(self.embedding(y_in))  # (B, T, E)
        x_side_all = nn.functional.linear(embedded, w_ih[:, :emb_size], b_ih)  # (B, T, G·H)
        w_extra = w_ih[:, emb_size:]  # (G·H, H): the context's or ŝ_{t-1}'s columns
        state = self.initial_state(encoded)
        states, feed = list(state.layers), state.feed
        between = self.rnn.dropout if self.training else 0.0
        outputs = []
        for t, n in enumerate(active):
            if n == 0:
                break
            states = [tuple(x[:n] for x in s) if isinstance(s, tuple) else s[:n] for s in states]
            keys, memory, mask = key_side[:n], encoded.states[:n], encoded.mask[:n]
            x_side = x_side_all[:n, t]  # (n, G·H)
            context = None
            if self.style == "bahdanau":
                _, _, context = self._attend_rows(hidden_of(states[-1]), keys, memory, mask)  # query s_{t-1}
                x_side = x_side + nn.functional.linear(self.dropout(context), w_extra)
            elif feed is not None:
                x_side = x_side + nn.functional.linear(self.dropout(feed[:n]), w_extra)
            for layer in range(layers):
                _, w_hh, _, b_hh = weights[layer]
                if layer > 0:
                    below = hidden_of(states[layer - 1])
                    below = nn.functional.dropout(below, between, training=True) if between else below
                    x_side = nn.functional.linear(below, weights[layer][0], weights[layer][2])
                h_side = nn.functional.linear(hidden_of(states[layer]), w_hh, b_hh)
                states[layer], _ = UPDATES[cell](x_side, h_side, states[layer])
            s_t = hidden_of(states[-1])  # (n, H)
            if self.style == "luong":
                _, _, context = self._attend_rows(s_t, keys, memory, mask)
            attentional = torch.tanh(self.W_c(torch.cat([context, s_t], dim=-1)))  # (n, H)
            feed = attentional if self.config.input_feeding else None
            outputs.append(attentional)
        return torch.cat(outputs)  # (N, H)
