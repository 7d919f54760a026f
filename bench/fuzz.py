"""The public API fuzzed: any text and any option values, through seq2seq_viz.decode, on tiny models.

    python bench/fuzz.py                    # 6,000 calls (Hypothesis), printed as outcome counts and failures
    python bench/fuzz.py --examples 20000

Every call must end in one of two ways: a Trace whose JSON is strict (no NaN literal) and encodes as UTF-8, made
within the server's step ceiling; or the project's own InputError, whose message is one sentence. Anything else
(another exception, a traceback's message, a trace that cannot be saved) is a failure. tests/test_fuzz.py runs the
same property with a CI-sized count.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

MODES = ("greedy", "beam", "sample", "teacher_forced", "forced_prefix")
OPTION_NAMES = ("beam_size", "length_penalty", "temperature", "top_k", "seed", "max_len", "prefix", "reference")


def tiny_models() -> list:
    """A character model (GRU, Luong general) and a word model (LSTM, Bahdanau), seeded, untrained."""
    import torch

    from seq2seq_viz.config import ModelConfig
    from seq2seq_viz.model import Seq2Seq
    from seq2seq_viz.vocab import Vocab

    torch.set_num_threads(1)
    letters = Vocab.build([list("abcdefghij")])
    words = Vocab.build([["i", "am", "cold", "je", "suis", "froid", "."]])
    torch.manual_seed(0)
    char = Seq2Seq(ModelConfig(hidden_size=8, embedding_size=6, max_output_len=12), letters, letters).eval()
    torch.manual_seed(1)
    word = Seq2Seq(
        ModelConfig(
            task="toy-words",
            level="word",
            cell="lstm",
            attention="additive",
            hidden_size=8,
            embedding_size=6,
            max_output_len=12,
        ),
        words,
        words,
    ).eval()
    return [char, word]


# Text: mostly what the models know, sometimes anything at all (lone surrogates and control characters included)
ANY_CHARACTER = st.characters(codec=None, categories=None)
TEXT = st.one_of(
    st.text(alphabet="abcdefghij ", max_size=30),
    st.lists(st.sampled_from(["i", "am", "cold", "je", "suis", ".", "zz"]), max_size=12).map(" ".join),
    st.text(alphabet=ANY_CHARACTER, max_size=30),
    st.text(alphabet="ab", min_size=400, max_size=700),  # around the character ceiling
    st.integers(),
    st.none(),
    st.binary(max_size=5),
)
VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=15),
    st.integers(),
    st.integers(min_value=2**62, max_value=2**70),
    st.builds(pow, st.just(10), st.just(5000)),  # past Python's 4,300 digits for str()
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0.0, max_value=12.0),
    TEXT,
    st.lists(
        st.one_of(st.sampled_from(list("abcj")), st.integers(), st.text(alphabet=ANY_CHARACTER, max_size=3)),
        max_size=130,
    ),
    st.tuples(st.sampled_from(list("abc"))),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
# Values a person would plausibly send, per option (so that about half the calls decode)
PLAUSIBLE = {
    "beam_size": st.integers(1, 10),
    "length_penalty": st.floats(0.0, 5.0),
    "temperature": st.floats(0.05, 10.0),
    "top_k": st.one_of(st.none(), st.integers(1, 40)),
    "seed": st.integers(0, 2**63 - 1),
    "max_len": st.one_of(st.none(), st.integers(1, 200)),
    "prefix": st.one_of(
        st.text(alphabet="abcj ", min_size=1, max_size=8), st.lists(st.sampled_from(list("abcj")), max_size=15)
    ),
    "reference": st.text(alphabet="abcdefghij ", min_size=1, max_size=15),
}
MODE_NAMES = {
    "greedy": ("reference", "max_len"),
    "beam": ("beam_size", "length_penalty", "reference", "max_len"),
    "sample": ("temperature", "top_k", "seed", "reference", "max_len"),
    "teacher_forced": ("reference",),
    "forced_prefix": ("prefix", "reference", "max_len"),
}


@st.composite
def CALL(draw) -> dict[str, Any]:
    """A call: mostly a known mode, its own option names and plausible text, each part hostile some of the time."""

    def mostly(good: st.SearchStrategy, hostile: st.SearchStrategy, percent_good: int = 80) -> Any:
        return draw(good if draw(st.integers(0, 99)) < percent_good else hostile)

    mode = mostly(st.sampled_from(MODES), TEXT, 90)
    names = MODE_NAMES.get(mode, OPTION_NAMES) if isinstance(mode, str) else OPTION_NAMES
    options = {}
    for name in draw(st.lists(st.sampled_from(names), max_size=len(names), unique=True)):
        options[name] = mostly(PLAUSIBLE[name], VALUE, 75)
    if draw(st.integers(0, 9)) == 0:  # a name no mode takes
        options[draw(st.text(max_size=8))] = draw(VALUE)
    if mode == "teacher_forced" and "reference" not in options and draw(st.booleans()):
        options["reference"] = draw(PLAUSIBLE["reference"])
    if mode == "forced_prefix" and "prefix" not in options and draw(st.booleans()):
        options["prefix"] = draw(PLAUSIBLE["prefix"])
    text = mostly(st.text(alphabet="abcdefghij ", min_size=1, max_size=20), TEXT, 70)
    return {"model": draw(st.sampled_from([0, 1])), "mode": mode, "text": text, "options": options}


def one_sentence(message: str) -> bool:
    return (
        bool(message)
        and "\n" not in message
        and "Traceback" not in message
        and message[:1].isupper()
        and message.endswith((".", ".)", "?"))
        and len(message) <= 400
    )


def call(models: list, case: dict[str, Any]) -> str:
    """One fuzzed call; returns its outcome ("trace" or "refused") or raises AssertionError saying what failed."""
    import seq2seq_viz
    from seq2seq_viz.limits import LIMITS

    model = models[case["model"]]
    try:
        trace = seq2seq_viz.decode(model, case["text"], case["mode"], **case["options"])
    except seq2seq_viz.InputError as error:
        assert one_sentence(str(error)), f"not one sentence: {str(error)[:300]!r}"
        return "refused"
    text = trace.to_json()
    json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(AssertionError(f"{name} in the JSON")))
    text.encode("utf-8")  # a lone surrogate would raise here
    assert len(trace.steps) <= LIMITS.output_steps
    return "trace"


def _shown(case: dict) -> str:
    try:
        return repr(case)[:300]
    except ValueError:  # an int of more than 4,300 digits
        return "a call with an integer of thousands of digits"


def run(examples: int, seed: int = 0) -> dict:
    models = tiny_models()
    outcomes: Counter = Counter()
    failures: list[dict] = []

    @settings(
        max_examples=examples, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(CALL())
    def property_(case):
        try:
            outcomes[call(models, case)] += 1
        except Exception as error:  # counted, then the run goes on
            outcomes["failed"] += 1
            if len(failures) < 20:
                failures.append({"case": _shown(case), "error": f"{type(error).__name__}: {str(error)[:200]}"})

    started = time.perf_counter()
    property_()
    return {
        "calls": sum(outcomes.values()),
        "traces": outcomes["trace"],
        "refused_with_one_sentence": outcomes["refused"],
        "failures": outcomes["failed"],
        "failure_examples": failures,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=6000)
    args = parser.parse_args()
    print(json.dumps(run(args.examples), indent=1))


if __name__ == "__main__":
    main()
