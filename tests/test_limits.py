"""Server-wide ceilings and the per-session decode budget (seq2seq_viz.limits), on tiny seeded models."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from seq2seq_viz import beam_search, decode, forced_prefix, greedy, sample, teacher_forced
from seq2seq_viz.checkpoint import save_checkpoint
from seq2seq_viz.cli import main
from seq2seq_viz.decoding import greedy_tokens
from seq2seq_viz.errors import InputError
from seq2seq_viz.limits import LIMITS, QUOTE_CHARS, BusyError, SessionBudget, excerpt
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
    with pytest.raises(InputError) as caught:
        greedy(word_model, word[: LIMITS.input_chars])  # the character ceiling catches all 2,000 first
    assert str(caught.value) == (
        f"The word «{'a' * 20}…» in the input has 500 characters; words may have at most {LIMITS.token_chars}."
    )
    with pytest.raises(InputError, match=r"^The input has 2,000 characters; the lab reads at most 500\."):
        greedy(word_model, word)


def test_an_excerpt_quotes_at_most_twenty_characters():
    assert excerpt("short") == "short"
    assert excerpt("x" * QUOTE_CHARS) == "x" * QUOTE_CHARS  # exactly the limit: nothing left out, no "…"
    assert excerpt("0123456789" * 3) == "01234567890123456789…"


LONG_WORD = "abcdefghij" * 4 + "x"  # 41 characters: one over the ceiling
REFUSAL = f"«{LONG_WORD[:20]}…» in the {{what}} has 41 characters; words may have at most {LIMITS.token_chars}."


@pytest.mark.parametrize(
    ("entry", "what"),
    [
        (lambda m: greedy(m, f"a {LONG_WORD} b"), "input"),
        (lambda m: greedy_tokens(m, LONG_WORD), "input"),
        (lambda m: sample(m, LONG_WORD), "input"),
        (lambda m: beam_search(m, LONG_WORD, beam_size=2), "input"),
        (lambda m: decode(m, LONG_WORD, "beam", beam_size=3), "input"),
        (lambda m: teacher_forced(m, "a b", f"a {LONG_WORD}"), "reference"),
        (lambda m: forced_prefix(m, "a b", LONG_WORD), "forced prefix"),
        (lambda m: forced_prefix(m, "a b", ["a", LONG_WORD]), "forced prefix"),
    ],
)
def test_every_decode_refuses_a_word_over_the_ceiling_quoting_only_its_start(make_model, entry, what):
    with pytest.raises(InputError) as caught:
        entry(make_model(level="word"))
    message = str(caught.value)
    assert message == "The word " + REFUSAL.format(what=what)
    assert LONG_WORD not in message and len(message) < 120
    assert len(LONG_WORD[:-1]) == LIMITS.token_chars  # 40 characters still pass (the limit is inclusive)
    assert greedy(make_model(level="word"), LONG_WORD[:-1]).source_tokens[0] == LONG_WORD[:-1]


def test_a_char_level_forced_token_is_refused_by_length_not_echoed(make_model):
    token = "abcdefghij" * 45  # 450 characters typed as one token: the tokenizer never splits a list's token
    with pytest.raises(InputError) as caught:
        forced_prefix(make_model(), "abc", ["a", token])
    message = str(caught.value)
    assert message == (
        f"The token «{token[:20]}…» in the forced prefix has 450 characters; tokens may have at most "
        f"{LIMITS.token_chars}."
    )
    with pytest.raises(InputError) as caught:  # under the ceiling but unwritable: still quoted short
        forced_prefix(make_model(), "abc", ["abcdefghij" * 3])
    assert str(caught.value) == "The model cannot write 'abcdefghijabcdefghij…': it is not in its output vocabulary."


def test_the_cli_refuses_a_long_word_in_one_short_sentence(make_model, tmp_path, capsys):
    save_checkpoint(make_model(level="word"), tmp_path / "tiny")
    word = "b" * 2000
    assert main(["translate", "--model", str(tmp_path / "tiny"), word[:300]]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"error: The word «{'b' * 20}…» in the input has 300 characters; words may have at most 40."
    assert main(["translate", "--model", str(tmp_path / "tiny"), word]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: The input has 2,000 characters; the lab reads at most 500. Please shorten it."


def test_the_step_ceiling_holds_whatever_the_model_card_allows(make_model):
    model = make_model(max_output_len=1000)
    with torch.no_grad():
        model.decoder.W_s.bias[EOS_ID] = -50.0  # this model never writes <eos>: only a cap stops it
    trace = greedy(model, "abc")
    assert len(trace.steps) == LIMITS.output_steps and trace.truncated


def test_a_forced_prefix_list_cannot_run_past_the_cap(make_model):
    model = make_model()  # max_output_len 10
    started = time.perf_counter()
    with pytest.raises(
        InputError, match=rf"forced prefix has 400,000 tokens; the lab writes at most {LIMITS.output_steps - 1}\."
    ):
        forced_prefix(model, "abc", ["a"] * 400_000)  # counted against the server's ceiling before any is read
    with pytest.raises(InputError, match=r"forced prefix has 12 tokens; this model writes at most 9\."):
        forced_prefix(model, "abc", ["a"] * 12)
    assert time.perf_counter() - started < 1.0  # refused before any step ran
    assert len(forced_prefix(model, "abc", ["a"] * 9).steps) >= 9


def test_a_reference_over_the_cap_is_refused(make_model):
    with pytest.raises(InputError, match="reference has 12 tokens"):
        teacher_forced(make_model(), "abc", "a" * 12)


def test_the_beam_width_ceiling(make_model):
    model = make_model()
    assert beam_search(model, "abc", beam_size=LIMITS.beam_width).beam.nbest
    with pytest.raises(InputError, match=f"whole number from 1 to {LIMITS.beam_width}"):
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
