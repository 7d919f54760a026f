"""The fused fast path and the explicit per-step path give the same numbers for every variant."""

import itertools

import pytest
import torch

from seq2seq_viz.train import make_batch, sequence_loss

VARIANTS = [
    dict(cell=c, attention=a, bidirectional=bi, layers=layers, bridge="linear" if bi else "copy")
    for c, a, (bi, layers) in itertools.product(
        ["rnn", "gru", "lstm"], ["none", "dot", "general", "concat", "additive"], [(False, 1), (True, 2)]
    )
] + [
    dict(attention="none", fixed_context="init"),
    dict(cell="lstm", attention="general", input_feeding=True),
    dict(attention="dot", style="bahdanau"),
]


def batch(model):
    pairs = [(list("abcdef"), list("fedcba")), (list("abc"), list("cba")), (list("j"), list("j"))]
    return make_batch(pairs, model.source_vocab, model.target_vocab)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(str(x) for x in v.values()))
def test_fast_and_explicit_paths_agree(variant, make_model):
    model = make_model(**variant)
    b = batch(model)
    fast = model(b.src, b.lengths, b.y_in, fast=True)
    explicit = model(b.src, b.lengths, b.y_in, fast=False)
    assert fast.shape == (3, b.y_in.shape[1], len(model.target_vocab))
    assert (fast - explicit).abs().max() < 1e-5
    assert abs(sequence_loss(fast, b.y_out).item() - sequence_loss(explicit, b.y_out).item()) < 1e-5


def test_padding_does_not_change_a_sentence(make_model):
    model = make_model(attention="general", bidirectional=True)
    b = batch(model)
    alone = make_batch([(list("abc"), list("cba"))], model.source_vocab, model.target_vocab)
    together = model(b.src, b.lengths, b.y_in)[1, :4]
    single = model(alone.src, alone.lengths, alone.y_in)[0]
    assert (together - single).abs().max() < 1e-5


def test_teacher_forcing_ratio_zero_feeds_predictions(make_model):
    model = make_model(attention="general")
    b = batch(model)
    generator = torch.Generator().manual_seed(0)
    mixed = model(b.src, b.lengths, b.y_in, teacher_forcing=0.0, generator=generator)
    forced = model(b.src, b.lengths, b.y_in)
    assert torch.allclose(mixed[:, 0], forced[:, 0], atol=1e-6)  # step 0 always reads <bos>
    assert not torch.allclose(mixed, forced, atol=1e-4)


TRAINING_VARIANTS = [
    dict(cell=c, attention=a, input_feeding=feed, bidirectional=bi, layers=layers, bridge="linear")
    for c, a, feed, (bi, layers) in itertools.product(
        ["rnn", "gru", "lstm"],
        ["none", "dot", "general", "concat", "additive"],
        [False, True],
        [(True, 1), (False, 2)],
    )
    if not (feed and a in ("none", "additive"))  # input feeding is Luong's
] + [dict(attention="general", style="bahdanau"), dict(attention="none", fixed_context="init")]


@pytest.mark.parametrize("variant", TRAINING_VARIANTS, ids=lambda v: "-".join(str(x) for x in v.values()))
def test_the_training_loss_and_its_gradients_match_the_explicit_path(variant, make_model):
    """model.loss's fast path (fused encoder; the whole-sequence decoder, or the step loop over real positions
    with W_s once at the end) against the explicit cells step by step over every padded position: the same loss
    and the same gradient for every parameter (≤ 1e-5), on a batch whose targets have different lengths."""
    model = make_model(hidden_size=8, **variant).train()  # dropout 0: train mode, and still deterministic
    pairs = [(list("abcde"), list("edcba")), (list("ab"), list("ba")), (list("abcdefgh"), list("hgf")),
             (list("j"), list("jjjjjj"))]  # fmt: skip
    b = make_batch(pairs, model.source_vocab, model.target_vocab)
    results = {}
    for fast in (True, False):
        model.zero_grad(set_to_none=True)
        loss = model.loss(b.src, b.lengths, b.y_in, b.y_out, fast=fast)
        loss.backward()
        results[fast] = (loss.item(), {k: p.grad for k, p in model.named_parameters() if p.grad is not None})
    (fast_loss, fast_grads), (slow_loss, slow_grads) = results[True], results[False]
    assert abs(fast_loss - slow_loss) < 1e-5
    assert fast_grads.keys() == slow_grads.keys() and len(slow_grads) >= 8
    for name, grad in slow_grads.items():
        assert (fast_grads[name] - grad).abs().max() < 1e-5, name
    assert any(grad.abs().max() > 1e-4 for grad in slow_grads.values())  # the gradients are not all zero
