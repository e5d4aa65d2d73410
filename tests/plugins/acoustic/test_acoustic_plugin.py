"""Registration of the acoustic encoders, configs from dicts, config errors and the `fusion plugins` listing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from torch import nn

import fusion
from fusion.errors import ConfigError
from fusion_acoustic.cnn import CNNEncoder
from fusion_acoustic.cnn_lstm import CNNLSTMEncoder
from fusion_acoustic.lstm import LSTMEncoder

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name, alias, cls", [("cnn", None, CNNEncoder), ("cnn-lstm", "crnn", CNNLSTMEncoder),
                                              ("lstm", "bilstm", LSTMEncoder)])
def test_registered_by_name_and_alias(name, alias, cls):
    component = fusion.get_acoustic_encoder(name)
    assert component.plugin == "acoustic" and component.description
    assert isinstance(component.target, str)  # lazy "module:Class"
    assert component.load() is cls and cls.name == name
    if alias:
        assert fusion.get_acoustic_encoder(alias) is component


def test_config_from_dict():
    assert isinstance(fusion.get_acoustic_encoder("cnn-lstm").build({"rnn": "gru"}).rnn.rnn, nn.GRU)
    encoder = fusion.get_acoustic_encoder("cnn-lstm").build({"rnn": "gru", "hidden": 32, "channels": [8, 16]})
    assert isinstance(encoder.rnn.rnn, nn.GRU) and encoder.output_dim == 64
    assert encoder.config.channels == (8, 16) and len(encoder.front_end.blocks) == 2
    assert isinstance(fusion.get_acoustic_encoder("lstm").build().rnn.rnn, nn.LSTM)


def test_unknown_option_lists_valid_options():
    with pytest.raises(ConfigError) as info:
        fusion.get_acoustic_encoder("cnn-lstm").build({"rnn_type": "gru"})
    message = str(info.value)
    assert "cnn-lstm" in message and "rnn_type" in message
    for option in ("rnn", "hidden", "channels", "n_mels", "spec_augment"):
        assert option in message


@pytest.mark.parametrize("name, options, words", [
    ("cnn-lstm", {"rnn": "transformer"}, ("'cnn-lstm'", "rnn", "gru, lstm")),
    ("lstm", {"rnn": "rnn"}, ("'lstm'", "gru, lstm")),
    ("cnn", {"pooling": "max"}, ("'cnn'", "attention, mean")),
    ("cnn", {"kernel_size": 4}, ("'cnn'", "kernel_size", "odd")),
    ("cnn", {"channels": []}, ("'cnn'", "channels")),
    ("cnn", {"dropout": 1.0}, ("'cnn'", "dropout")),
    ("lstm", {"hidden": 0}, ("'lstm'", "hidden")),
    ("cnn", {"time_masks": 4, "time_mask_ratio": 0.5}, ("'cnn'", "time_mask_ratio")),
])
def test_invalid_values_name_the_encoder(name, options, words):
    with pytest.raises(ConfigError) as info:
        fusion.get_acoustic_encoder(name).build(options)
    for word in words:
        assert word in str(info.value)


def test_cli_lists_the_encoders_without_importing_torch():
    fusion_cli = Path(sys.executable).parent / "fusion"
    listing = subprocess.run([str(fusion_cli), "plugins"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("acoustic  (fusion-acoustic"))
    assert lines[header + 1].split() == ["acoustic", "encoder:", "cnn,", "cnn-lstm", "(alias", "crnn),", "lstm",
                                         "(alias", "bilstm)"]
    check = "import sys, fusion.plugins as p; p.registries(); print('torch' in sys.modules)"
    env = {**os.environ, "FUSION_LOAD_PLUGINS": "acoustic"}  # other plugins' imports are theirs
    imported = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60, env=env)
    assert imported.stdout.strip() == "False", imported.stderr
