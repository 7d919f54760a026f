"""AppTest of a user's own models directory ($SEQ2SEQ_VIZ_MODELS, as `-- --models DIR`): its models are offered
beside the shipped ones (a clashing name renamed, a fourth picker when two share task, cell and attention), each
decodes with its own weights, and a damaged file is one sentence while the rest open."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from app_support import assert_clean, figures, heatmap_z, run_app, zoo  # noqa: F401  (zoo is a fixture)

from seq2seq_viz import greedy, load_model
from seq2seq_viz.checkpoint import save_checkpoint
from seq2seq_viz.config import TrainConfig
from ui import cache, state


@pytest.fixture(scope="module")
def own(zoo, tmp_path_factory):  # noqa: F811
    """A directory with a retrained copy of a shipped name, a model of its own, and two damaged files."""
    directory = tmp_path_factory.mktemp("own")
    for name, seed in (("reverse-gru-general", 11), ("mine-gru-general", 12)):
        model = load_model("reverse-gru-general", directory=zoo)
        torch.manual_seed(seed)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(0.3 * torch.randn_like(parameter))
        if name.startswith("mine"):
            model.config = type(model.config)(**{**model.config.to_dict(), "task": "mine"})
        save_checkpoint(model, directory / name, TrainConfig(), {}, {}, {"examples": ["abc"]})
    (directory / "broken.json").write_text("{not json", encoding="utf-8")
    shutil.copy(directory / "mine-gru-general.json", directory / "orphan.json")  # a card without its weights
    yield directory


@pytest.fixture(autouse=True)
def _env(own, monkeypatch):
    monkeypatch.setenv(cache.MODELS_ENV, str(own))


def test_own_models_are_offered_beside_the_shipped_ones_and_decode_with_their_weights(own, zoo):  # noqa: F811
    at = run_app(model="reverse-gru-general-yours", text="abc")
    assert_clean(at)
    assert at.session_state[state.MODEL_NAME] == "reverse-gru-general-yours"
    names = at.selectbox(key=state.SIDEBAR_PICKER.model_key).options  # two share reverse · GRU · general
    assert "reverse-gru-general" in names and any("reverse-gru-general-yours" in n for n in names)
    mine = greedy(load_model("reverse-gru-general", directory=own), "abc")
    shipped = greedy(load_model("reverse-gru-general", directory=zoo), "abc")
    z = heatmap_z(figures(at)["translate-heatmap"])
    np.testing.assert_allclose(z, mine.attention, atol=1e-6)
    assert z.shape != shipped.attention.shape or not np.allclose(z, shipped.attention, atol=1e-4)
    at.selectbox(key=state.SIDEBAR_PICKER.model_key).set_value("reverse-gru-general").run()
    assert_clean(at)
    np.testing.assert_allclose(heatmap_z(figures(at)["translate-heatmap"]), shipped.attention, atol=1e-6)


def test_a_task_of_its_own_and_one_sentence_per_bad_file(own):
    at = run_app(model="mine-gru-general", text="abc")
    assert_clean(at)
    assert at.session_state[state.TASK] == "mine"
    problems = [c.value.replace("\\", "") for e in at.sidebar.expander for c in e.caption]
    assert len(problems) == 2, problems
    assert any("broken" in p for p in problems) and any("orphan" in p for p in problems)
