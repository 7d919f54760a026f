"""Train live (seq2seq_viz.live): a real child process trains, streams, stops, hands back its model; the gate, bad
settings and crashed children each end in one sentence, never a hang."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from seq2seq_viz import decode, limits, live
from seq2seq_viz.checkpoint import checkpoint_from_bytes, load_checkpoint
from seq2seq_viz.errors import CheckpointError, ConfigError
from seq2seq_viz.limits import BusyError
from seq2seq_viz.live import LiveError, LiveSettings, LiveTraining, running_trainings
from seq2seq_viz.tasks.toy import ALPHABET
from seq2seq_viz.trace import Trace

ROOT = Path(__file__).resolve().parent.parent
SHORT = LiveSettings(hidden_size=32, steps=150, batch_size=64, probe="attention")


@pytest.fixture(scope="module")
def trained():
    """One short real run (reverse, H=32, 150 steps): every assertion on a finished training reads it."""
    training = LiveTraining.start(SHORT)
    state = training.wait(90)
    assert state.status == "done", (state.error, training.stderr_tail())
    return training, state


def wait_until(condition, timeout: float = 60.0, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)


def fake_child(monkeypatch, script: str) -> None:
    """Children that run `script` instead of training (misbehaving ones, or ones that only wait)."""
    monkeypatch.setattr(live, "_child_command", lambda settings, seconds: [sys.executable, "-c", script])


def test_a_short_run_learns_and_streams_every_step_in_order(trained):
    _, state = trained
    assert state.step == state.total == 150 and state.fraction == 1.0 and state.has_model
    assert state.error is None and state.note is None and state.finished
    assert len(state.losses) == 150 and all(np.isfinite(state.losses))
    assert np.mean(state.losses[-30:]) < np.mean(state.losses[:30]) * 0.8

    steps = [s.step for s in state.snapshots]
    assert steps == sorted(set(steps)) and steps[-1] == 150
    assert 30 <= len(steps) <= 60 and steps[0] == SHORT.snapshot_every
    first, last = state.snapshots[0].trace, state.snapshots[-1].trace
    assert isinstance(last, Trace) and last.source_text == "attention" and last.mode == "greedy"
    assert first.attention.shape[1] == last.attention.shape[1] == len("attention") + 1  # with <eos>
    rows = min(len(first.attention), len(last.attention))
    assert not np.allclose(first.attention[:rows], last.attention[:rows], atol=1e-3)  # the alignments moved
    np.testing.assert_allclose(last.attention.sum(axis=1), 1.0, atol=1e-5)

    evals = state.evals
    assert [e.step for e in evals] == sorted({e.step for e in evals}) and evals[-1].step == 150
    assert all(0 <= e.exact_match <= 1 and 0 <= e.token_accuracy <= 1 for e in evals)
    assert evals[-1].token_accuracy > evals[0].token_accuracy
    assert state.tokens_per_second > 0


def test_the_model_handed_back_is_the_one_the_last_snapshot_traced(trained):
    training, state = trained
    model = training.model()
    assert model is training.model() and not model.training  # loaded once, in eval mode
    assert model.name == "reverse-gru-general" and model.config.hidden_size == 32
    again = decode(model, SHORT.probe, "greedy")
    assert again == state.snapshots[-1].trace  # the same weights: the very same trace, every array


def test_checkpoint_bytes_load_with_the_checkpoints_own_loader_to_identical_weights(trained, tmp_path):
    training, _ = trained
    weights, card_text = training.checkpoint_bytes()
    card = json.loads(card_text)
    assert card["live_settings"] == SHORT.to_dict() and card["metrics"]["live"]["step"] == 150
    (tmp_path / card["weights_file"]).write_bytes(weights)
    (tmp_path / card["weights_file"]).with_suffix(".json").write_text(card_text, encoding="utf-8")
    from_files = load_checkpoint(tmp_path / card["weights_file"])
    from_bytes = checkpoint_from_bytes(weights, card_text)
    expected = training.model().state_dict()
    for loaded in (from_files, from_bytes):
        got = loaded.state_dict()
        assert got.keys() == expected.keys() and all(torch.equal(got[k], expected[k]) for k in got)

    damaged = bytearray(weights)
    damaged[-1] ^= 1
    with pytest.raises(CheckpointError, match=r"^Checkpoint 'reverse-gru-general': the weights file does not match"):
        checkpoint_from_bytes(bytes(damaged), card_text)
    with pytest.raises(CheckpointError, match=r"a pickle, which is never loaded\.$"):
        checkpoint_from_bytes(b"\x80\x04" + bytes(20), card_text)
    with pytest.raises(CheckpointError, match=r"^Checkpoint 'in memory': its JSON card is damaged"):
        checkpoint_from_bytes(weights, card_text[:-20])


def test_the_parent_needs_no_torch_to_start_watch_and_replay_a_training():
    probe = textwrap.dedent(
        """
        import sys
        from seq2seq_viz.live import LiveSettings, LiveTraining
        training = LiveTraining.start(LiveSettings(hidden_size=8, steps=12, batch_size=16))
        state = training.wait(60)
        weights, card = training.checkpoint_bytes()
        print(state.status, len(state.snapshots), type(state.snapshots[-1].trace).__name__, len(weights) > 0,
              'torch' in sys.modules)
        """
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=90)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["done", "12", "Trace", "True", "False"]


def test_stop_ends_a_run_early_and_still_hands_back_the_model_so_far():
    training = LiveTraining.start(LiveSettings(hidden_size=16, steps=3000, batch_size=32))
    wait_until(lambda: training.poll().step >= 20)
    training.stop()
    assert training.poll().status in ("stopping", "stopped")
    state = training.wait(60)
    assert state.status == "stopped" and state.has_model and state.error is None
    assert 20 <= state.step < 3000 and len(state.losses) == state.step and state.fraction < 1
    assert state.note == f"The training stopped when asked after {state.step:,} of 3,000 steps."
    assert state.snapshots[-1].step == state.step and state.evals[-1].step == state.step
    assert decode(training.model(), "attention", "greedy") == state.snapshots[-1].trace


def test_the_wall_clock_cap_stops_a_run_and_keeps_its_model(monkeypatch):
    monkeypatch.setattr(limits, "LIMITS", dataclasses.replace(limits.LIMITS, live_seconds_max=4.0))
    started = time.monotonic()
    training = LiveTraining.start(LiveSettings(hidden_size=8, steps=3000, batch_size=16))
    state = training.wait(60)
    assert time.monotonic() - started < 15
    assert state.status == "stopped" and state.has_model and 0 < state.step < 3000
    assert state.note == f"The training stopped at the time limit after {state.step:,} of 3,000 steps."


def test_the_gate_refuses_a_training_beyond_the_servers_share_in_one_sentence(monkeypatch):
    fake_child(monkeypatch, "import sys; sys.stdin.read()")  # waits, like a training, until killed
    monkeypatch.setattr(limits, "LIMITS", dataclasses.replace(limits.LIMITS, live_trainings=2))
    assert running_trainings() == 0
    first, second = LiveTraining.start(), LiveTraining.start()
    try:
        assert running_trainings() == 2
        with pytest.raises(BusyError) as caught:
            LiveTraining.start()
        assert str(caught.value) == "2 trainings are running on this server; try again when one finishes."
        monkeypatch.setattr(limits, "LIMITS", dataclasses.replace(limits.LIMITS, live_trainings=1))
        with pytest.raises(BusyError, match=r"^2 trainings are running"):
            LiveTraining.start()
        first.kill()
        state = first.wait(10)
        assert state.status == "stopped" and not state.has_model and state.error is None
        assert running_trainings() == 1
        with pytest.raises(BusyError, match=r"^1 training is running on this server; try again when one finishes\.$"):
            LiveTraining.start()
        with pytest.raises(LiveError, match=r"^The training was ended before it sent its model, so there is none\.$"):
            first.model()
    finally:
        second.kill()
        second.wait(10)
    assert running_trainings() == 0
    third = LiveTraining.start()  # the slots are free again
    assert third.poll().status == "starting"
    with pytest.raises(LiveError, match=r"^The training has not finished yet, so there is no model to use\.$"):
        third.checkpoint_bytes()
    third.kill()
    assert third.wait(10).status == "stopped"


@pytest.mark.parametrize(
    ("fields", "sentence"),
    [
        ({"task": "eng-fra"}, "Live training offers the tasks reverse, sort, copy, dates, not 'eng-fra'."),
        ({"cell": "transformer"}, "The cell must be one of rnn, gru, lstm, not 'transformer'."),
        ({"attention": "multihead"}, "The attention must be one of none, dot, general, concat, additive, not"),
        ({"hidden_size": 512}, "The hidden size must be between 4 and 128, not 512."),
        ({"hidden_size": 33}, "The hidden size must be even (the encoder reads both ways, H/2 each), not 33."),
        ({"hidden_size": 32.0}, "The hidden size must be a whole number, not 32.0."),
        ({"steps": 5000}, "The number of steps must be between 1 and 3,000, not 5,000."),
        ({"steps": 0}, "The number of steps must be between 1 and 3,000, not 0."),
        ({"batch_size": 1000}, "The batch size must be between 1 and 256, not 1,000."),
        ({"seed": -1}, "The seed must be between 0 and 2,147,483,647, not -1."),
        ({"learning_rate": 5.0}, "The learning rate must be a number between 0.00001 and 0.1, not 5.0."),
        ({"probe": "x" * 31}, "The probe has 31 characters; a live training traces at most 30."),
        ({"probe": "hello world!"}, "The reverse task only ever shows the model the letters a–z, so the probe"),
    ],
)
def test_bad_settings_are_refused_in_one_sentence(fields, sentence):
    with pytest.raises(ConfigError) as caught:
        LiveSettings(**fields)
    assert str(caught.value).startswith(sentence) and str(caught.value).endswith(".")
    assert "\n" not in str(caught.value)


def test_settings_defaults_probes_and_snapshot_cadence():
    assert live.TOY_LETTERS == ALPHABET
    assert LiveSettings().probe == "attention" and LiveSettings(probe="  Hello ").probe == "hello"
    assert LiveSettings(task="dates").probe == "3rd of March 1999"
    assert LiveSettings(task="dates", probe="14 juillet 2015").probe == "14 juillet 2015"
    for steps in (30, 150, 600, 1234, 3000):
        settings = LiveSettings(steps=steps)
        assert 30 <= steps // settings.snapshot_every <= 60
        assert settings.eval_every % settings.snapshot_every == 0
    assert LiveSettings.from_dict(LiveSettings(task="sort").to_dict()) == LiveSettings(task="sort")
    with pytest.raises(ConfigError, match=r"^Live training has no setting\(s\) epochs\.$"):
        LiveSettings.from_dict({"epochs": 3})


@pytest.mark.parametrize(
    ("script", "sentence"),
    [
        (
            'import sys; print(\'{"event": "started", "total": 9}\', flush=True); sys.exit(3)',
            "The training process ended unexpectedly (exit code 3); no model was kept.",
        ),
        ("import os; os.kill(os.getpid(), 9)", "The training process ended unexpectedly (exit code -9); no model"),
        ("print('Traceback (most recent call last):', flush=True)", "The training process sent something unreadable"),
    ],
)
def test_a_child_that_crashes_becomes_failed_with_a_sentence(monkeypatch, script, sentence):
    fake_child(monkeypatch, script)
    training = LiveTraining.start()
    state = training.wait(20)
    assert state.status == "failed" and state.error.startswith(sentence) and not state.has_model
    with pytest.raises(LiveError, match=r"^The training failed, so there is no model: The training process"):
        training.model()
    assert running_trainings() == 0


def test_a_child_given_bad_settings_answers_with_the_settings_sentence(monkeypatch):
    payload = json.dumps({"settings": {"task": "reverse", "hidden_size": 4096}, "seconds_max": 10})
    monkeypatch.setattr(live, "_child_command", lambda s, t: [sys.executable, "-m", "seq2seq_viz.live", payload])
    state = LiveTraining.start().wait(30)
    assert state.status == "failed" and state.error == "The hidden size must be between 4 and 128, not 4,096."


def test_the_child_dies_with_its_parent():
    parent = textwrap.dedent(
        """
        import os
        from seq2seq_viz.live import LiveSettings, LiveTraining
        training = LiveTraining.start(LiveSettings(steps=3000))
        print(training.pid, flush=True)
        os._exit(0)  # no cleanup: the child only sees its stdin close
        """
    )
    result = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, cwd=ROOT, timeout=60)
    pid = int(result.stdout.split()[0])

    def gone() -> bool:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        return stat.rsplit(")", 1)[1].split()[0] == "Z"  # a zombie waiting for its new parent to reap it

    try:
        wait_until(gone, timeout=15)
    finally:
        if not gone():
            os.kill(pid, 9)
