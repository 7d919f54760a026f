"""Server-wide ceilings and the per-session decode budget (seq2seq_viz.limits), on tiny seeded models."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from seq2seq_viz import beam_search, forced_prefix, greedy, teacher_forced
from seq2seq_viz.errors import InputError
from seq2seq_viz.limits import LIMITS, BusyError, SessionBudget
from seq2seq_viz.vocab import EOS_ID


def test_an_input_over_the_character_ceiling_is_one_sentence_that_does_not_echo_it(make_model):
    text = "ab " * 200  # 600 characters
    with pytest.raises(InputError) as caught:
        greedy(make_model(), text)
    message = str(caught.value)
    assert "600 characters" in message and f"at most {LIMITS.input_chars}" in message
    assert "ab ab" not in message and len(message) < 120


def test_a_two_thousand_character_word_is_refused_by_its_length(make_model):
    word_model = make_model(level="word")
    word = "a" * 2000  # one token: under every token cap, over the per-word ceiling
    with pytest.raises(InputError, match=r"^A word in the input has 500 characters; words may have at most 40\.$"):
        greedy(word_model, word[: LIMITS.input_chars])  # the character ceiling catches all 2,000 first
    with pytest.raises(InputError, match=r"has 2,000 characters; the lab reads at most"):
        greedy(word_model, word)


def test_the_step_ceiling_holds_whatever_the_model_card_allows(make_model):
    model = make_model(max_output_len=1000)
    with torch.no_grad():
        model.decoder.W_s.bias[EOS_ID] = -50.0  # this model never writes <eos>: only a cap stops it
    trace = greedy(model, "abc")
    assert len(trace.steps) == LIMITS.output_steps and trace.truncated


def test_a_forced_prefix_list_cannot_run_past_the_cap(make_model):
    model = make_model()  # max_output_len 10
    started = time.perf_counter()
    with pytest.raises(InputError, match=r"forced prefix has 400 tokens; this model writes at most 9\."):
        forced_prefix(model, "abc", ["a"] * 400)
    assert time.perf_counter() - started < 1.0  # refused before any step ran
    assert len(forced_prefix(model, "abc", ["a"] * 9).steps) >= 9


def test_a_reference_over_the_cap_is_refused(make_model):
    with pytest.raises(InputError, match="reference has 12 tokens"):
        teacher_forced(make_model(), "abc", "a" * 12)


def test_the_beam_width_ceiling(make_model):
    model = make_model()
    assert beam_search(model, "abc", beam_size=LIMITS.beam_width).beam["nbest"]
    with pytest.raises(InputError, match=f"between 1 and {LIMITS.beam_width}"):
        beam_search(model, "abc", beam_size=LIMITS.beam_width + 1)


def _burn(seconds: float) -> float:
    """Spin this thread's CPU for about `seconds`; return the CPU time it measured itself."""
    started = time.thread_time()
    while time.thread_time() - started < seconds:
        sum(range(1000))
    return time.thread_time() - started


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_budget_bills_each_decode_its_cpu_time_and_refills_at_its_rate():
    clock = FakeClock()
    budget = SessionBudget(burst=0.1, rate=0.05, clock=clock)
    with budget.spend():
        used = _burn(0.15)
    assert budget.available() == pytest.approx(0.1 - used, abs=0.01)  # in debt: about -0.05
    with pytest.raises(BusyError, match=r"wait (1|2) s and try again"):
        with budget.spend():
            pytest.fail("an empty budget must not run the decode")
    clock.now += (used - 0.1) / 0.05 + 0.2  # long enough to climb back above zero at 0.05 per second
    assert budget.available() > 0
    with budget.spend():
        pass
    clock.now += 1000
    assert budget.available() == pytest.approx(0.1)  # never above the burst


def test_a_budget_runs_one_decode_at_a_time():
    budget = SessionBudget()
    inside, release = threading.Event(), threading.Event()

    def first() -> None:
        with budget.spend():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(5)
    with pytest.raises(BusyError, match="previous request is still running"):
        with budget.spend():
            pass
    release.set()
    thread.join()
    with budget.spend():  # free again once the first has finished
        pass


def test_runs_faster_than_a_person_clicks_are_spaced_out():
    clock = FakeClock()
    budget = SessionBudget(runs_burst=3, runs_rate=4.0, clock=clock)
    assert [budget.pace() for _ in range(3)] == [0.0, 0.0, 0.0]  # a burst of clicks goes straight through
    assert budget.pace() == pytest.approx(0.25)  # then one run per 1/4 s
    assert budget.pace() == pytest.approx(0.5)
    clock.now += 0.5  # the session waited as told
    assert budget.pace() == pytest.approx(0.25)  # and the next run is again one 1/4 s slot away
    clock.now += 10
    assert budget.pace() == 0.0  # a pause refills the burst
