"""Typed exceptions: every failure a person can cause or meet, each with one clear sentence."""


class Seq2SeqVizError(Exception):
    """Base class. str(error) is a complete sentence meant for a person, never a traceback."""


class InputError(Seq2SeqVizError, ValueError):
    """The text, reference or prefix a user gave cannot be decoded (empty, too long, unknown forced token)."""


class UnknownModelError(Seq2SeqVizError, LookupError):
    """A model name or path that matches nothing shipped or on disk."""


class CheckpointError(Seq2SeqVizError):
    """A checkpoint that is damaged, tampered with, of another format, or inconsistent with its config."""


class ConfigError(Seq2SeqVizError, ValueError):
    """A configuration value outside its allowed choices or range."""


class DataError(Seq2SeqVizError):
    """A training data file that is missing or malformed."""
