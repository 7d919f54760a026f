"""The pretrained zoo: which models ship, with which shared hyperparameters, and the resumable builder.

Every model of a task shares its task's hyperparameters (fair comparisons). A model whose checkpoint already
matches its planned configs is skipped, and a model cut off mid-training goes on from its last finished epoch
(`partial_state`), so an interrupted build resumes where it stopped.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .checkpoint import load_checkpoint, paths_for, read_card, save_checkpoint, sha256_of, stored_copy, write_card
from .config import ATTENTIONS, CELLS, ModelConfig, TrainConfig
from .errors import CheckpointError, ConfigError
from .evaluate import ATTRIBUTION_EXAMPLES, attribution_metrics, evaluate_model, source_length, task_of
from .model import Seq2Seq
from .registry import list_models, manifest_entry, pretrained_dir, write_manifest
from .tasks import Task, get_task
from .train import Progress, TrainResult, build_vocabs, train

# Card fields save_checkpoint writes itself; everything else (training, task, examples) is carried over.
CARD_CORE = {
    "format",
    "name",
    "config",
    "train_config",
    "source_vocab",
    "target_vocab",
    "parameters",
    "dtype",
    "metrics",
    "provenance",
    "weights_file",
    "sha256",
}

TOY_VARIANTS = (("gru", "none"), ("gru", "general"), ("gru", "additive"))
PLAN: dict[str, tuple[tuple[str, str], ...]] = {
    "reverse": (*TOY_VARIANTS, ("lstm", "general"), ("rnn", "general")),
    "sort": TOY_VARIANTS,
    "copy": TOY_VARIANTS,
    "dates": tuple(itertools.product(CELLS, ATTENTIONS)),
    "eng-fra": tuple(itertools.product(CELLS, ATTENTIONS)),
}
ZOO_SEED = 0
TEST_SAMPLE = 30  # test pairs copied into each card, so the app can offer them without the training data
# How the zoo stores weights (the loader restores float32). float16 halves a model. eng-fra's 5.5k- and 9k-word
# embeddings and output projection are 86% of its parameters: int8 rows keep its 15 models within the size budget.
ZOO_DTYPES = {"eng-fra": "int8"}


def zoo_dtype(task_name: str) -> str:
    return ZOO_DTYPES.get(task_name, "float16")


def planned(task_name: str, cell: str, attention: str, device: str = "auto") -> tuple[ModelConfig, TrainConfig]:
    task = get_task(task_name)
    model_config = ModelConfig(task=task_name, cell=cell, attention=attention, **task.model_defaults)
    train_config = TrainConfig(seed=ZOO_SEED, device=device, **task.train_defaults)
    return model_config, train_config


def plan(tasks: list[str] | None = None) -> list[tuple[str, str, str]]:
    return [(t, c, a) for t in (tasks or list(PLAN)) for c, a in PLAN[t]]


def plan_differences(card: dict[str, Any], model_config: ModelConfig, train_config: TrainConfig) -> list[str]:
    """The config fields in which a checkpoint's card differs from the plan (device aside)."""
    stored = {**card["config"], **{f"train.{k}": v for k, v in (card.get("train_config") or {}).items()}}
    wanted = {**model_config.to_dict(), **{f"train.{k}": v for k, v in train_config.to_dict().items()}}
    return sorted(k for k in stored.keys() | wanted.keys() if k != "train.device" and stored.get(k) != wanted.get(k))


def is_current(path: Path, model_config: ModelConfig, train_config: TrainConfig) -> bool:
    """The checkpoint exists, is readable, is evaluated, its weights are the ones its card describes, and it was
    trained with exactly these configs."""
    try:
        card = read_card(path)
    except CheckpointError:
        return False
    weights, _ = paths_for(path)
    written = weights.is_file() and sha256_of(weights) == card["sha256"]  # not cut off between its two files
    evaluated = bool(card.get("metrics"))  # a card from `train` without metrics is not a finished zoo model
    return written and evaluated and not plan_differences(card, model_config, train_config)


def build(
    tasks: list[str] | None = None,
    names: list[str] | None = None,
    directory: Path | None = None,
    device: str = "auto",
    force: bool = False,
    reevaluate: bool = False,
    log: Callable[[str], None] = print,
    on_step: Callable[[Progress], None] | None = None,
    force_before: float | None = None,
) -> list[str]:
    """Train every planned model that is missing or stale, evaluate it, write it and update the manifest.

    Returns the names trained. The manifest is rewritten after each model, so finished work is never lost.
    Builders may run side by side (build_parallel, or several commands): each model is claimed by one of them.
    force retrains models written before force_before (default: now), so parallel forced builders share the work.
    """
    directory = directory or pretrained_dir()
    directory.mkdir(parents=True, exist_ok=True)
    force_before = force_before or time.time()
    trained = []
    for task_name, cell, attention in plan(tasks):
        name = f"{task_name}-{cell}-{attention}"  # ModelConfig.name, known before the task (maybe its data) loads
        if names and name not in names:
            continue
        model_config, train_config = planned(task_name, cell, attention, device)
        path = directory / name
        if _finished(path, model_config, train_config, force, force_before):
            _skip(directory, path, train_config, reevaluate, log)
            continue
        with _claim(directory, name) as mine:
            if not mine:
                log(f"{name}: another builder is training it, skipped")
                continue
            if _finished(path, model_config, train_config, force, force_before):  # done while we looked away
                _skip(directory, path, train_config, reevaluate, log)
                continue
            task = get_task(task_name)
            log(f"{name}: training on {len(task.train)} pairs ...")
            state_file = partial_state(directory, name)
            result = train(
                model_config,
                train_config,
                task.pairs("train"),
                task.pairs("valid"),
                vocabs=build_vocabs(task.vocab_pairs(), train_config.min_freq, train_config.max_vocab),
                on_step=on_step,
                on_epoch=lambda r, n=name: log(
                    f"{n}: epoch {r.epoch} train {r.train_loss:.3f} valid {r.valid_loss:.3f} "
                    f"acc {r.valid_accuracy:.3f} ({r.seconds:.0f}s)"
                ),
                state_file=state_file,
                log=log,
            )
            extra = card_extras(task, result)
            card = _save_evaluated(result.model.cpu(), path, train_config, task.provenance, extra, zoo_dtype(task_name))
            _register(directory, card)
            state_file.unlink(missing_ok=True)
        log(f"{name}: done in {result.seconds:.0f}s; test {_headline(card['metrics'])}")
        trained.append(name)
    return trained


def partial_state(directory: Path, name: str) -> Path:
    """Where a model's training state waits between epochs, so a build killed mid-model goes on from its last
    epoch (not committed: the state holds the optimizer's moments and the best epoch's weights, in float32)."""
    return directory / ".partial" / f"{name}.pt"


def build_parallel(
    jobs: int, tasks: list[str] | None, names: list[str] | None, directory: Path | None, device: str, force: bool
) -> int:
    """build() in `jobs` separate `python -m seq2seq_viz build-zoo` processes (one torch thread each) that share
    the plan model by model; returns the first non-zero exit status, else 0.

    Separate commands rather than a multiprocessing pool: a worker that dies is an exit status here, never a
    pool that waits forever, and nothing depends on what the calling process's __main__ is.
    """
    command = [sys.executable, "-m", "seq2seq_viz", "--threads", "1", "build-zoo", "--device", device]
    command += [arg for task in tasks or () for arg in ("--task", task)]
    command += [arg for name in names or () for arg in ("--model", name)]
    command += ["--out", str(directory)] if directory else []
    command += ["--force", "--force-before", repr(time.time())] if force else []
    package_root = str(Path(__file__).resolve().parent.parent)
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
    }
    workers = [subprocess.Popen(command, env=env) for _ in range(jobs)]
    statuses = [worker.wait() for worker in workers]
    return next((status for status in statuses if status), 0)


def _finished(path: Path, model_config: ModelConfig, train_config: TrainConfig, force: bool, before: float) -> bool:
    if not is_current(path, model_config, train_config):
        return False
    return not force or path.with_suffix(".json").stat().st_mtime >= before


def _skip(directory: Path, path: Path, train_config: TrainConfig, reevaluate: bool, log: Callable[[str], None]) -> None:
    card = read_card(path)
    dtype = zoo_dtype(card["config"]["task"])
    if card["dtype"] != dtype:  # the zoo stores it otherwise now: the same weights, stored and evaluated anew
        extra = {k: v for k, v in card.items() if k not in CARD_CORE}
        card = _save_evaluated(load_checkpoint(path), path, train_config, card["provenance"], extra, dtype)
        log(f"{card['name']}: re-stored and re-evaluated ({dtype}); test {_headline(card['metrics'])}")
    elif reevaluate:  # new metrics for the weights as they are: only the card is written (its sha256 still holds)
        model = load_checkpoint(path)
        kept = {k: v for k, v in card["metrics"].items() if k == "attribution"}  # still these weights' own
        card = {**card, "metrics": {**evaluate_model(model, split="all"), **kept}}
        task = task_of(model)
        if card.get("provenance") == task.provenance:  # trained on this very data: what the task says of it holds
            card["task"] = {**(card.get("task") or {}), **_task_extras(task)["task"]}
        write_card(path, card)
        log(f"{card['name']}: re-evaluated; test {_headline(card['metrics'])}")
    else:
        log(f"{card['name']}: up to date, skipped")
    _register(directory, card)


@contextmanager
def _claim(directory: Path, name: str) -> Iterator[bool]:
    """Whether this process holds the (non-blocking, exclusive) claim on training `name`; held until exit.

    The lock dies with its process, so a builder that crashed or was killed never leaves a model claimed.
    """
    with open(directory / f".{name}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def _save_evaluated(
    model: Seq2Seq, path: Path, train_config: TrainConfig, provenance: dict[str, Any], extra: dict[str, Any], dtype: str
) -> dict[str, Any]:
    """Evaluate the weights exactly as they will load from a `dtype` checkpoint, then write it with its metrics.

    The card is written once, evaluated; a build cut off while writing leaves weights that do not match their
    card, which is_current treats as unfinished.
    """
    stored = stored_copy(model, dtype)
    metrics = evaluate_model(stored, split="all")
    task = task_of(stored)
    metrics["attribution"] = attribution_metrics(stored, task, task.test[:ATTRIBUTION_EXAMPLES])
    return save_checkpoint(model, path, train_config, metrics, provenance, extra, dtype=dtype)


def add_attribution(
    tasks: list[str] | None = None,
    names: list[str] | None = None,
    directory: Path | None = None,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> list[str]:
    """Write attention-attribution agreement (evaluate.attribution_metrics) into the cards of the planned
    checkpoints that lack it (all of them with force); only the cards are written. Returns the names done."""
    directory = directory or pretrained_dir()
    done = []
    for task_name, cell, attention in plan(tasks):
        name = f"{task_name}-{cell}-{attention}"
        path = directory / name
        if (names and name not in names) or not path.with_suffix(".json").is_file():
            continue
        with _claim(directory, name) as mine:
            if not mine:
                log(f"{name}: another builder holds it, skipped")
                continue
            card = read_card(path)
            if "attribution" in card.get("metrics", {}) and not force:
                log(f"{name}: attribution measured already, skipped")
                continue
            model = load_checkpoint(path)
            task = task_of(model)
            started = time.perf_counter()
            found = attribution_metrics(model, task, task.test[:ATTRIBUTION_EXAMPLES])
            card = {**card, "metrics": {**card.get("metrics", {}), "attribution": found}}
            write_card(path, card)
            _register(directory, card)
        log(f"{name}: attribution measured in {time.perf_counter() - started:.0f}s")
        done.append(name)
    return done


def adopt(checkpoint: Path, directory: Path | None = None, log: Callable[[str], None] = print) -> str:
    """Bring a checkpoint trained elsewhere (another machine, `train`) into the zoo, if it matches the plan.

    It is stored as the zoo stores its own (zoo_dtype, the task's examples and test pairs in the card), evaluated
    from the stored weights, and registered in the manifest. Returns its name.
    """
    directory = directory or pretrained_dir()
    card = read_card(checkpoint)
    config = card["config"]
    if (config["cell"], config["attention"]) not in PLAN.get(config["task"], ()):
        raise ConfigError(f"{card['name']} is not a model of the zoo's plan.")
    model_config, train_config = planned(config["task"], config["cell"], config["attention"])
    differences = plan_differences(card, model_config, train_config)
    if differences:
        raise ConfigError(f"{card['name']} was trained with other settings than the zoo's: {', '.join(differences)}.")
    task = get_task(config["task"])
    extra = {"training": card.get("training", {}), **_task_extras(task), "adopted_from": Path(checkpoint).name}
    path, dtype = directory / card["name"], zoo_dtype(config["task"])
    stored = _save_evaluated(load_checkpoint(checkpoint), path, train_config, task.provenance, extra, dtype)
    _register(directory, stored)
    log(f"{card['name']}: adopted; test {_headline(stored['metrics'])}")
    return card["name"]


def card_extras(task: Task, result: TrainResult) -> dict[str, Any]:
    """The card fields of a trained model beyond its weights and configs: how it trained, and its task."""
    training = {
        "seconds": round(result.seconds, 1),
        "epochs": len(result.history),
        "best_epoch": result.best_epoch,
        "steps": result.steps,
        "stopped_early": result.stopped_early,
        "device": str(next(result.model.parameters()).device),
        "history": [vars(r) for r in result.history],
    }
    extras = _task_extras(task)
    provenance = task.provenance
    if provenance.get("builder") == "pairs":  # built from a person's file: what evaluate needs to rebuild it
        extras["task"].update(
            builder="pairs",
            data=provenance["path"],
            level=task.level,
            lowercase=task.lowercase,
            seed=provenance["seed"],
        )
    return {"training": training, **extras}


def _task_extras(task: Task) -> dict[str, Any]:
    """What a zoo card carries about its task: description, example inputs and test pairs for the app."""
    test_pairs = [{"source": e.source, "references": list(e.all_references)} for e in task.test[:TEST_SAMPLE]]
    # the longest training source, counted as the by-length metrics count (the app warns past it)
    longest = max((source_length(task, source) for source, _ in task.pairs("train")), default=0)
    return {
        "task": {
            "name": task.name,
            "description": task.description,
            "train_pairs": len(task.train),
            "longest_source": longest,
        },
        "examples": list(task.examples),
        "test_examples": test_pairs,
    }


def reindex(directory: Path | None = None, log: Callable[[str], None] = print) -> list[str]:
    """Rewrite MANIFEST.json from the finished (evaluated) cards on disk; trains nothing."""
    directory = directory or pretrained_dir()
    models = {}
    for card_path in sorted(directory.glob("*.json")):
        if card_path.name == "MANIFEST.json":
            continue
        try:
            card = read_card(card_path)
        except CheckpointError as exc:
            log(f"{card_path.name}: left out ({exc})")
            continue
        if card.get("metrics"):
            models[card["name"]] = manifest_entry(card)
        else:
            log(f"{card['name']}: left out (not evaluated yet)")
    with open(directory / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        write_manifest(models, directory)
    return sorted(models)


def _register(directory: Path, card: dict[str, Any]) -> None:
    """Add or replace one manifest entry; a lock file keeps parallel builders from losing each other's entries."""
    with open(directory / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        models = list_models(directory)
        models[card["name"]] = manifest_entry(card)
        write_manifest(models, directory)


def _headline(metrics: dict[str, Any]) -> str:
    test = metrics.get("test", {})
    keys = ("bleu", "exact_match", "aer")
    return ", ".join(f"{k} {test[k]:.3f}" for k in keys if k in test)
