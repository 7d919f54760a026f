import pytest

from seq2seq_viz.config import ModelConfig, TrainConfig
from seq2seq_viz.errors import ConfigError


def test_name_and_default_styles():
    assert ModelConfig(task="eng-fra", cell="lstm", attention="dot").name == "eng-fra-lstm-dot"
    assert ModelConfig(attention="additive").decoder_style == "bahdanau"
    assert ModelConfig(attention="general").decoder_style == "luong"
    assert ModelConfig(attention="none").decoder_style == "none"
    assert ModelConfig(attention="dot", style="bahdanau").decoder_style == "bahdanau"


@pytest.mark.parametrize(
    "fields",
    [
        {"cell": "transformer"},
        {"attention": "multihead"},
        {"hidden_size": 0},
        {"dropout": 2.0},
        {"bidirectional": True, "hidden_size": 7},
        {"attention": "additive", "input_feeding": True},
        {"task": ""},
    ],
)
def test_invalid_model_configs_raise_one_sentence(fields):
    with pytest.raises(ConfigError) as info:
        ModelConfig(**fields)
    assert str(info.value).endswith(".")


def test_round_trip_and_unknown_fields():
    config = ModelConfig(cell="lstm", layers=2)
    assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError):
        ModelConfig.from_dict({"cells": "gru"})
    with pytest.raises(ConfigError):
        TrainConfig(device="tpu")
