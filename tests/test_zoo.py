"""The zoo plan is fair (one set of hyperparameters per task); resuming and reindexing trust only finished cards."""

import json

import pytest

from seq2seq_viz.checkpoint import save_checkpoint
from seq2seq_viz.config import ATTENTIONS, CELLS
from seq2seq_viz.registry import list_models
from seq2seq_viz.tasks.toy import TRAIN_LENGTHS
from seq2seq_viz.zoo import adopt, is_current, plan, planned, reindex


@pytest.fixture(autouse=True)
def few_attribution_examples(monkeypatch):
    """A zoo build measures attribution on 100 test examples; 3 keep these tests quick (an untrained model
    writes to its cap, and integrated gradients runs 32 steps of it)."""
    from seq2seq_viz import zoo

    monkeypatch.setattr(zoo, "ATTRIBUTION_EXAMPLES", 3)


def test_the_plan_covers_every_variant_with_shared_hyperparameters():
    names = {f"{t}-{c}-{a}" for t, c, a in plan()}
    for task in ("eng-fra", "dates"):
        assert {f"{task}-{c}-{a}" for c in CELLS for a in ATTENTIONS} <= names
    for toy in ("reverse", "sort", "copy"):
        assert {f"{toy}-gru-none", f"{toy}-gru-general", f"{toy}-gru-additive"} <= names
    for task in ("dates", "reverse"):
        configs = [planned(t, c, a) for t, c, a in plan([task])]
        shared = {(m.to_dict() | {"cell": None, "attention": None}).__repr__() for m, _ in configs}
        assert len(shared) == 1 and len({t for _, t in configs}) == 1


def test_resume_and_reindex_trust_only_finished_cards(tmp_path, make_model):
    model_config, train_config = planned("reverse", "gru", "general")
    from seq2seq_viz.model import Seq2Seq

    model = Seq2Seq(model_config, make_model().source_vocab, make_model().target_vocab)
    save_checkpoint(model, tmp_path / model_config.name, train_config, metrics={})
    assert not is_current(tmp_path / model_config.name, model_config, train_config)  # not evaluated yet
    save_checkpoint(model, tmp_path / model_config.name, train_config, metrics={"test": {"exact_match": 1.0}})
    assert is_current(tmp_path / model_config.name, model_config, train_config)
    other = planned("reverse", "gru", "additive")[1]
    assert is_current(tmp_path / model_config.name, model_config, other)  # same train config for the task
    changed = type(train_config)(**{**train_config.to_dict(), "lr": 0.5})
    assert not is_current(tmp_path / model_config.name, model_config, changed)
    weights = (tmp_path / model_config.name).with_suffix(".safetensors")
    written = weights.read_bytes()
    weights.write_bytes(written[:-8])  # cut off while writing: the card's sha256 is not these weights'
    assert not is_current(tmp_path / model_config.name, model_config, train_config)
    weights.write_bytes(written)

    unfinished = make_model(1, attention="dot")
    save_checkpoint(unfinished, tmp_path / "reverse-gru-dot")
    (tmp_path / "junk.json").write_text("{not json")
    assert reindex(tmp_path, log=lambda _: None) == [model_config.name]
    manifest = json.loads((tmp_path / "MANIFEST.json").read_text())
    assert "source_vocab" not in manifest["models"][model_config.name]
    assert list(list_models(tmp_path)) == [model_config.name]


def test_adopt_takes_a_matching_checkpoint_and_refuses_another(tmp_path, make_model):
    import pytest

    from seq2seq_viz.errors import ConfigError
    from seq2seq_viz.model import Seq2Seq
    from seq2seq_viz.registry import load_model
    from seq2seq_viz.tasks import get_task
    from seq2seq_viz.train import build_vocabs

    model_config, train_config = planned("copy", "gru", "general")
    vocabs = build_vocabs(get_task("copy").pairs("train"))
    save_checkpoint(Seq2Seq(model_config, *vocabs), tmp_path / "elsewhere", train_config)
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    assert adopt(tmp_path / "elsewhere", zoo, log=lambda _: None) == "copy-gru-general"
    adopted = load_model("copy-gru-general", directory=zoo)
    assert adopted.card["dtype"] == "float16" and adopted.card["test_examples"]
    test = adopted.card["metrics"]["test"]  # evaluated on the whole test split, from the stored (float16) weights
    assert test["examples"] == len(get_task("copy").test) and 0 <= test["exact_match"] <= 1

    other = type(train_config)(**{**train_config.to_dict(), "lr": 0.5})
    save_checkpoint(Seq2Seq(model_config, *vocabs), tmp_path / "tuned", other)
    with pytest.raises(ConfigError, match=r"train\.lr"):
        adopt(tmp_path / "tuned", zoo, log=lambda _: None)


def _copy_shipped(name, directory):
    import shutil

    from seq2seq_viz.registry import pretrained_dir

    directory.mkdir(exist_ok=True)
    for suffix in (".json", ".safetensors"):
        shutil.copy(pretrained_dir() / f"{name}{suffix}", directory / f"{name}{suffix}")


def test_a_model_claimed_by_another_builder_is_left_to_it(tmp_path):
    import fcntl

    from seq2seq_viz.zoo import build

    logs = []
    with open(tmp_path / ".reverse-gru-general.lock", "w") as held:  # as another builder process would hold it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert build(names=["reverse-gru-general"], directory=tmp_path, log=logs.append) == []
    assert logs == ["reverse-gru-general: another builder is training it, skipped"]
    assert not (tmp_path / "reverse-gru-general.json").exists()


def test_force_retrains_only_what_was_written_before_the_build_started(tmp_path):
    import time

    from seq2seq_viz.zoo import _finished

    _copy_shipped("reverse-gru-general", tmp_path)
    path = tmp_path / "reverse-gru-general"
    configs = planned("reverse", "gru", "general")
    assert _finished(path, *configs, force=False, before=time.time() + 60)
    assert not _finished(path, *configs, force=True, before=time.time() + 60)  # older than this forced build
    assert _finished(path, *configs, force=True, before=0.0)  # another forced worker already rebuilt it


def test_build_zoo_jobs_runs_workers_that_share_the_plan(tmp_path, capfd):
    from seq2seq_viz.cli import main

    _copy_shipped("reverse-gru-general", tmp_path)
    argv = ["build-zoo", "--out", str(tmp_path), "--model", "reverse-gru-general", "--model", "reverse-gru-dot"]
    assert main([*argv, "--jobs", "2"]) == 0  # reverse-gru-dot is not in the plan, so nothing trains
    out = capfd.readouterr().out
    assert out.count("reverse-gru-general: up to date, skipped") == 2  # both workers saw it finished
    assert list(list_models(tmp_path)) == ["reverse-gru-general"]
    assert main([*argv, "--jobs", "0"]) == 1
    assert "--jobs must be at least 1." in capfd.readouterr().err


def test_a_checkpoint_stored_otherwise_than_the_zoo_stores_it_is_rewritten_and_reevaluated(tmp_path, monkeypatch):
    from seq2seq_viz import zoo
    from seq2seq_viz.checkpoint import load_checkpoint
    from seq2seq_viz.evaluate import evaluate_model

    _copy_shipped("reverse-gru-general", tmp_path)
    before = load_checkpoint(tmp_path / "reverse-gru-general")
    monkeypatch.setitem(zoo.ZOO_DTYPES, "reverse", "int8")
    logs = []
    assert zoo.build(names=["reverse-gru-general"], directory=tmp_path, log=logs.append) == []  # nothing trained
    assert logs[0].startswith("reverse-gru-general: re-stored and re-evaluated (int8)")
    after = load_checkpoint(tmp_path / "reverse-gru-general")
    assert after.card["dtype"] == "int8" and after.card["sha256"] != before.card["sha256"]
    assert after.card["training"] == before.card["training"]  # the card keeps how the model was trained
    assert evaluate_model(after, split="all")["test"] == after.card["metrics"]["test"]
    assert list_models(tmp_path)["reverse-gru-general"]["sha256"] == after.card["sha256"]
    logs.clear()
    zoo.build(names=["reverse-gru-general"], directory=tmp_path, log=logs.append)
    assert logs == ["reverse-gru-general: up to date, skipped"]


def test_reevaluating_writes_new_metrics_and_leaves_the_weights_alone(tmp_path):
    from seq2seq_viz import zoo
    from seq2seq_viz.checkpoint import load_checkpoint, read_card
    from seq2seq_viz.evaluate import evaluate_model

    _copy_shipped("reverse-gru-general", tmp_path)
    weights = (tmp_path / "reverse-gru-general.safetensors").read_bytes()
    card = read_card(tmp_path / "reverse-gru-general")
    card["metrics"] = {"test": {"exact_match": -1.0}}  # stale metrics
    (tmp_path / "reverse-gru-general.json").write_text(json.dumps(card), encoding="utf-8")
    logs = []
    zoo.build(names=["reverse-gru-general"], directory=tmp_path, reevaluate=True, log=logs.append)
    assert logs[0].startswith("reverse-gru-general: re-evaluated; test")
    assert (tmp_path / "reverse-gru-general.safetensors").read_bytes() == weights  # not one byte rewritten
    model = load_checkpoint(tmp_path / "reverse-gru-general")  # the card's sha256 still matches
    assert model.card["metrics"] == evaluate_model(model, split="all")
    assert list_models(tmp_path)["reverse-gru-general"]["metrics"] == model.card["metrics"]
    # trained on the task's data as it is now: the card learns the longest training source (reverse: 3-12 chars)
    assert model.card["task"]["longest_source"] == TRAIN_LENGTHS[1] == 12
    card = read_card(tmp_path / "reverse-gru-general")
    del card["task"]["longest_source"]
    card["provenance"]["seed"] = -1  # as if trained on other data
    (tmp_path / "reverse-gru-general.json").write_text(json.dumps(card), encoding="utf-8")
    zoo.build(names=["reverse-gru-general"], directory=tmp_path, reevaluate=True, log=logs.append)
    assert "longest_source" not in read_card(tmp_path / "reverse-gru-general")["task"]  # cannot say what it saw


def test_attribution_goes_into_the_cards_once_and_reevaluating_keeps_it(tmp_path, monkeypatch):
    from seq2seq_viz import zoo
    from seq2seq_viz.checkpoint import read_card

    _copy_shipped("reverse-gru-general", tmp_path)
    card = read_card(tmp_path / "reverse-gru-general")
    card["metrics"].pop("attribution", None)  # as a card from before attribution
    (tmp_path / "reverse-gru-general.json").write_text(json.dumps(card), encoding="utf-8")
    weights = (tmp_path / "reverse-gru-general.safetensors").read_bytes()
    monkeypatch.setattr(zoo, "ATTRIBUTION_EXAMPLES", 3)
    logs = []
    assert zoo.add_attribution(names=["reverse-gru-general"], directory=tmp_path, log=logs.append) == [
        "reverse-gru-general"
    ]
    found = read_card(tmp_path / "reverse-gru-general")["metrics"]["attribution"]
    assert found["examples"] == 3 and set(found["occlusion"]) == {"mean_spearman", "top_match_rate", "aer"}
    assert list_models(tmp_path)["reverse-gru-general"]["metrics"]["attribution"] == found
    assert (tmp_path / "reverse-gru-general.safetensors").read_bytes() == weights
    assert zoo.add_attribution(names=["reverse-gru-general"], directory=tmp_path, log=logs.append) == []  # once
    zoo.build(names=["reverse-gru-general"], directory=tmp_path, reevaluate=True, log=logs.append)
    assert read_card(tmp_path / "reverse-gru-general")["metrics"]["attribution"] == found  # same weights: kept


def test_a_build_killed_mid_model_goes_on_from_its_last_epoch_and_then_drops_the_state(tmp_path, monkeypatch):
    import dataclasses

    from seq2seq_viz import zoo

    def short(task_name, cell, attention, device="auto"):  # the planned configs, two epochs of them
        model_config, train_config = planned(task_name, cell, attention, device)
        return model_config, dataclasses.replace(train_config, epochs=2)

    monkeypatch.setattr(zoo, "planned", short)

    class Killed(Exception):
        pass

    def kill_in_epoch_2(progress):
        if progress.epoch == 2:
            raise Killed

    state = zoo.partial_state(tmp_path, "reverse-gru-general")
    with pytest.raises(Killed):
        zoo.build(names=["reverse-gru-general"], directory=tmp_path, log=lambda _: None, on_step=kill_in_epoch_2)
    assert state.is_file() and not (tmp_path / "reverse-gru-general.json").exists()
    logs = []
    assert zoo.build(names=["reverse-gru-general"], directory=tmp_path, log=logs.append) == ["reverse-gru-general"]
    assert "reverse-gru-general.pt: going on after epoch 1 (step" in logs[1]
    assert [line.split(" train ")[0] for line in logs if ": epoch " in line] == ["reverse-gru-general: epoch 2"]
    assert not state.exists() and is_current(tmp_path / "reverse-gru-general", *short("reverse", "gru", "general"))
    assert list_models(tmp_path)["reverse-gru-general"]["task"]["longest_source"] == TRAIN_LENGTHS[1]


def test_the_builder_counts_the_vocabulary_over_the_original_pairs_not_the_joins(tmp_path, monkeypatch):
    import dataclasses

    from seq2seq_viz import zoo
    from seq2seq_viz.checkpoint import read_card
    from seq2seq_viz.tasks import get_task
    from seq2seq_viz.tasks.base import Example

    reverse = get_task("reverse")
    assert "Z" not in {c for e in reverse.train for c in e.source}
    joined = dataclasses.replace(reverse, train=(*reverse.train, Example("abZ", "Zba")), joins=1)
    monkeypatch.setattr(zoo, "get_task", lambda name: joined)

    def brief(task_name, cell, attention, device="auto"):
        model_config, train_config = planned(task_name, cell, attention, device)
        return model_config, dataclasses.replace(train_config, epochs=1, max_steps=3)

    monkeypatch.setattr(zoo, "planned", brief)
    zoo.build(names=["reverse-gru-general"], directory=tmp_path, log=lambda _: None)
    card = read_card(tmp_path / "reverse-gru-general")
    assert "Z" not in card["source_vocab"] and "a" in card["source_vocab"]
