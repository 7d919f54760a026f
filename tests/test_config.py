import pytest

from seq2seq_viz.config import ATTENTIONS, CELLS, GATES, ModelConfig, TrainConfig, decoder_style
from seq2seq_viz.errors import ConfigError


def test_name_and_default_styles():
    assert ModelConfig(task="eng-fra", cell="lstm", attention="dot").name == "eng-fra-lstm-dot"
    assert ModelConfig(attention="additive").decoder_style == "bahdanau"
    assert ModelConfig(attention="general").decoder_style == "luong"
    assert ModelConfig(attention="none").decoder_style == "none"
    assert ModelConfig(attention="dot", style="bahdanau").decoder_style == "bahdanau"


@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("style", [None, "luong", "bahdanau"])
def test_the_decoder_style_rule_is_one_function_that_the_config_uses(attention, style):
    assert ModelConfig(attention=attention, style=style).decoder_style == decoder_style(attention, style)
    assert decoder_style(attention, style) == (
        "none" if attention == "none" else style or ("bahdanau" if attention == "additive" else "luong")
    )


def test_gate_names_are_the_ones_each_cell_records():
    import torch

    from seq2seq_viz.cells import ExplicitCell

    assert tuple(GATES) == CELLS
    for kind in CELLS:
        cell = ExplicitCell(kind, 3, 4)
        state = (torch.zeros(1, 4), torch.zeros(1, 4)) if kind == "lstm" else torch.zeros(1, 4)
        _, gates = cell(torch.ones(1, 3), state)
        assert tuple(gates) == GATES[kind]  # same names, same order


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
