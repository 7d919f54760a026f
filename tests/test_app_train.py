"""AppTest of Train live: a short real training lowers its loss, its snapshots replay (the heatmap is each
snapshot's own attention), the model joins this session's picker only, decodes as the handed-back weights do,
downloads as a loadable checkpoint; Stop still gives a model; a full server says so in one sentence."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from app_support import assert_clean, decode_array, figures, heatmap_z, output_box, run_app, zoo  # noqa: F401

from seq2seq_viz import greedy, limits
from seq2seq_viz.checkpoint import checkpoint_from_bytes
from ui import state

TRAIN_PAGE = "ui/views/train.py"


@pytest.fixture(scope="module", autouse=True)
def _zoo(zoo):  # noqa: F811
    return zoo


def _trained(steps: int = 100, hidden: int = 32, probe: str = "hello"):
    at = run_app(TRAIN_PAGE)
    assert_clean(at)
    at.slider(key="live_steps").set_value(steps)
    at.select_slider(key="live_hidden").set_value(hidden)
    at.text_input(key="live_probe").set_value(probe)
    at.button(key="live-train").click().run()
    assert_clean(at)
    job = at.session_state[state.LIVE_JOB]
    view = job.wait(120)
    at.run()
    assert_clean(at)
    return at, job, view


@pytest.fixture(scope="module")
def trained():
    return _trained()


def test_a_short_training_lowers_its_loss_and_its_snapshots_replay(trained):
    at, _, view = trained
    assert view.status == "done" and view.step == 100
    first, last = np.mean(view.losses[:10]), np.mean(view.losses[-10:])
    assert last < 0.8 * first, (first, last)
    curves = figures(at)["live-curves"]
    np.testing.assert_allclose(decode_array(curves["data"][0]["y"]), view.losses, atol=1e-9)
    steps = [s.step for s in view.snapshots]
    assert steps == sorted(steps) and len(steps) > 2
    shown = []
    for step in (steps[0], steps[-1]):
        at.select_slider(key=state.LIVE_SNAPSHOT).set_value(step).run()
        assert_clean(at)
        snapshot = next(s.trace for s in view.snapshots if s.step == step)
        z = heatmap_z(figures(at)["live-heatmap"])
        np.testing.assert_allclose(z, snapshot.attention, atol=1e-6)
        assert output_box(at, "live-output") == (snapshot.output_text or "(nothing but the end token)")
        shown.append(z)
    same = shown[0].shape == shown[1].shape and np.allclose(shown[0], shown[1], atol=1e-3)
    assert not same, "the first and last snapshots show different attention"


def test_the_model_joins_this_sessions_picker_and_decodes_as_its_weights(trained, zoo):  # noqa: F811
    at, job, view = trained
    at.button(key="live-use").click().run()
    assert_clean(at)
    name = at.session_state[state.MODEL_NAME]
    assert name.endswith("-live1") and at.session_state[state.TEXT] == "hello"
    at.switch_page("ui/views/translate.py").run()
    assert_clean(at)
    weights, card = job.checkpoint_bytes()
    expected = greedy(checkpoint_from_bytes(weights, card), "hello")  # the downloaded files, loaded afresh
    np.testing.assert_allclose(heatmap_z(figures(at)["translate-heatmap"]), expected.attention, atol=1e-6)
    assert output_box(at, "translate-output") == (expected.output_text or "(nothing but the end token)")
    assert expected.output_text == view.snapshots[-1].trace.output_text  # the last snapshot is the model handed back
    other = run_app(model=name)  # another student's session never sees it: the link's model is not there
    assert any("no model called" in w.value for w in other.warning)
    assert other.session_state[state.MODEL_NAME] != name


def test_the_downloads_are_the_checkpoint(trained):
    at, _, _ = trained
    at.switch_page(TRAIN_PAGE).run()  # the training is still this session's when it comes back to the page
    assert_clean(at)
    buttons = {b.proto.label: b for b in at.get("download_button")}
    assert {"Weights (safetensors)", "Card (JSON)"} <= set(buttons)


def test_stop_ends_early_and_still_gives_a_model():
    at = run_app(TRAIN_PAGE)
    at.slider(key="live_steps").set_value(3000)
    at.button(key="live-train").click().run()
    job = at.session_state[state.LIVE_JOB]
    deadline = 60
    while job.poll().step < 20 and deadline > 0:  # let it train a few steps first
        job.wait(0.5)
        deadline -= 0.5
    at.run()
    at.button(key="live-stop").click().run()
    view = job.wait(60)
    at.run()
    assert_clean(at)
    assert view.status == "stopped" and 0 < view.step < 3000
    assert any("stop" in i.value.lower() for i in at.info)
    assert at.button(key="live-use") is not None


def test_a_full_server_says_so(monkeypatch):
    monkeypatch.setattr(limits, "LIMITS", dataclasses.replace(limits.LIMITS, live_trainings=0))
    at = run_app(TRAIN_PAGE)
    at.button(key="live-train").click().run()
    assert_clean(at)
    assert any("running on this server" in w.value for w in at.warning)
    assert state.LIVE_JOB not in at.session_state
