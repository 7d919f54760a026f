"""Training by maximum likelihood: batched with masks, Adam, clipping, teacher forcing, early stopping, callbacks."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from .config import ModelConfig, TrainConfig
from .errors import ConfigError
from .model import Seq2Seq
from .vocab import BOS_ID, EOS, EOS_ID, PAD_ID, Vocab

Pair = tuple[Sequence[str], Sequence[str]]  # tokenized (source, target), no specials


@dataclass(frozen=True)
class Batch:
    src: Tensor  # (B, S) source ids with <eos>, padded
    lengths: Tensor  # (B,)
    y_in: Tensor  # (B, T) <bos> + target, padded
    y_out: Tensor  # (B, T) target + <eos>, padded

    @property
    def target_tokens(self) -> int:
        return int((self.y_out != PAD_ID).sum())

    def to(self, device: torch.device) -> Batch:
        return Batch(self.src.to(device), self.lengths, self.y_in.to(device), self.y_out.to(device))


@dataclass(frozen=True)
class Progress:
    """Reported after every optimizer step."""

    epoch: int
    step: int  # optimizer steps so far
    total_steps: int  # planned steps (epochs × batches, or max_steps)
    loss: float  # this batch's mean token loss
    tokens_per_second: float
    tokens: int = 0  # this batch's real target tokens (<eos> included, padding not)


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    train_loss: float
    valid_loss: float
    valid_accuracy: float  # teacher-forced next-token accuracy on the validation pairs
    seconds: float


@dataclass
class TrainResult:
    model: Seq2Seq  # the weights of the best validation epoch, in eval mode
    history: list[EpochReport] = field(default_factory=list)
    best_epoch: int = 0
    steps: int = 0
    seconds: float = 0.0
    stopped_early: bool = False


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("CUDA was asked for, but no CUDA device is available here; use --device cpu.")
    return torch.device(name)


def build_vocabs(pairs: Sequence[Pair], min_freq: int = 1, max_size: int | None = None) -> tuple[Vocab, Vocab]:
    return (
        Vocab.build((s for s, _ in pairs), min_freq, max_size),
        Vocab.build((t for _, t in pairs), min_freq, max_size),
    )


def make_batch(pairs: Sequence[Pair], source_vocab: Vocab, target_vocab: Vocab) -> Batch:
    """Pad a list of tokenized pairs into id tensors (<eos> ends each source, <bos>/<eos> frame each target)."""
    srcs = [source_vocab.encode([*list(s), EOS])[0] for s, _ in pairs]
    tgts = [target_vocab.encode(list(t))[0] for _, t in pairs]
    src = torch.full((len(pairs), max(map(len, srcs))), PAD_ID, dtype=torch.long)
    y_in = torch.full((len(pairs), max(map(len, tgts)) + 1), PAD_ID, dtype=torch.long)
    y_out = y_in.clone()
    for i, (s, t) in enumerate(zip(srcs, tgts, strict=True)):
        src[i, : len(s)] = torch.tensor(s)
        y_in[i, : len(t) + 1] = torch.tensor([BOS_ID, *t])
        y_out[i, : len(t) + 1] = torch.tensor([*t, EOS_ID])
    return Batch(src, torch.tensor([len(s) for s in srcs]), y_in, y_out)


def batch_groups(pairs: Sequence[Pair], size: int, generator: torch.Generator | None) -> list[list[int]]:
    """The pairs' indices in batches: shuffled (when a generator is given), then sorted by (source, target) length
    within chunks of 50 batches, so a batch holds pairs of similar length and wastes little padding; the batches'
    order is shuffled again. Every pair is in exactly one batch."""
    order = torch.randperm(len(pairs), generator=generator).tolist() if generator is not None else range(len(pairs))
    order = list(order)
    chunk = size * 50
    grouped = []
    for start in range(0, len(order), chunk):
        block = sorted(order[start : start + chunk], key=lambda i: (len(pairs[i][0]), len(pairs[i][1])))
        grouped += [block[i : i + size] for i in range(0, len(block), size)]
    if generator is not None:
        grouped = [grouped[i] for i in torch.randperm(len(grouped), generator=generator).tolist()]
    return grouped


def batches(
    pairs: Sequence[Pair], source_vocab: Vocab, target_vocab: Vocab, size: int, generator: torch.Generator | None
) -> list[Batch]:
    """batch_groups, as padded tensors."""
    return [
        make_batch([pairs[i] for i in idx], source_vocab, target_vocab) for idx in batch_groups(pairs, size, generator)
    ]


def sequence_loss(logits: Tensor, y_out: Tensor) -> Tensor:
    """Mean negative log-likelihood per real target token: −(1/N) Σ log p(y_t | y_<t, x)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y_out.reshape(-1), ignore_index=PAD_ID)


@torch.no_grad()
def evaluate_loss(model: Seq2Seq, data: Sequence[Batch], device: torch.device) -> tuple[float, float]:
    """Teacher-forced (loss per token, next-token accuracy) over batches."""
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for batch in data:
        batch = batch.to(device)
        logits = model(batch.src, batch.lengths, batch.y_in)
        real = batch.y_out != PAD_ID
        n = int(real.sum())
        total_loss += float(sequence_loss(logits, batch.y_out)) * n
        correct += int(((logits.argmax(-1) == batch.y_out) & real).sum())
        count += n
    model.train(was_training)
    return total_loss / max(count, 1), correct / max(count, 1)


def train(
    model_config: ModelConfig,
    train_config: TrainConfig,
    train_pairs: Sequence[Pair],
    valid_pairs: Sequence[Pair],
    vocabs: tuple[Vocab, Vocab] | None = None,
    on_step: Callable[[Progress], None] | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    on_snapshot: Callable[[int, Seq2Seq], None] | None = None,
    snapshot_every: int = 0,
    should_stop: Callable[[], bool] | None = None,
    state_file: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train a fresh model. Same seed and data -> bit-identical weights on CPU.

    on_snapshot(step, model) is called every snapshot_every steps (model in eval mode for the call), so a caller
    can trace an example and watch the alignments form. should_stop() lets a UI stop training between steps.
    state_file: the whole training state is written there after every epoch, and a run that finds a state of the
    same configs and data there goes on from it, to the same weights as a run never stopped (CPU). The caller
    deletes it once the model is kept.
    """
    if not train_pairs:
        raise ConfigError("There are no training pairs.")
    cfg = train_config
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    source_vocab, target_vocab = vocabs or build_vocabs(train_pairs, cfg.min_freq, cfg.max_vocab)
    model = Seq2Seq(model_config, source_vocab, target_vocab).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=True)  # one kernel per step, not ~15 per tensor
    valid_batches = batches(valid_pairs, source_vocab, target_vocab, 256, None) if valid_pairs else []
    steps_per_epoch = math.ceil(len(train_pairs) / cfg.batch_size)
    total = min(cfg.epochs * steps_per_epoch, cfg.max_steps or 1 << 62)
    result = TrainResult(model)
    best_loss, best_state, bad_epochs, step, first_epoch, earlier_seconds = math.inf, None, 0, 0, 1, 0.0
    fingerprint = (
        _fingerprint(model_config, cfg, train_pairs, valid_pairs, (source_vocab, target_vocab)) if state_file else ""
    )
    saved = _read_state(state_file, fingerprint, log) if state_file else None
    if saved:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        torch.set_rng_state(saved["rng"])
        generator.set_state(saved["generator"])
        if device.type == "cuda" and "cuda_rng" in saved:
            torch.cuda.set_rng_state(saved["cuda_rng"], device)
        best_loss, best_state, bad_epochs = saved["best_loss"], saved["best_state"], saved["bad_epochs"]
        step, result.best_epoch, earlier_seconds = saved["step"], saved["best_epoch"], saved["seconds"]
        result.history = [EpochReport(**report) for report in saved["history"]]
        result.stopped_early, first_epoch = saved["stopped_early"], len(result.history) + 1
        if saved["finished"]:
            first_epoch = cfg.epochs + 1
    start = time.perf_counter() - earlier_seconds
    for epoch in range(first_epoch, cfg.epochs + 1):
        epoch_start, losses = time.perf_counter(), []
        model.train()
        for group in batch_groups(train_pairs, cfg.batch_size, generator):  # each batch made when it is needed
            tick = time.perf_counter()
            batch = make_batch([train_pairs[i] for i in group], source_vocab, target_vocab).to(device)
            loss = model.loss(
                batch.src, batch.lengths, batch.y_in, batch.y_out, cfg.fast, cfg.teacher_forcing, generator
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            optimizer.step()
            step += 1
            losses.append(loss.item())
            if on_step:
                tokens = batch.target_tokens
                on_step(Progress(epoch, step, total, losses[-1], tokens / (time.perf_counter() - tick), tokens))
            if on_snapshot and snapshot_every and step % snapshot_every == 0:
                model.eval()
                on_snapshot(step, model)
                model.train()
            if step >= total or (should_stop and should_stop()):
                break
        valid_loss, valid_acc = evaluate_loss(model, valid_batches, device) if valid_batches else (math.nan, math.nan)
        report = EpochReport(epoch, sum(losses) / len(losses), valid_loss, valid_acc, time.perf_counter() - epoch_start)
        result.history.append(report)
        if on_epoch:
            on_epoch(report)
        score = valid_loss if valid_batches else report.train_loss
        if score < best_loss:
            best_loss, best_state, bad_epochs, result.best_epoch = score, copy.deepcopy(model.state_dict()), 0, epoch
        else:
            bad_epochs += 1
            for group in optimizer.param_groups:
                group["lr"] *= cfg.lr_decay
        stop_asked = should_stop is not None and should_stop()
        result.stopped_early = step < total and not stop_asked and bad_epochs >= cfg.patience
        finished = step >= total or result.stopped_early
        if state_file and not stop_asked:  # a stop mid-epoch is not a state to go on from
            _write_state(
                state_file,
                {
                    "fingerprint": fingerprint,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "rng": torch.get_rng_state(),
                    "generator": generator.get_state(),
                    **({"cuda_rng": torch.cuda.get_rng_state(device)} if device.type == "cuda" else {}),
                    "best_loss": best_loss,
                    "best_state": best_state,
                    "bad_epochs": bad_epochs,
                    "step": step,
                    "best_epoch": result.best_epoch,
                    "seconds": time.perf_counter() - start,
                    "history": [dataclasses.asdict(r) for r in result.history],
                    "stopped_early": result.stopped_early,
                    "finished": finished,
                },
            )
        if finished or stop_asked:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    result.steps, result.seconds = step, time.perf_counter() - start
    model.eval()
    return result


def _fingerprint(
    model_config: ModelConfig,
    train_config: TrainConfig,
    train_pairs: Sequence[Pair],
    valid_pairs: Sequence[Pair],
    vocabs: tuple[Vocab, Vocab],
) -> str:
    """What a saved training state must have been trained on: the configs (device aside), the vocabularies and
    every pair."""
    digest = hashlib.sha256()
    train_fields = {k: v for k, v in train_config.to_dict().items() if k != "device"}
    digest.update(repr((sorted(model_config.to_dict().items()), sorted(train_fields.items()))).encode())
    for vocab in vocabs:
        digest.update(b"\x00vocab" + "\x1f".join(vocab.tokens).encode())
    for split in (train_pairs, valid_pairs):
        digest.update(b"\x00split")
        for source, target in split:
            digest.update("\x1f".join(source).encode() + b"\x1e" + "\x1f".join(target).encode() + b"\x1d")
    return digest.hexdigest()


def _read_state(path: Path, fingerprint: str, log: Callable[[str], None] | None) -> dict[str, Any] | None:
    """A saved training state of this very run, or None (none there, another run's, or unreadable)."""
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain values only
    except Exception as error:  # a state cut off mid-write or damaged: train from the start
        if log:
            log(f"{path.name}: unreadable ({type(error).__name__}); training from the start")
        return None
    if not isinstance(saved, dict) or saved.get("fingerprint") != fingerprint:
        if log:
            log(f"{path.name}: saved by another configuration or data; training from the start")
        return None
    if log:
        log(f"{path.name}: going on after epoch {len(saved['history'])} (step {saved['step']})")
    return saved


def _write_state(path: Path, state: dict[str, Any]) -> None:
    """Write whole or not at all: a kill mid-write leaves the previous state."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    torch.save(state, partial)
    os.replace(partial, path)
