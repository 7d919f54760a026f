"""Seq2Seq: an Encoder and a Decoder built from one ModelConfig, plus the vocabularies they read and write."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import ModelConfig
from .decoder import Decoder
from .encoder import Encoded, Encoder
from .vocab import PAD_ID, Vocab


class Seq2Seq(nn.Module):
    def __init__(self, config: ModelConfig, source_vocab: Vocab, target_vocab: Vocab) -> None:
        super().__init__()
        self.config = config
        self.source_vocab, self.target_vocab = source_vocab, target_vocab
        self.encoder = Encoder(config, len(source_vocab))
        self.decoder = Decoder(config, len(target_vocab))

    @classmethod
    def from_config(cls, config: ModelConfig, source_vocab: Vocab, target_vocab: Vocab) -> Seq2Seq:
        return cls(config, source_vocab, target_vocab)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode(self, src: Tensor, lengths: Tensor, explicit: bool = False) -> tuple[Encoded, Tensor | None]:
        encoded = self.encoder(src, lengths, explicit=explicit)
        return encoded, self.decoder.key_side(encoded)

    def forward(
        self,
        src: Tensor,
        lengths: Tensor,
        y_in: Tensor,
        fast: bool = True,
        teacher_forcing: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Training logits. src (B, S), lengths (B,), y_in (B, T) = <bos> + gold target -> (B, T, V).

        fast: fused encoder and (where the style allows and every step is teacher-forced) a fused decoder over
        the whole sequence; otherwise one step at a time, explicit equations when fast is False.
        teacher_forcing < 1: at each step a coin (per sentence) feeds the gold token or the model's own argmax.
        """
        encoded, key_side = self.encode(src, lengths, explicit=not fast)
        if fast and teacher_forcing >= 1.0 and self.decoder.runs_whole_sequence:
            return self.decoder.forward_sequence(y_in, encoded, key_side)
        state = self.decoder.initial_state(encoded)
        y_prev = y_in[:, 0]
        all_logits = []
        for t in range(y_in.shape[1]):
            logits, state, _ = self.decoder.step(y_prev, state, encoded, key_side, explicit=not fast)
            all_logits.append(logits)
            if t + 1 < y_in.shape[1]:
                y_prev = y_in[:, t + 1]
                if teacher_forcing < 1.0:
                    coin = torch.rand(y_prev.shape, generator=generator, device="cpu").to(y_prev.device)
                    y_prev = torch.where(coin < teacher_forcing, y_prev, logits.argmax(-1))
        return torch.stack(all_logits, dim=1)  # (B, T, V)

    def loss(
        self,
        src: Tensor,
        lengths: Tensor,
        y_in: Tensor,
        y_out: Tensor,
        fast: bool = True,
        teacher_forcing: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Mean negative log-likelihood per real target token: −(1/N) Σ log p(y_t | y_<t, x).

        Same value as F.cross_entropy over forward()'s logits; on the whole-sequence path only the N real
        positions are projected to the vocabulary.
        """
        if fast and teacher_forcing >= 1.0 and self.decoder.runs_whole_sequence:
            keep = y_out != PAD_ID  # (B, T)
            encoded, key_side = self.encode(src, lengths)
            logits = self.decoder.forward_sequence(y_in, encoded, key_side, keep)  # (N, V)
            return F.cross_entropy(logits, y_out[keep])
        if fast and teacher_forcing >= 1.0:  # a step loop over the real positions only, W_s once at the end
            keep = y_out != PAD_ID  # (B, T)
            order = keep.sum(1).argsort(descending=True, stable=True)  # longest target first
            encoded, key_side = self.encode(src, lengths)
            encoded, key_side = encoded.select(order), key_side[order] if key_side is not None else None
            y_in, y_out, keep = y_in[order], y_out[order], keep[order]
            attentional = self.decoder.forward_steps(y_in, encoded, key_side, keep.sum(1))  # (N, H), time-major
            logits = self.decoder.W_s(self.decoder.dropout(attentional))  # (N, V)
            return F.cross_entropy(logits, y_out.T[keep.T])
        logits = self(src, lengths, y_in, fast, teacher_forcing, generator)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y_out.reshape(-1), ignore_index=PAD_ID)
