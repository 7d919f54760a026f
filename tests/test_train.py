"""Training: deterministic, the fast and explicit paths agree, it learns, callbacks and early stopping work."""

import torch

from seq2seq_viz.config import ModelConfig, TrainConfig
from seq2seq_viz.tasks import get_task
from seq2seq_viz.train import batches, build_vocabs, sequence_loss, train

TASK = get_task("reverse")
PAIRS = TASK.pairs("train")[:256]
VALID = TASK.pairs("valid")[:64]
SMALL = ModelConfig(task="reverse", hidden_size=16, embedding_size=8, attention="general", bidirectional=True)


def test_same_seed_gives_bit_identical_weights():
    config = TrainConfig(epochs=1, batch_size=32, seed=3, device="cpu", teacher_forcing=0.5)
    first = train(SMALL, config, PAIRS, VALID).model.state_dict()
    second = train(SMALL, config, PAIRS, VALID).model.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)
    other = train(SMALL, TrainConfig(epochs=1, batch_size=32, seed=4, device="cpu"), PAIRS, VALID).model.state_dict()
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_fast_and_explicit_paths_give_the_same_loss():
    for attention in ("general", "additive", "none"):
        config = ModelConfig(task="reverse", hidden_size=16, embedding_size=8, attention=attention, layers=2)
        vocabs = build_vocabs(PAIRS)
        torch.manual_seed(0)
        from seq2seq_viz.model import Seq2Seq

        model = Seq2Seq(config, *vocabs).eval()
        batch = batches(PAIRS[:32], *vocabs, 32, None)[0]
        fast = sequence_loss(model(batch.src, batch.lengths, batch.y_in, fast=True), batch.y_out)
        slow = sequence_loss(model(batch.src, batch.lengths, batch.y_in, fast=False), batch.y_out)
        assert abs(fast.item() - slow.item()) < 1e-5
        for path in (True, False):  # model.loss projects only real positions; same value as the full logits
            masked = model.loss(batch.src, batch.lengths, batch.y_in, batch.y_out, fast=path)
            assert abs(masked.item() - fast.item()) < 1e-5


def test_it_learns_and_reports_progress_and_snapshots():
    steps, epochs, snapshots = [], [], []
    result = train(
        SMALL,
        TrainConfig(epochs=3, batch_size=16, lr=1e-2, device="cpu"),
        PAIRS,
        VALID,
        on_step=steps.append,
        on_epoch=epochs.append,
        on_snapshot=lambda step, model: snapshots.append((step, model.training)),
        snapshot_every=10,
    )
    assert len(steps) == result.steps == 3 * 16
    assert steps[-1].step == steps[-1].total_steps == 48
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert epochs[-1].valid_loss < epochs[0].valid_loss
    assert snapshots == [(10, False), (20, False), (30, False), (40, False)]
    assert not result.model.training


def test_max_steps_and_should_stop():
    config = TrainConfig(epochs=5, batch_size=16, max_steps=7, device="cpu")
    assert train(SMALL, config, PAIRS, VALID).steps == 7
    calls = []
    stopped = train(
        SMALL,
        TrainConfig(epochs=5, batch_size=16, device="cpu"),
        PAIRS,
        VALID,
        should_stop=lambda: calls.append(1) or len(calls) >= 3,
    )
    assert stopped.steps == 3 and len(stopped.history) == 1


def test_early_stopping_keeps_the_best_epoch():
    config = TrainConfig(epochs=30, batch_size=64, lr=5e-2, patience=1, device="cpu")
    result = train(SMALL, config, PAIRS[:64], VALID)
    losses = [e.valid_loss for e in result.history]
    assert result.best_epoch == 1 + losses.index(min(losses))
    assert result.stopped_early == (len(result.history) < 30)


def test_the_bucketed_batcher_covers_every_pair_once_per_epoch_and_groups_similar_lengths():
    import random

    from seq2seq_viz.train import batch_groups

    rng = random.Random(0)
    pairs = [(["w"] * rng.randint(1, 20), ["v"] * rng.randint(1, 20)) for _ in range(1000)]
    for seed in (0, 1):
        groups = batch_groups(pairs, 16, torch.Generator().manual_seed(seed))
        flat = [i for group in groups for i in group]
        assert sorted(flat) == list(range(1000)) and all(1 <= len(g) <= 16 for g in groups)
        spread = sum(max(len(pairs[i][0]) for i in g) - min(len(pairs[i][0]) for i in g) for g in groups) / len(groups)
        assert spread < 2  # random batches of 16 from 1-20 would spread ~15
    assert batch_groups(pairs, 16, torch.Generator().manual_seed(0)) != batch_groups(
        pairs, 16, torch.Generator().manual_seed(1)
    )
