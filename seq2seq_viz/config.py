"""Frozen, validated configurations: what a model is (ModelConfig) and how it is trained (TrainConfig).

Torch-free, so the UI reads the choices from here: cells and their gates, attention scores, decoder styles.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, get_args

from .errors import ConfigError

Cell = Literal["rnn", "gru", "lstm"]
Score = Literal["none", "dot", "general", "concat", "additive"]
Style = Literal["luong", "bahdanau"]
FixedContext = Literal["init", "every_step"]
Level = Literal["word", "char"]
Bridge = Literal["copy", "linear"]

CELLS: tuple[str, ...] = get_args(Cell)
ATTENTIONS: tuple[str, ...] = get_args(Score)

# The names each cell records in a trace's `gates` dicts (seq2seq_viz.cells), in the order of its equations.
# The candidate is tanh, a proposed state rather than a σ gate; the GRU and LSTM both record it.
GATES: dict[str, tuple[str, ...]] = {
    "rnn": (),
    "gru": ("reset", "update", "candidate"),
    "lstm": ("input", "forget", "candidate", "output"),
}
CANDIDATE = "candidate"

# The sentences the app always offers for a task, before the ones its checkpoint carries.
LESSON_EXAMPLES: dict[str, tuple[str, ...]] = {
    "eng-fra": ("I am cold.", "I love learning.", "The weather is nice today."),
}
# And last, a long input: four short sentences, 15 words, where a fixed context falls apart and attention holds
# (the models trained on joined pairs read it sentence by sentence; the ones trained before fall silent early).
LONG_EXAMPLES: dict[str, tuple[str, ...]] = {
    "eng-fra": ("I am cold. The weather is nice today. Where is the station? We are happy.",),
}


def decoder_style(attention: str, style: str | None = None) -> str:
    """The effective decoder style: "none" for the fixed-context baseline, else the chosen style, or by default
    bahdanau for additive attention and luong for the others."""
    if attention == "none":
        return "none"
    return style or ("bahdanau" if attention == "additive" else "luong")


def _check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, choices))}, not {value!r}.")


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}.")


class _Serializable:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"{cls.__name__} has no field(s) {', '.join(sorted(unknown))}.")
        return cls(**data)


@dataclass(frozen=True)
class ModelConfig(_Serializable):
    task: str = "reverse"  # the task this model was built for; first part of its name
    level: Level = "char"  # word or character tokens (source and target)
    lowercase: bool = False  # lowercase text before tokenizing
    cell: Cell = "gru"  # recurrent cell for encoder and decoder
    attention: Score = "general"  # score function; "none" is the fixed-context baseline
    style: Style | None = None  # decoder style; None picks bahdanau for additive, luong otherwise
    input_feeding: bool = False  # Luong: feed ŝ_{t-1} into the decoder input at step t
    fixed_context: FixedContext = "every_step"  # attention none: context only at start (init) or also every step
    embedding_size: int = 32  # E
    hidden_size: int = 64  # H: decoder state size; a bidirectional encoder uses H/2 per direction
    layers: int = 1  # stacked layers in encoder and in decoder
    bidirectional: bool = False  # encoder reads the source both ways
    bridge: Bridge = "copy"  # encoder final state -> decoder initial state: copy or tanh(W h)
    dropout: float = 0.0  # between layers and before the output projection, training only
    max_source_len: int = 60  # longest source accepted, in tokens (core rejects longer input)
    max_output_len: int = 80  # decoding stops here; the trace is marked truncated

    def __post_init__(self) -> None:
        _check_choice("level", self.level, get_args(Level))
        _check_choice("cell", self.cell, CELLS)
        _check_choice("attention", self.attention, ATTENTIONS)
        _check_choice("style", self.style, (*get_args(Style), None))
        _check_choice("fixed_context", self.fixed_context, get_args(FixedContext))
        _check_choice("bridge", self.bridge, get_args(Bridge))
        for name in ("embedding_size", "hidden_size", "layers", "max_source_len", "max_output_len"):
            _check_range(name, getattr(self, name), 1, 1 << 16)
        _check_range("dropout", self.dropout, 0.0, 0.9)
        if self.bidirectional and self.hidden_size % 2:
            raise ConfigError("hidden_size must be even for a bidirectional encoder (H/2 per direction).")
        if not self.task:
            raise ConfigError("task must be a non-empty name.")
        if self.input_feeding and self.decoder_style != "luong":
            raise ConfigError("input_feeding applies to the Luong decoder only.")

    @property
    def decoder_style(self) -> str:
        """The effective decoder style; "none" for the fixed-context baseline."""
        return decoder_style(self.attention, self.style)

    @property
    def name(self) -> str:
        return f"{self.task}-{self.cell}-{self.attention}"


@dataclass(frozen=True)
class TrainConfig(_Serializable):
    epochs: int = 20  # upper bound; early stopping may end sooner
    batch_size: int = 64  # sentence pairs per step
    lr: float = 3e-3  # Adam learning rate
    clip: float = 1.0  # gradient norm clip
    teacher_forcing: float = 1.0  # probability of feeding the gold token at each step (1.0 allows the fast path)
    patience: int = 3  # epochs without validation improvement before stopping
    lr_decay: float = 0.5  # the learning rate is multiplied by this after each epoch without improvement
    seed: int = 0  # seeds weights, shuffling and teacher-forcing coin flips
    device: str = "auto"  # auto (cuda when available), cpu, cuda, cuda:N
    fast: bool = True  # fused nn.RNN/GRU/LSTM where the decoder style allows
    max_steps: int | None = None  # stop after this many optimizer steps (live training in the app)
    min_freq: int = 1  # vocabulary minimum frequency
    max_vocab: int | None = None  # vocabulary size cap (specials included)

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "patience"):
            _check_range(name, getattr(self, name), 1, 1 << 20)
        _check_range("lr", self.lr, 1e-7, 10.0)
        _check_range("teacher_forcing", self.teacher_forcing, 0.0, 1.0)
        _check_range("lr_decay", self.lr_decay, 0.01, 1.0)
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, not {self.device!r}.")
