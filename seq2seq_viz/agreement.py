"""Does attention agree with attribution? Per output step: rank correlation and the top token (numpy, torch-free).

Attention α_t is a distribution over the source; an attribution row a_t is signed. Both are compared as how much
each source token mattered: the attribution's share s_tj = |a_tj| / Σ_k |a_tk| (on α's scale, summing to 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

# The attribution methods seq2seq_viz.attribution computes (named here, torch-free, so the UI reads them too)
METHODS = ("grad_x_input", "integrated_gradients", "occlusion")


def shares(matrix: Any) -> np.ndarray:
    """|a_tj| / Σ_k |a_tk| per row; a row of zeros stays zeros."""
    values = np.abs(np.asarray(matrix, dtype=np.float64))
    totals = values.sum(axis=-1, keepdims=True)
    return np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)


def ranks(values: Any) -> np.ndarray:
    """Ranks from 1, ties given the mean of the ranks they span (as Spearman's ρ needs)."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    result = np.empty(len(values))
    sorted_values = values[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        result[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return result


def spearman(x: Any, y: Any) -> float | None:
    """Spearman's rank correlation ρ of two vectors; None when either is constant (ρ is undefined)."""
    rx, ry = ranks(x), ranks(y)
    if len(rx) < 2 or np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def agreement(attention: Any, attribution: Any) -> dict[str, Any]:
    """Per step t: ρ(α_t, |a_t|) and whether the most attended source token is the most attributed one; and
    their means over the steps (ρ over the steps where it is defined)."""
    alpha = np.asarray(attention, dtype=np.float64)
    weight = shares(attribution)
    if alpha.shape != weight.shape:
        raise ValueError(f"attention {alpha.shape} and attribution {weight.shape} differ in shape")
    rho = [spearman(a, w) for a, w in zip(alpha, weight, strict=True)]
    top = [bool(np.argmax(a) == np.argmax(w)) for a, w in zip(alpha, weight, strict=True)]
    defined = [r for r in rho if r is not None]
    return {
        "spearman": rho,
        "top_match": top,
        "mean_spearman": float(np.mean(defined)) if defined else None,
        "top_match_rate": float(np.mean(top)) if top else None,
    }
