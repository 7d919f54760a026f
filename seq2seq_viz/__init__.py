"""seq2seq_viz: an instrumented RNN encoder-decoder whose every decode is recorded as a Trace.

The public names load their module on first use (PEP 562), so the torch-free modules (config, trace, errors,
limits, serve, ...) import without torch: `python -m seq2seq_viz serve` and the UI pay for torch only where
a model runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {  # public name -> the submodule that defines it
    **dict.fromkeys(("ATTENTIONS", "CELLS", "ModelConfig", "TrainConfig"), "config"),
    **dict.fromkeys(("beam_search", "decode", "forced_prefix", "greedy", "sample", "teacher_forced"), "decoding"),
    **dict.fromkeys(
        ("CheckpointError", "ConfigError", "DataError", "InputError", "Seq2SeqVizError", "UnknownModelError"),
        "errors",
    ),
    **dict.fromkeys(("examples_for", "list_models", "load_model", "model_info", "pretrained_dir"), "registry"),
    **dict.fromkeys(("SCHEMA", "Beam", "BeamNode", "Hypothesis", "Step", "Trace"), "trace"),
}

if TYPE_CHECKING:  # what linters and editors see; at run time __getattr__ loads each on demand
    from .config import ATTENTIONS, CELLS, ModelConfig, TrainConfig
    from .decoding import beam_search, decode, forced_prefix, greedy, sample, teacher_forced
    from .errors import CheckpointError, ConfigError, DataError, InputError, Seq2SeqVizError, UnknownModelError
    from .registry import examples_for, list_models, load_model, model_info, pretrained_dir
    from .trace import SCHEMA, Beam, BeamNode, Hypothesis, Step, Trace


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'seq2seq_viz' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


def set_threads(n: int = 1) -> None:
    """Limit torch's CPU threads (the app server and tests share two cores with a browser)."""
    import torch

    torch.set_num_threads(n)


__all__ = [  # every name of _EXPORTS, and set_threads (a test holds the two together)
    "ATTENTIONS",
    "CELLS",
    "SCHEMA",
    "Beam",
    "BeamNode",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "Hypothesis",
    "InputError",
    "ModelConfig",
    "Seq2SeqVizError",
    "Step",
    "Trace",
    "TrainConfig",
    "UnknownModelError",
    "beam_search",
    "decode",
    "examples_for",
    "forced_prefix",
    "greedy",
    "list_models",
    "load_model",
    "model_info",
    "pretrained_dir",
    "sample",
    "set_threads",
    "teacher_forced",
]
