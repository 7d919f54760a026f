"""seq2seq_viz: an instrumented RNN encoder-decoder whose every decode is recorded as a Trace."""

from .config import ATTENTIONS, CELLS, ModelConfig, TrainConfig
from .decoding import beam_search, decode, forced_prefix, greedy, sample, teacher_forced
from .errors import CheckpointError, ConfigError, DataError, InputError, Seq2SeqVizError, UnknownModelError
from .registry import examples_for, list_models, load_model, model_info, pretrained_dir
from .trace import SCHEMA, Step, Trace

__version__ = "0.1.0"


def set_threads(n: int = 1) -> None:
    """Limit torch's CPU threads (the app server and tests share two cores with a browser)."""
    import torch

    torch.set_num_threads(n)


__all__ = [
    "ATTENTIONS",
    "CELLS",
    "SCHEMA",
    "CheckpointError",
    "ConfigError",
    "DataError",
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
