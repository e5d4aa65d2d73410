"""bench/accuracy/support.py: what keys a cached benchmark model, and the historic defaults."""

from __future__ import annotations

import dataclasses

from bench.accuracy import support
from fusion.experiment import ExperimentConfig
from tests.fakes import FrameEnergyEncoder


def test_resolved_encoders_hold_the_defaults_the_options_leave_out(fake_plugins):
    cfg = ExperimentConfig(dataset="synthetic", modes=("audio",), acoustic_encoder="fake-frames",
                           text_encoder="fake-bag")
    resolved = support.resolved_encoders(cfg)
    assert list(resolved) == ["audio"]  # an audio run reads no text encoder
    assert resolved["audio"] == {"name": "fake-frames", "config": {"dim": FrameEnergyEncoder.Config().dim}}
    both = support.resolved_encoders(cfg.replace(modes=("audio", "text")))
    assert both["text"]["name"] == "fake-bag" and both["text"]["config"]


def test_a_changed_component_default_changes_what_keys_the_model(fake_plugins, monkeypatch):
    cfg = ExperimentConfig(dataset="synthetic", modes=("audio",), acoustic_encoder="fake-frames")
    before, options = support.resolved_encoders(cfg), cfg.to_dict()
    monkeypatch.setattr(FrameEnergyEncoder, "Config", dataclasses.make_dataclass(
        "Config", [("dim", int, dataclasses.field(default=32))], frozen=True))
    assert support.resolved_encoders(cfg) != before
    assert cfg.to_dict() == options  # the options alone would have reused the model of the old default


def test_as_measured_turns_the_whisper_prosody_off_unless_set():
    cfg = ExperimentConfig(dataset="ravdess", modes=("audio",))
    assert support.as_measured(cfg).acoustic_config == {"prosody": False}
    kept = cfg.replace(acoustic_config={"prosody": True, "frame_stride": 2})
    assert support.as_measured(kept).acoustic_config == {"prosody": True, "frame_stride": 2}
    assert support.as_measured(cfg.replace(acoustic_encoder="cnn")).acoustic_config == {}
    assert not support.as_measured(cfg).speaker_norm.enabled
