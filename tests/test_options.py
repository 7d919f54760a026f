"""The option gate (seq2seq_viz.options) and the text door (text.admit): each hostile value the probes found gets
the project's own error and its exact sentence, through the public API, and good values pass unchanged."""

from __future__ import annotations

import inspect
import json
import math

import numpy as np
import pytest
import torch

from seq2seq_viz import decode, decoding
from seq2seq_viz.errors import CheckpointError, InputError
from seq2seq_viz.limits import LIMITS
from seq2seq_viz.options import MODE_OPTIONS, OPTIONS, option, shown
from seq2seq_viz.text import admit
from seq2seq_viz.trace import Trace

SEED = "The seed must be a whole number from 0 to 9,223,372,036,854,775,807"
STEPS = f"The step limit (max_len) must be a whole number from 1 to {LIMITS.output_steps} (or None)"
BAD = [  # (mode, options, the sentence)
    ("sample", {"seed": 2**64}, f"{SEED}, not 18446744073709551616."),
    ("sample", {"seed": 1.5}, f"{SEED}, not 1.5."),
    ("sample", {"seed": 10**5000}, f"{SEED}, not a whole number of about 5,001 digits."),
    ("sample", {"top_k": -1}, "The top-k must be a whole number from 1 to 10,000 (or None), not -1."),
    ("sample", {"top_k": 2.0}, "The top-k must be a whole number from 1 to 10,000 (or None), not 2.0."),
    ("sample", {"temperature": "hot"}, "The temperature must be a number from 0.05 to 10, not 'hot'."),
    ("sample", {"temperature": None}, "The temperature must be a number from 0.05 to 10, not None."),
    ("sample", {"temperature": math.nan}, "The temperature must be a number from 0.05 to 10, not nan."),
    ("beam", {"beam_size": 2.5}, f"The beam width must be a whole number from 1 to {LIMITS.beam_width}, not 2.5."),
    ("beam", {"beam_size": True}, f"The beam width must be a whole number from 1 to {LIMITS.beam_width}, not True."),
    ("beam", {"length_penalty": 1e9}, "The length penalty must be a number from 0 to 5, not 1000000000.0."),
    ("beam", {"length_penalty": -math.inf}, "The length penalty must be a number from 0 to 5, not -inf."),
    ("greedy", {"max_len": 10.5}, f"{STEPS}, not 10.5."),
    ("greedy", {"max_len": math.nan}, f"{STEPS}, not nan."),
    ("greedy", {"reference": 7}, "The reference must be text, not 7."),
    ("forced_prefix", {"prefix": ["a", 3]}, "Token 2 of the forced prefix must be text, not 3."),
    ("forced_prefix", {"prefix": {"a": 1}}, "The forced prefix must be text or a list of tokens, not a dict."),
    ("forced_prefix", {}, "Forced-prefix decoding needs a prefix: give the first output tokens as text or a list "
                          "of tokens."),
    ("greedy", {"beam_size": 3}, "The greedy mode takes no option 'beam_size'; it knows reference, max_len."),
    ("teacher_forced", {"reference": "ab", "max_len": 3},
     "The teacher_forced mode takes no option 'max_len'; it knows reference."),
]  # fmt: skip


@pytest.mark.parametrize(("mode", "options", "sentence"), BAD)
def test_each_bad_option_gets_its_sentence(make_model, mode, options, sentence):
    with pytest.raises(InputError) as caught:
        decode(make_model(), "abc", mode, **options)
    assert str(caught.value) == sentence


def test_good_values_pass_as_plain_python():
    assert option("beam_size", np.int64(3)) == 3 and type(option("beam_size", np.int64(3))) is int
    assert option("temperature", np.float32(0.5)) == 0.5 and type(option("temperature", 1)) is float
    assert option("top_k", None) is None and option("max_len", None) is None
    assert option("prefix", ("a", "b")) == ["a", "b"]


def test_every_mode_lists_exactly_its_strategys_keywords():
    for mode, names in MODE_OPTIONS.items():
        parameters = list(inspect.signature(decoding.STRATEGIES[mode]).parameters)[2:]  # after model, text
        assert sorted(parameters) == sorted(names), mode
        assert set(names) <= set(OPTIONS)


def test_unknown_modes_are_named_safely(make_model):
    with pytest.raises(InputError, match=r"^Unknown decoding mode a list; choose one of greedy, beam"):
        decode(make_model(), "abc", ["greedy"])


def test_the_gated_values_decode(make_model):
    model = make_model()
    trace = decode(model, "abc", "sample", seed=np.int64(3), top_k=np.int32(2), temperature=np.float64(0.7))
    again = decode(model, "abc", "sample", seed=3, top_k=2, temperature=0.7)
    assert trace.output_tokens == again.output_tokens
    assert len(decode(model, "abc", "greedy", max_len=2).steps) <= 2


def test_shown_never_echoes_a_long_text():
    assert len(shown("x" * 10_000)) < 60
    assert shown(10**5000).startswith("a whole number of about 5,001 digits")


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("ab\ud800c", "The input holds a broken character (a lone surrogate, U+D800) at character 3: remove it."),
        ("ab\x00", "The input holds a control character (U+0000) at character 3: remove it."),
        ("a\x1bb", "The input holds a control character (U+001B) at character 2: remove it."),
        (b"abc", "The input must be text, not a bytes."),
    ],
)
def test_the_text_door_refuses_what_cannot_be_text(text, sentence):
    with pytest.raises(InputError) as caught:
        admit(text)
    assert str(caught.value) == sentence


def test_whitespace_controls_pass_the_door_and_fold(make_model):
    assert admit("a\tb\nc\r") == "a\tb\nc\r"
    trace = decode(make_model(), "a\tb\nc")
    assert trace.source_tokens[:5] == ["a", " ", "b", " ", "c"]


def test_a_surrogate_in_a_reference_or_prefix_is_refused_too(make_model):
    with pytest.raises(InputError, match="reference holds a broken character"):
        decode(make_model(), "abc", "teacher_forced", reference="a\udfffb")
    with pytest.raises(InputError, match="forced prefix holds a broken character"):
        decode(make_model(), "abc", "forced_prefix", prefix=["a", "\ud800"])


def test_a_model_whose_logits_are_not_finite_is_refused_not_traced(make_model):
    model = make_model()
    with torch.no_grad():
        model.decoder.W_s.weight[0, 0] = math.inf  # a model built in memory, which no checkpoint check saw
    with pytest.raises(CheckpointError, match=r"not finite .* at decoder step 1: its weights are damaged"):
        decode(model, "abc")
    with pytest.raises(CheckpointError, match="not finite"):
        decode(model, "abc", "beam", beam_size=3)


def test_trace_json_is_strict(make_model):
    trace = decode(make_model(), "abc")
    trace.steps[0].weights[0] = math.nan  # as a hand-built or damaged trace could hold
    text = trace.to_json()
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in strict JSON"))
    assert math.isnan(Trace.from_json(text).steps[0].weights[0])
