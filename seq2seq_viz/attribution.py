"""Attribution: how much each source token contributed to each output token, beside what attention says.

For a decode (a Trace) and each output step t, the target is f_t(x) = log p(y_t | y_<t, x): the log-probability
the model gave the token it wrote, with the decode's own outputs fed back (teacher-forced on y_<t), computed on
the explicit cells the lab traces. Three methods give a (T, S) matrix a_tj, T output tokens by S source tokens
(<eos> included):

  grad_x_input          a_tj = Σ_e x_je ∂f_t/∂x_je                      gradient × input on the source embeddings
  integrated_gradients  a_tj = Σ_e (x_je − x'_je) ∫_0^1 ∂f_t(x' + α(x − x'))/∂x_je dα   (Captum, Riemann sums)
                        baseline x' = the zero embedding (<pad>'s); completeness: Σ_j a_tj ≈ f_t(x) − f_t(x')
  occlusion             a_tj = f_t(x) − f_t(x with token j replaced by <unk>)  (one re-run per source token)

Positive a_tj: token j raised p(y_t). Every method batches its work: the source is repeated once per output
step (row t's target is f_t), so one forward and one backward give every step's gradient.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from .agreement import METHODS
from .decoding import prepare_source
from .errors import InputError
from .model import Seq2Seq
from .trace import Attribution, Trace
from .vocab import BOS_ID, PAD_ID, UNK_ID

IG_STEPS = 32  # Riemann steps of integrated gradients (the issue asks ≥ 20); completeness error ~1e-3 at 32
IG_BATCH = 256  # rows Captum runs at once (steps × output tokens are batched together)


def output_ids(model: Seq2Seq, trace: Trace) -> list[int]:
    ids, unknown = model.target_vocab.encode(trace.output_tokens)
    if unknown or not ids:
        raise InputError("This trace's outputs are not this model's tokens, so they cannot be attributed.")
    return ids


def _log_probs(model: Seq2Seq, src: Tensor, outputs: list[int], steps: Tensor | None = None) -> Tensor:
    """log p(y_t | y_<t, x) of the given outputs for every row of src (N, S), on the explicit cells.

    Without `steps`: every step's, (N, T). With steps (N,): row i's at its own step steps[i] only, (N,); the
    vocabulary projection W_s, most of the work, then runs for each row once instead of T times.
    """
    rows = src.shape[0]
    lengths = torch.full((rows,), src.shape[1], dtype=torch.long)
    encoded, key_side = model.encode(src, lengths, explicit=True)
    state = model.decoder.initial_state(encoded)
    y_prev = torch.full((rows,), BOS_ID, dtype=torch.long)
    last = len(outputs) if steps is None else int(steps.max()) + 1
    result = []
    chosen = torch.zeros(rows, dtype=torch.float64)
    for t, token in enumerate(outputs[:last]):
        here = None if steps is None else steps == t  # the rows whose p(y_t) is wanted (None: every row)
        logits, state, _ = model.decoder.step(y_prev, state, encoded, key_side, explicit=True, project=here)
        log_p = torch.log_softmax(logits.double(), dim=-1)[:, token]  # (rows of `here`,)
        if steps is None:
            result.append(log_p)
        elif log_p.shape[0]:
            chosen = chosen.masked_scatter(here, log_p)
        y_prev = torch.full((rows,), token, dtype=torch.long)
    return torch.stack(result, dim=1) if steps is None else chosen


def attribute(model: Seq2Seq, trace: Trace, methods: Sequence[str] = METHODS) -> Trace:
    """The trace with attribution matrices for these methods (attribution: method -> Attribution)."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InputError(f"Unknown attribution method {unknown[0]!r}; choose among {', '.join(METHODS)}.")
    source = prepare_source(model, trace.source_text)
    if source.tokens != trace.source_tokens:
        raise InputError("This trace was made by another model (its source tokens differ), so it cannot be attributed.")
    outputs = output_ids(model, trace)
    was_training = model.training
    model.eval()
    try:
        computed = {method: COMPUTE[method](model, source.ids, outputs) for method in methods}
    finally:
        model.train(was_training)
    return trace.with_attribution(computed)


def _grad_x_input(model: Seq2Seq, src: Tensor, outputs: list[int]) -> Attribution:
    from captum.attr import LayerGradientXActivation

    steps = torch.arange(len(outputs))  # row t of the batch is attributed for step t
    method = LayerGradientXActivation(lambda ids, at: _log_probs(model, ids, outputs, at), model.encoder.embedding)
    with torch.enable_grad():
        raw = method.attribute(src.expand(len(outputs), -1), additional_forward_args=(steps,))  # (T, S, E)
    return Attribution("grad_x_input", _matrix(raw.sum(-1)), {"target": "log p(y_t)"})


def _integrated_gradients(model: Seq2Seq, src: Tensor, outputs: list[int]) -> Attribution:
    from captum.attr import LayerIntegratedGradients

    steps = torch.arange(len(outputs))  # row t of the batch is attributed for step t
    method = LayerIntegratedGradients(lambda ids, at: _log_probs(model, ids, outputs, at), model.encoder.embedding)
    inputs = src.expand(len(outputs), -1)
    with torch.enable_grad():
        raw, delta = method.attribute(
            inputs,
            baselines=torch.full_like(inputs, PAD_ID),  # <pad>'s embedding is the zero vector
            additional_forward_args=(steps,),
            n_steps=IG_STEPS,
            method="riemann_trapezoid",
            internal_batch_size=IG_BATCH,
            return_convergence_delta=True,
        )
    matrix = raw.sum(-1)  # (T, S)
    with torch.no_grad():  # f(x) − f(x') per step, to put the completeness error on its scale
        change = (_log_probs(model, src, outputs) - _log_probs(model, torch.full_like(src, PAD_ID), outputs))[0]
    settings = {"target": "log p(y_t)", "steps": IG_STEPS, "rule": "trapezoid", "baseline": "zero embeddings"}
    error = float(delta.abs().max())
    return Attribution("integrated_gradients", _matrix(matrix), settings, error, float(change.abs().max()))


def _occlusion(model: Seq2Seq, src: Tensor, outputs: list[int]) -> Attribution:
    length = src.shape[1]
    occluded = src.repeat(length, 1)  # row j: the source with token j replaced by <unk>
    occluded[torch.arange(length), torch.arange(length)] = UNK_ID
    with torch.no_grad():
        original = _log_probs(model, src, outputs)  # (1, T)
        without = _log_probs(model, occluded, outputs)  # (S, T)
    return Attribution("occlusion", _matrix((original - without).T), {"target": "log p(y_t)", "by": "<unk>"})


def _matrix(values: Tensor) -> list[list[float]]:
    rows = values.detach().double().tolist()
    return [[round(v, 6) if math.isfinite(v) else v for v in row] for row in rows]


COMPUTE = {
    "grad_x_input": _grad_x_input,
    "integrated_gradients": _integrated_gradients,
    "occlusion": _occlusion,
}
