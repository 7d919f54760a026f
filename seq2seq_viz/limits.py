"""What one request may ask of a shared server, and what one session may spend: checked before any work is done.

A class of 60 shares one process. Two kinds of limit keep one student from slowing the others:
- ceilings on a single request (`LIMITS`): input characters, characters in one word, source tokens, decoder
  steps, beam width. Over a ceiling: one sentence (InputError), no work done. They hold whatever the model's
  own card says, so a checkpoint cannot raise them.
- a budget per session (`SessionBudget`): the decode CPU time that session may use, refilled over time, one
  decode at a time, and a pace of script runs. A session that sends maximal requests in a loop gets one
  sentence asking it to wait, and its runs are spaced out; together they cap what it can take from the class.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from .errors import InputError, Seq2SeqVizError


@dataclass(frozen=True)
class Limits:
    """Server-wide ceilings on one request (a model's own, lower limits still apply)."""

    input_chars: int = 500  # characters of a source, reference or forced prefix
    token_chars: int = 40  # characters in one word (the longest English and French words are under 30)
    source_tokens: int = 100  # tokens the encoder reads, whatever the model's max_source_len says
    output_steps: int = 100  # decoder steps, whatever the model's max_output_len says
    beam_width: int = 10  # hypotheses kept by beam search
    # Train live (seq2seq_viz.live): each training is a child process, niced, on one torch thread
    live_trainings: int = 2  # children training at once per server process (the rest are asked to wait)
    live_hidden_max: int = 128  # H of a model trained live
    live_steps_max: int = 3000  # optimizer steps of one training
    live_batch_max: int = 256  # pairs per step
    live_seconds_max: float = 120.0  # wall-clock seconds of one training, process start included; then it stops
    live_probe_chars: int = 30  # characters of the probe input whose attention is traced during training


LIMITS = Limits()


class BusyError(Seq2SeqVizError):
    """This session has used its share of the server for now, or its previous decode is still running."""


QUOTE_CHARS = 20  # the most of a person's text an error sentence quotes back


def excerpt(text: str, most: int = QUOTE_CHARS) -> str:
    """The start of a text for an error sentence: at most `most` characters, "…" when some were left out."""
    return text if len(text) <= most else text[:most] + "…"


def check_text(text: str, what: str = "input") -> None:
    """Refuse text over the character ceiling before it is tokenized (never echoing it back)."""
    if len(text) > LIMITS.input_chars:
        raise InputError(
            f"The {what} has {len(text):,} characters; the lab reads at most {LIMITS.input_chars}. Please shorten it."
        )


def check_tokens(tokens: Sequence[str], what: str = "input", level: str = "word") -> None:
    """Refuse a token longer than the per-token ceiling, quoting only its start.

    The tokenizer gives a character-level model single characters, but a forced prefix given as a list may hold
    any string, so every level is checked (for a char-level model a "token", for a word-level one a "word").
    """
    longest = max(tokens, key=len, default="")
    if len(longest) > LIMITS.token_chars:
        unit = "token" if level == "char" else "word"
        raise InputError(
            f"The {unit} «{excerpt(longest)}» in the {what} has {len(longest):,} characters; "
            f"{unit}s may have at most {LIMITS.token_chars}."
        )


def cap_steps(model_cap: int, asked: int | None = None) -> int:
    """Decoder steps allowed: the model's cap, what was asked, and the server's ceiling, whichever is lowest.

    Every decode loop runs at most this many steps (a forced prefix or reference longer than it is refused up
    front), so LIMITS.output_steps bounds the work of one request whatever the model's card says. The beam width
    and the other options are checked by the gate in options.py (beam_width is its ceiling).
    """
    cap = min(model_cap, LIMITS.output_steps)
    return max(1, cap if asked is None else min(cap, asked))


class _Bucket:
    """A token bucket that may go into debt: `level` refills at `rate` per second up to `burst`."""

    def __init__(self, burst: float, rate: float, clock) -> None:
        self.burst, self.rate, self._clock = burst, rate, clock
        self.level, self._stamp = burst, clock()

    def refill(self) -> float:
        now = self._clock()
        self.level = min(self.burst, self.level + (now - self._stamp) * self.rate)
        self._stamp = now
        return self.level


class SessionBudget:
    """What one session may take from a shared server: decode CPU time, one decode at a time, and its pace.

    Decodes: a bucket of CPU-seconds, `burst` at the start, refilled at `rate` per second. A decode may start
    while the bucket is not empty; its measured CPU time (this thread's) is then taken out, so one long decode
    can leave the bucket in debt and the next one waits until it has refilled. An ordinary click costs
    0.02–0.1 s and never waits; a loop of maximal requests settles at `rate` CPU-s per second.
    Runs: a bucket of script runs (`runs_burst`, refilled at `runs_rate` per second). pace() reserves one and
    says how long to wait first: zero for any person clicking, and for a client looping requests, a delay that
    spaces its runs out without costing any CPU (Streamlit folds the requests it sends meanwhile into one).
    """

    def __init__(
        self,
        burst: float = 3.0,
        rate: float = 0.1,
        runs_burst: float = 15.0,
        runs_rate: float = 3.0,
        clock=time.monotonic,
    ) -> None:
        self._cpu = _Bucket(burst, rate, clock)
        self._runs = _Bucket(runs_burst, runs_rate, clock)
        self._running = threading.Lock()
        self._lock = threading.Lock()

    def available(self) -> float:
        """Decode CPU-seconds available now (negative: in debt)."""
        with self._lock:
            return self._cpu.refill()

    def pace(self) -> float:
        """Reserve one script run; return the seconds to wait before it goes on (0 unless runs come too fast)."""
        with self._lock:
            level = self._runs.refill() - 1
            self._runs.level = level
        return 0.0 if level >= 0 else -level / self._runs.rate

    @contextmanager
    def spend(self) -> Iterator[None]:
        """Run one decode inside: refused with BusyError when the bucket is empty or another decode runs."""
        with self._lock:
            level = self._cpu.refill()
        if level <= 0:
            wait = max(1, math.ceil(-level / self._cpu.rate))  # seconds until the bucket is above zero again
            raise BusyError(
                f"This session has used its share of the server for now: wait {wait} s and try again "
                "(everyone in the class shares it)."
            )
        if not self._running.acquire(blocking=False):
            raise BusyError("Your previous request is still running: wait for it to finish.")
        started = time.thread_time()
        try:
            yield
        finally:
            used = time.thread_time() - started
            self._running.release()
            with self._lock:
                self._cpu.refill()
                self._cpu.level -= used
