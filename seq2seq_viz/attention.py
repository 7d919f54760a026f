"""Attention as pure functions: score(query, keys) -> energies, then softmax over the source and a weighted sum.

e_ij = score(s_i, h_j);  α_ij = softmax_j(e_ij);  c_i = Σ_j α_ij h_j

Scores (Luong et al. 2015; Bahdanau et al. 2015):
  dot       score(s, h) = sᵀ h
  general   score(s, h) = sᵀ W_a h
  concat    score(s, h) = v_aᵀ tanh(W_a [s; h])
  additive  score(s, h) = v_aᵀ tanh(W s + U h + b)
The key-side half of each score depends only on the source, so it is computed once per sentence (`key_side`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def dot_energies(query: Tensor, keys: Tensor) -> Tensor:
    """query (B, T, H), keys (B, S, H) -> (B, T, S)."""
    return query @ keys.transpose(1, 2)


def general_energies(query: Tensor, projected_keys: Tensor) -> Tensor:
    """sᵀ W_a h, with projected_keys = W_a h precomputed. -> (B, T, S)."""
    return query @ projected_keys.transpose(1, 2)


def tanh_energies(query_side: Tensor, projected_keys: Tensor, v: Tensor) -> Tensor:
    """v_aᵀ tanh(query_side + projected_keys) for every (t, j) pair: (B, T, H) + (B, S, H) -> (B, T, S)."""
    hidden = torch.tanh(query_side.unsqueeze(2) + projected_keys.unsqueeze(1))  # (B, T, S, H)
    return hidden @ v  # (B, T, S)


def masked_softmax(energies: Tensor, mask: Tensor | None) -> Tensor:
    """Softmax over the source positions; positions where mask (B, S) is false get exactly zero weight."""
    if mask is not None:
        energies = energies.masked_fill(~mask.unsqueeze(1), float("-inf"))
    return torch.softmax(energies, dim=-1)


def attend(energies: Tensor, keys: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """α = softmax(e) over real positions; c = Σ_j α_j h_j. energies (B, T, S), keys (B, S, H).

    Returns (context (B, T, H), weights (B, T, S)).
    """
    weights = masked_softmax(energies, mask)  # (B, T, S)
    context = weights @ keys  # (B, T, H)
    return context, weights


class Attention(nn.Module):
    """Holds the parameters of one score function; computing with them is stateless."""

    def __init__(self, score: str, hidden_size: int) -> None:
        super().__init__()
        self.score = score
        if score == "general":
            self.W_a = nn.Linear(hidden_size, hidden_size, bias=False)
        elif score == "concat":
            # W_a [s; h] = W_q s + W_k h: one matrix (H, 2H) split in two halves when applied.
            self.W_a = nn.Linear(2 * hidden_size, hidden_size, bias=False)
            self.v_a = nn.Parameter(torch.empty(hidden_size).uniform_(-0.1, 0.1))
        elif score == "additive":
            self.W = nn.Linear(hidden_size, hidden_size, bias=False)  # query (decoder state) side
            self.U = nn.Linear(hidden_size, hidden_size, bias=True)  # key (encoder state) side, with b
            self.v_a = nn.Parameter(torch.empty(hidden_size).uniform_(-0.1, 0.1))
        elif score != "dot":
            raise ValueError(f"unknown attention score {score!r}")

    def key_side(self, keys: Tensor) -> Tensor:
        """The part of the score that depends on the source only. keys (B, S, H) -> (B, S, H)."""
        if self.score == "general":
            return self.W_a(keys)  # W_a h
        if self.score == "concat":
            return keys @ self.W_a.weight[:, keys.shape[-1] :].T  # W_k h
        if self.score == "additive":
            return self.U(keys)  # U h + b
        return keys

    def energies(self, query: Tensor, key_side: Tensor) -> Tensor:
        """query (B, T, H), key_side from key_side() -> energies (B, T, S)."""
        if self.score == "dot":
            return dot_energies(query, key_side)
        if self.score == "general":
            return general_energies(query, key_side)
        if self.score == "concat":
            query_side = query @ self.W_a.weight[:, : query.shape[-1]].T  # W_q s
            return tanh_energies(query_side, key_side, self.v_a)
        return tanh_energies(self.W(query), key_side, self.v_a)  # additive: W s
