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


class _Killed(Exception):
    pass


def _kill_after(epochs):
    def on_epoch(report):
        if report.epoch == epochs:
            raise _Killed

    return on_epoch


def test_a_run_killed_between_epochs_goes_on_from_its_state_to_the_same_weights(tmp_path):
    config = TrainConfig(epochs=4, batch_size=32, seed=5, device="cpu", teacher_forcing=0.5, lr_decay=0.7)
    whole = train(SMALL, config, PAIRS, VALID)
    state = tmp_path / "state.pt"
    try:
        train(SMALL, config, PAIRS, VALID, state_file=state, on_epoch=_kill_after(2))
    except _Killed:
        pass
    assert state.is_file()
    logs, epochs = [], []
    resumed = train(SMALL, config, PAIRS, VALID, state_file=state, log=logs.append, on_epoch=epochs.append)
    assert logs == ["state.pt: going on after epoch 1 (step 8)"]  # epoch 2's state was cut off by the kill
    assert [e.epoch for e in epochs] == [2, 3, 4]  # only the epochs not yet saved are trained
    assert [e.valid_loss for e in resumed.history] == [e.valid_loss for e in whole.history]
    assert (resumed.best_epoch, resumed.steps, resumed.stopped_early) == (whole.best_epoch, whole.steps, False)
    expected, got = whole.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    # a finished state is not trained again
    again = train(SMALL, config, PAIRS, VALID, state_file=state, on_epoch=epochs.append)
    assert len(epochs) == 3 and again.steps == whole.steps
    assert all(torch.equal(expected[k], again.model.state_dict()[k]) for k in expected)


def test_a_state_of_other_configs_or_data_or_a_damaged_one_is_not_gone_on_from(tmp_path):
    config = TrainConfig(epochs=2, batch_size=32, seed=5, device="cpu")
    state = tmp_path / "state.pt"
    train(SMALL, config, PAIRS, VALID, state_file=state)
    fresh = train(SMALL, config, PAIRS, VALID).model.state_dict()
    for other_config, other_pairs, why in (
        (TrainConfig(epochs=2, batch_size=32, seed=6, device="cpu"), PAIRS, "another seed"),
        (config, PAIRS[:-1], "one pair fewer"),
    ):
        logs = []
        (tmp_path / "copy2.pt").write_bytes(state.read_bytes())
        result = train(SMALL, other_config, other_pairs, VALID, state_file=tmp_path / "copy2.pt", log=logs.append)
        assert logs == ["copy2.pt: saved by another configuration or data; training from the start"], why
        assert len(result.history) == 2
    state.write_bytes(state.read_bytes()[:1000])
    logs = []
    result = train(SMALL, config, PAIRS, VALID, state_file=state, log=logs.append)
    assert logs == ["state.pt: unreadable (RuntimeError); training from the start"]
    assert all(torch.equal(fresh[k], result.model.state_dict()[k]) for k in fresh)
