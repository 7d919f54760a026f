"""Train live: a small model trained in a child process, streaming progress, accuracy and attention snapshots.

A training must never slow the other sessions of the server, so it runs in its own process (a thread would hold
the server's GIL for every step): `python -m seq2seq_viz.live`, niced (+10), on one torch thread, at most
LIMITS.live_trainings of them per server process, each stopped at LIMITS.live_seconds_max. The parent (the
Streamlit server) imports this module without torch: the child does all of the torch work and speaks JSON lines.

    parent ──argv: {"settings": ..., "seconds_max": ...}──► child
    parent ──stdin: "stop\\n" (EOF: the parent died, so exit)──► child
    parent ◄──stdout: one JSON object a line──────────────── child

Events (the "event" field), in the order a child sends them:
    started   total, pairs, parameters, model (name), snapshot_every, eval_every
    progress  step, total, loss (of step `step`), losses (every step's loss since the last progress line, ending at
              `step`), seconds (since the child started), tokens_per_second, steps_per_second; at most ~10 a second
    eval      step, exact_match, token_accuracy, examples (a fixed sample of the validation split, greedy decoding)
    snapshot  step, trace (Trace.to_dict() of the greedy decode of the probe: Trace.from_dict rebuilds it, no torch)
    done      step, total, reason (finished | stopped | time limit), seconds, weights (base64 safetensors), card (JSON)
    error     message (one sentence for a person)

The model handed back is the one of the last step, whatever train() kept as its best epoch, so it is the model the
last snapshot traced: a student who stops at step 400 gets the weights of step 400.
"""

from __future__ import annotations

import base64
import collections
import json
import logging
import math
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import limits
from .config import ATTENTIONS, CELLS
from .errors import ConfigError, Seq2SeqVizError
from .limits import BusyError
from .trace import Trace

if TYPE_CHECKING:
    from .model import Seq2Seq

LIVE_TASKS: tuple[str, ...] = ("reverse", "sort", "copy", "dates")
TOY_LETTERS = "abcdefghijklmnopqrstuvwxyz"  # tasks.toy.ALPHABET (a test holds the two together)
DEFAULT_PROBES = {"reverse": "attention", "sort": "attention", "copy": "attention", "dates": "3rd of March 1999"}
SNAPSHOTS = 40  # about this many attention snapshots over a run (more for very short runs: one a step)
EVALS = 20  # about this many accuracy points over a run, plus one at the end
EVAL_EXAMPLES = 200  # the fixed validation sample every accuracy point is measured on
PROGRESS_INTERVAL_S = 0.1  # progress lines at most this often (the losses in between travel in the next line)
KILL_GRACE_S = 30.0  # past the wall-clock cap, the parent kills a child that has not finished sending its model
STATUSES = ("starting", "running", "stopping", "done", "stopped", "failed")
FINISHED = ("done", "stopped", "failed")

log = logging.getLogger(__name__)


class LiveError(Seq2SeqVizError):
    """A live training that could not start, failed, or has no model to hand back yet."""


def _check_int(name: str, value: Any, low: int, high: int, unit: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"The {name} must be a whole number, not {value!r}.")
    if not low <= value <= high:
        raise ConfigError(f"The {name} must be between {low:,} and {high:,}{unit}, not {value:,}.")


@dataclass(frozen=True)
class LiveSettings:
    """What a student picks for one live training.

    The defaults pass 95% exact match on reverse by ~400 steps (~10 s on one thread) and settle near 0.98–1.0 by
    800; at a constant 3e-3 a few evals dip below (bench/train_live.py measures it).
    """

    task: str = "reverse"  # one of LIVE_TASKS
    cell: str = "gru"  # rnn, gru or lstm, for encoder and decoder
    attention: str = "general"  # score function; "none" is the fixed-context baseline
    hidden_size: int = 64  # H (even: the encoder is bidirectional, H/2 per direction); at most LIMITS.live_hidden_max
    steps: int = 800  # optimizer steps; at most LIMITS.live_steps_max
    probe: str = ""  # the input traced at every snapshot; "" picks the task's DEFAULT_PROBES entry
    seed: int = 0  # seeds the weights and the shuffling (the data are the task's own, seed 0)
    batch_size: int = 128  # pairs per step (128 is steadier than 64 at the same learning rate)
    learning_rate: float = 3e-3  # Adam

    def __post_init__(self) -> None:
        caps = limits.LIMITS
        if self.task not in LIVE_TASKS:
            raise ConfigError(f"Live training offers the tasks {', '.join(LIVE_TASKS)}, not {self.task!r}.")
        if self.cell not in CELLS:
            raise ConfigError(f"The cell must be one of {', '.join(CELLS)}, not {self.cell!r}.")
        if self.attention not in ATTENTIONS:
            raise ConfigError(f"The attention must be one of {', '.join(ATTENTIONS)}, not {self.attention!r}.")
        _check_int("hidden size", self.hidden_size, 4, caps.live_hidden_max)
        if self.hidden_size % 2:
            raise ConfigError(
                f"The hidden size must be even (the encoder reads both ways, H/2 each), not {self.hidden_size}."
            )
        _check_int("number of steps", self.steps, 1, caps.live_steps_max)
        _check_int("seed", self.seed, 0, 2**31 - 1)
        _check_int("batch size", self.batch_size, 1, caps.live_batch_max)
        rate = self.learning_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 1e-5 <= rate <= 0.1:
            raise ConfigError(f"The learning rate must be a number between 0.00001 and 0.1, not {rate!r}.")
        if not isinstance(self.probe, str):
            raise ConfigError(f"The probe must be text, not {type(self.probe).__name__}.")
        probe = self.probe.strip() or DEFAULT_PROBES[self.task]
        if len(probe) > caps.live_probe_chars:
            raise ConfigError(
                f"The probe has {len(probe):,} characters; a live training traces at most {caps.live_probe_chars}."
            )
        if self.task != "dates":  # dates read any text (an unseen character is marked unknown in the trace)
            probe = probe.lower()
            strangers = sorted({c for c in probe if c not in TOY_LETTERS})
            if strangers:
                shown = " ".join(repr(c) for c in strangers[:5])
                raise ConfigError(
                    f"The {self.task} task only ever shows the model the letters a–z, so the probe cannot hold {shown}."
                )
        object.__setattr__(self, "probe", probe)

    @property
    def snapshot_every(self) -> int:
        """Steps between attention snapshots: about SNAPSHOTS over the run."""
        return max(1, round(self.steps / SNAPSHOTS))

    @property
    def eval_every(self) -> int:
        """Steps between accuracy points: a multiple of snapshot_every, about EVALS over the run."""
        return self.snapshot_every * max(1, round(SNAPSHOTS / EVALS))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LiveSettings:
        if not isinstance(data, dict):
            raise ConfigError("The live training settings must be a JSON object.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"Live training has no setting(s) {', '.join(unknown)}.")
        return cls(**data)


@dataclass(frozen=True)
class LiveEval:
    step: int
    exact_match: float  # fraction of the EVAL_EXAMPLES validation sources decoded (greedy) exactly right
    token_accuracy: float  # fraction of target tokens right, position by position (a missing one is wrong)


@dataclass(frozen=True, eq=False)
class LiveSnapshot:
    step: int
    trace: Trace  # the greedy decode of the probe by the model of this step


@dataclass(frozen=True, eq=False)
class LiveState:
    """A consistent view of one live training at one moment (poll() builds a new one only when something changed)."""

    status: str  # one of STATUSES
    step: int  # optimizer steps done
    total: int  # steps asked for
    losses: tuple[float, ...]  # losses[i] is the mean token loss of step i + 1
    evals: tuple[LiveEval, ...]  # in step order
    snapshots: tuple[LiveSnapshot, ...]  # in step order; the last one traces the model handed back
    seconds: float  # since start() (process start included)
    tokens_per_second: float | None  # target tokens per second of the latest steps
    error: str | None  # one sentence when status is "failed"
    note: str | None  # one sentence on how it ended when it stopped early (asked to, or at the time limit)
    has_model: bool  # the trained weights have arrived: model() and checkpoint_bytes() will answer

    @property
    def fraction(self) -> float:
        """Fraction of the steps done, 0–1 (1 once done)."""
        if self.status == "done":
            return 1.0
        return min(1.0, self.step / self.total) if self.total else 0.0

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


_gate = threading.Lock()
_running: set[LiveTraining] = set()


def running_trainings() -> int:
    """How many live-training children this server process runs now."""
    with _gate:
        return len(_running)


def _refusal(count: int) -> str:
    trainings = "1 training is" if count == 1 else f"{count} trainings are"
    return f"{trainings} running on this server; try again when one finishes."


def _child_command(settings: LiveSettings, seconds_max: float) -> list[str]:
    """The child's command line (a test swaps it for a child that misbehaves)."""
    payload = json.dumps({"settings": settings.to_dict(), "seconds_max": seconds_max})
    return [sys.executable, "-m", "seq2seq_viz.live", payload]


class LiveTraining:
    """The handle of one live training: start() it, poll() it from any thread, stop() or kill() it, take its model.

    Nothing here imports torch except model(), which loads the trained weights in this process.
    """

    def __init__(self, settings: LiveSettings, process: subprocess.Popen, seconds_max: float) -> None:
        self.settings = settings
        self.seconds_max = seconds_max
        self._process = process
        self._started = time.monotonic()
        self._changed = threading.Condition()
        self._version = 0
        self._cached: tuple[int, LiveState] | None = None
        self._status = "starting"
        self._step = 0
        self._total = settings.steps
        self._losses: list[float] = []
        self._evals: list[LiveEval] = []
        self._snapshots: list[LiveSnapshot] = []
        self._tokens_per_second: float | None = None
        self._error: str | None = None
        self._note: str | None = None
        self._ended_at: float | None = None
        self._stop_asked = False
        self._killed = False
        self._weights: bytes | None = None
        self._card: str | None = None
        self._model: Seq2Seq | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._timer = threading.Timer(seconds_max + KILL_GRACE_S, self._overdue)
        self._timer.daemon = True

    # starting --------------------------------------------------------------------------------------------------

    @classmethod
    def start(cls, settings: LiveSettings | None = None) -> LiveTraining:
        """Spawn the child (BusyError with one sentence when LIMITS.live_trainings already run here)."""
        settings = settings or LiveSettings()
        caps = limits.LIMITS
        root = str(Path(__file__).resolve().parent.parent)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])]),
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        with _gate:
            if len(_running) >= caps.live_trainings:
                raise BusyError(_refusal(len(_running)))
            try:
                process = subprocess.Popen(
                    _child_command(settings, caps.live_seconds_max),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    encoding="utf-8",
                    errors="replace",
                    env=env,
                    cwd=root,
                )
            except OSError as exc:
                raise LiveError(f"The training process could not be started ({exc.strerror or exc}).") from None
            handle = cls(settings, process, caps.live_seconds_max)
            _running.add(handle)
        threading.Thread(target=handle._read_events, name="live-training-events", daemon=True).start()
        threading.Thread(target=handle._read_stderr, name="live-training-stderr", daemon=True).start()
        handle._timer.start()
        return handle

    @property
    def pid(self) -> int:
        return self._process.pid

    # reading the child -----------------------------------------------------------------------------------------

    def _read_events(self) -> None:
        try:
            for line in self._process.stdout:  # type: ignore[union-attr]
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                    self._apply(event)
                except (ValueError, KeyError, TypeError, Seq2SeqVizError) as exc:
                    if self._killed:
                        break  # killed in the middle of a line: the end it was asked for, not a failure
                    log.warning("live training sent an unreadable line (%s): %.200s", exc, line)
                    self._fail("The training process sent something unreadable, so it was stopped.")
                    self._process.kill()
                    break
        finally:
            self._ended()

    def _read_stderr(self) -> None:
        for line in self._process.stderr:  # type: ignore[union-attr]
            self._stderr.append(line.rstrip("\n"))

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        with self._changed:
            if kind == "started":
                self._total = int(event["total"])
                if self._status == "starting":
                    self._status = "running"
            elif kind == "progress":
                losses = [float(x) for x in event["losses"]]
                first = int(event["step"]) - len(losses)  # steps first+1 .. step
                del self._losses[first:]  # (never more than a repeat; keeps losses[i] == step i + 1)
                self._losses.extend(losses)
                self._step, self._total = int(event["step"]), int(event["total"])
                self._tokens_per_second = float(event["tokens_per_second"])
                if self._status == "starting":
                    self._status = "running"
            elif kind == "eval":
                self._evals.append(
                    LiveEval(int(event["step"]), float(event["exact_match"]), float(event["token_accuracy"]))
                )
            elif kind == "snapshot":
                trace = Trace.from_dict(event["trace"])
                self._snapshots.append(LiveSnapshot(int(event["step"]), trace))
            elif kind == "done":
                self._weights = base64.b64decode(event["weights"], validate=True)
                self._card = str(event["card"])
                self._step = int(event["step"])
                reason = event["reason"]
                if reason == "finished":
                    self._status = "done"
                else:
                    self._status = "stopped"
                    why = "at the time limit" if reason == "time limit" else "when asked"
                    self._note = f"The training stopped {why} after {self._step:,} of {self._total:,} steps."
            elif kind == "error":
                self._status, self._error = "failed", str(event["message"])
            else:
                raise ValueError(f"unknown event {kind!r}")
            self._touch()

    def _fail(self, sentence: str) -> None:
        with self._changed:
            if self._status not in FINISHED:
                self._status, self._error = "failed", sentence
                self._touch()

    def _touch(self) -> None:
        self._version += 1
        self._changed.notify_all()

    def _ended(self) -> None:
        """The child's stdout closed: it exited (or is about to). Settle the status and free its slot."""
        try:
            code = self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            code = self._process.wait()
        self._timer.cancel()
        if self._process.stdin:
            try:
                self._process.stdin.close()
            except OSError:
                pass
        with self._changed:
            if self._status not in FINISHED:
                if self._killed:
                    self._status = "stopped"
                    self._note = (
                        f"The training was ended after {self._step:,} of {self._total:,} steps; no model was kept."
                    )
                else:
                    self._status = "failed"
                    self._error = f"The training process ended unexpectedly (exit code {code}); no model was kept."
                    log.warning("live training ended with exit code %s; its stderr ends:\n%s", code, self.stderr_tail())
            self._ended_at = time.monotonic()
            self._touch()
        with _gate:
            _running.discard(self)

    def _overdue(self) -> None:
        """The wall-clock cap plus a grace has passed and the child still runs: it is killed."""
        if self._process.poll() is None:
            self._fail(f"The training went past the {self.seconds_max:.0f}-second limit and was ended.")
            self._process.kill()

    # what the UI reads -----------------------------------------------------------------------------------------

    def poll(self) -> LiveState:
        """The state now, consistent across its fields (the same object again while nothing has changed)."""
        with self._changed:
            if self._cached is not None and self._cached[0] == self._version and self._ended_at is not None:
                return self._cached[1]
            end = self._ended_at if self._ended_at is not None else time.monotonic()
            state = LiveState(
                status=self._status,
                step=self._step,
                total=self._total,
                losses=tuple(self._losses),
                evals=tuple(self._evals),
                snapshots=tuple(self._snapshots),
                seconds=end - self._started,
                tokens_per_second=self._tokens_per_second,
                error=self._error,
                note=self._note,
                has_model=self._weights is not None,
            )
            self._cached = (self._version, state)
            return state

    @property
    def status(self) -> str:
        return self._status

    def wait(self, timeout: float | None = None) -> LiveState:
        """Block until the training has finished (done, stopped or failed) or `timeout` seconds have passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while self._ended_at is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._changed.wait(left)
        return self.poll()

    def stderr_tail(self) -> str:
        """The last lines the child wrote to stderr (for logs; never for the screen)."""
        return "\n".join(self._stderr)

    # controlling the child -------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the child to stop after its current step; it still sends the model trained so far."""
        with self._changed:
            if self._status in FINISHED or self._stop_asked:
                return
            self._stop_asked = True
            self._status = "stopping"
            self._touch()
        try:
            self._process.stdin.write("stop\n")  # type: ignore[union-attr]
            self._process.stdin.flush()  # type: ignore[union-attr]
        except (OSError, ValueError):
            pass  # it is exiting anyway; the reader settles the status

    def kill(self) -> None:
        """End the child at once (no model is kept)."""
        with self._changed:
            if self._ended_at is not None:
                return
            self._killed = True
        self._process.kill()

    # the trained model -----------------------------------------------------------------------------------------

    def checkpoint_bytes(self) -> tuple[bytes, str]:
        """(safetensors bytes, JSON card text): save them as <name>.safetensors and <name>.json for a checkpoint."""
        with self._changed:
            if self._weights is None or self._card is None:
                raise LiveError(self._no_model())
            return self._weights, self._card

    def model(self) -> Seq2Seq:
        """The trained model, loaded in this process from the bytes (imports torch here; cached; eval mode)."""
        weights, card = self.checkpoint_bytes()
        if self._model is None:
            from .checkpoint import checkpoint_from_bytes

            self._model = checkpoint_from_bytes(weights, card)
        return self._model

    def _no_model(self) -> str:
        if self._status == "failed":
            return f"The training failed, so there is no model: {self._error}"
        if self._status in FINISHED:
            return "The training was ended before it sent its model, so there is none."
        return "The training has not finished yet, so there is no model to use."


# ---- the child ---------------------------------------------------------------------------------------------------

_CHILD_STARTED = time.monotonic()


class _Child:
    """The training side: train() with callbacks that write the events (see the module docstring)."""

    def __init__(self, settings: LiveSettings, seconds_max: float, protocol) -> None:
        self.settings = settings
        self.seconds_max = seconds_max
        self.protocol = protocol
        self.stop_asked = threading.Event()
        self.timed_out = False
        self.pending_losses: list[float] = []
        self.pending_rates: list[float] = []
        self.last_flush = time.monotonic()
        self.last_flush_step = 0
        self.step = 0
        self.total = settings.steps
        self.model = None  # the model being trained (known from the first snapshot on)
        self.final_state = None  # its weights after the last step (train() may hand back an earlier epoch's)
        self.last_snapshot_step = 0
        self.last_eval_step = 0
        self.last_eval: dict[str, float] = {}

    def send(self, event: str, **fields: Any) -> None:
        self.protocol.write(json.dumps({"event": event, **fields}) + "\n")
        self.protocol.flush()

    def seconds(self) -> float:
        return time.monotonic() - _CHILD_STARTED

    def flush_progress(self) -> None:
        if not self.pending_losses:
            return
        now = time.monotonic()
        steps = self.step - self.last_flush_step
        self.send(
            "progress",
            step=self.step,
            total=self.total,
            loss=self.pending_losses[-1],
            losses=[round(x, 6) for x in self.pending_losses],
            seconds=round(self.seconds(), 3),
            tokens_per_second=round(sum(self.pending_rates) / len(self.pending_rates), 1),
            steps_per_second=round(steps / max(now - self.last_flush, 1e-9), 2),
        )
        self.pending_losses, self.pending_rates = [], []
        self.last_flush, self.last_flush_step = now, self.step

    def run(self) -> None:
        import torch

        torch.set_num_threads(1)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass  # already set
        from .checkpoint import checkpoint_to_bytes
        from .config import ModelConfig, TrainConfig
        from .tasks import get_task
        from .train import train

        s = self.settings
        task = get_task(s.task)
        train_pairs, valid_pairs = task.pairs("train"), task.pairs("valid")
        sample = valid_pairs[:EVAL_EXAMPLES]
        chosen = {"task": s.task, "cell": s.cell, "attention": s.attention, "hidden_size": s.hidden_size}
        model_config = ModelConfig(**{**task.model_defaults, **chosen})
        steps_per_epoch = math.ceil(len(train_pairs) / s.batch_size)
        train_config = TrainConfig(
            epochs=s.steps // steps_per_epoch + 1,  # max_steps is what ends the run
            batch_size=s.batch_size,
            lr=s.learning_rate,
            patience=1 << 20,  # never stop early: the student asked for this many steps
            seed=s.seed,
            device="cpu",
            max_steps=s.steps,
        )
        self.send(
            "started",
            total=s.steps,
            pairs=len(train_pairs),
            model=model_config.name,
            snapshot_every=s.snapshot_every,
            eval_every=s.eval_every,
            seconds=round(self.seconds(), 3),
        )

        def capture(model) -> None:
            self.final_state = {k: v.detach().clone() for k, v in model.state_dict().items()}

        def on_step(progress) -> None:
            self.step, self.total = progress.step, progress.total_steps
            self.pending_losses.append(progress.loss)
            self.pending_rates.append(progress.tokens_per_second)
            if progress.step >= progress.total_steps:
                if self.model is not None:
                    capture(self.model)
                self.flush_progress()
            elif time.monotonic() - self.last_flush >= PROGRESS_INTERVAL_S:
                self.flush_progress()

        def on_snapshot(step: int, model) -> None:
            self.model = model
            self.flush_progress()
            if step % s.eval_every == 0:
                self.evaluate(model, sample)
            self.snapshot(model)

        def should_stop() -> bool:
            if self.seconds() >= self.seconds_max:
                self.timed_out = True
            stopping = self.timed_out or self.stop_asked.is_set()
            if stopping and self.model is not None:
                capture(self.model)
            return stopping

        result = train(
            model_config,
            train_config,
            train_pairs,
            valid_pairs,
            on_step=on_step,
            on_snapshot=on_snapshot,
            snapshot_every=s.snapshot_every,
            should_stop=should_stop,
        )
        model = result.model
        if self.final_state is not None:
            model.load_state_dict(self.final_state)
        model.eval()
        self.flush_progress()
        if self.last_eval_step != self.step:
            self.evaluate(model, sample)
        if self.last_snapshot_step != self.step:
            self.snapshot(model)
        reason = "finished" if self.step >= self.total else "time limit" if self.timed_out else "stopped"
        weights, card = checkpoint_to_bytes(
            model,
            train_config,
            metrics={"live": {**self.last_eval, "step": self.step, "examples": len(sample)}},
            provenance={
                "source": "trained live in the lab (seq2seq_viz.live)",
                "task": s.task,
                "task_provenance": task.provenance,
            },
            extra={"live_settings": s.to_dict(), "examples": list(task.examples)},
        )
        self.send(
            "done",
            step=self.step,
            total=self.total,
            reason=reason,
            seconds=round(self.seconds(), 3),
            weights=base64.b64encode(weights).decode("ascii"),
            card=card,
        )

    def evaluate(self, model, sample) -> None:
        from . import metrics
        from .evaluate import greedy_batch
        from .text import detokenize

        level = model.config.level
        outputs = greedy_batch(model, [src for src, _ in sample])
        hyps = [detokenize(h, level) for h in outputs]
        refs = [detokenize(tgt, level) for _, tgt in sample]
        self.last_eval = {
            "exact_match": round(metrics.exact_match(hyps, [[r] for r in refs]), 6),
            "token_accuracy": round(token_accuracy(outputs, [tgt for _, tgt in sample]), 6),
        }
        self.send("eval", step=self.step, examples=len(sample), **self.last_eval)
        self.last_eval_step = self.step

    def snapshot(self, model) -> None:
        from .decoding import decode

        trace = decode(model, self.settings.probe, "greedy")
        self.send("snapshot", step=self.step, trace=trace.to_dict())
        self.last_snapshot_step = self.step


def token_accuracy(hyps, refs) -> float:
    """Σ #{t : hyp_t = ref_t} / Σ max(|hyp|, |ref|) over token lists (metrics.char_accuracy, token by token)."""
    right = positions = 0
    for hyp, ref in zip(hyps, refs, strict=True):
        right += sum(h == r for h, r in zip(hyp, ref, strict=False))
        positions += max(len(hyp), len(ref))
    return right / positions if positions else 1.0


def _watch_stdin(child_stop: threading.Event) -> None:
    """A "stop" line asks for a graceful stop; end of input means the parent is gone, so the child ends at once."""
    for line in sys.stdin:
        if line.strip() == "stop":
            child_stop.set()
    os._exit(0)


def _watchdog(seconds: float) -> None:
    """Past the cap and its grace the child ends itself, even in the middle of a step."""
    time.sleep(max(0.0, seconds - (time.monotonic() - _CHILD_STARTED)))
    os._exit(3)


def _child_main(argv: list[str]) -> int:
    try:
        os.nice(10)  # below the server and every other session (a no-op where not permitted)
    except OSError:
        pass
    # the protocol owns the real stdout; anything else printed (a warning, a stray print) goes to stderr
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    stop = threading.Event()
    threading.Thread(target=_watch_stdin, args=(stop,), daemon=True).start()

    def fail(sentence: str) -> int:
        protocol.write(json.dumps({"event": "error", "message": sentence}) + "\n")
        protocol.flush()
        return 1

    try:
        payload = json.loads(argv[0]) if argv else None
        if not isinstance(payload, dict) or "settings" not in payload:
            return fail("The training process was started without its settings.")
        settings = LiveSettings.from_dict(payload["settings"])
        seconds_max = float(payload.get("seconds_max", limits.LIMITS.live_seconds_max))
    except (ValueError, TypeError) as exc:
        return fail(str(exc) if isinstance(exc, Seq2SeqVizError) else f"The training settings are unreadable ({exc}).")
    threading.Thread(target=_watchdog, args=(seconds_max + KILL_GRACE_S / 2,), daemon=True).start()
    child = _Child(settings, seconds_max, protocol)
    child.stop_asked = stop
    try:
        child.run()
    except Seq2SeqVizError as exc:
        return fail(str(exc))
    except MemoryError:
        return fail("The training ran out of memory; try a smaller hidden size or batch.")
    except Exception as exc:  # one sentence for the person; the traceback goes to stderr for the logs
        import traceback

        traceback.print_exc()
        return fail(f"The training failed unexpectedly ({type(exc).__name__}: {str(exc)[:200]}).")
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))


__all__ = [
    "LIVE_TASKS",
    "STATUSES",
    "LiveError",
    "LiveEval",
    "LiveSettings",
    "LiveSnapshot",
    "LiveState",
    "LiveTraining",
    "running_trainings",
]
