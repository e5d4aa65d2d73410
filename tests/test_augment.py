"""fusion.augment: the `augment` section (validation, round-trip through ExperimentConfig) and copy_rng."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.augment import AugmentConfig, WaveformAugmentConfig, augment_waveform, copy_rng
from fusion.errors import ConfigError
from fusion.experiment import ExperimentConfig


def test_augmentation_is_off_by_default_with_the_benchmarked_perturbation():
    cfg = AugmentConfig()
    assert cfg.copies == 0 and cfg.seed == 0
    # the perturbation bench/accuracy/noise_robustness.py measured (its aug_cfg)
    assert cfg.waveform == WaveformAugmentConfig(noise_prob=1.0, snr_db=(0.0, 20.0), speed_prob=0.5, speeds=(0.9, 1.1))
    assert ExperimentConfig(dataset="x").augment == cfg


@pytest.mark.parametrize("options, message", [
    ({"copies": -1}, r"augment: copies must be an integer >= 0, got -1"),
    ({"copies": "2"}, r"augment: copies must be an integer >= 0, got '2'"),
    ({"copies": 1.5}, r"augment: copies must be an integer >= 0"),
    ({"copies": True}, r"augment: copies must be an integer >= 0"),
    ({"seed": -3}, r"augment: seed must be an integer >= 0"),
    ({"noise_prob": 1.5}, r"augment: noise_prob must be in \[0, 1\], got 1.5"),
    ({"noise_prob": -0.1}, r"augment: noise_prob must be in \[0, 1\]"),
    ({"speed_prob": 2}, r"augment: speed_prob must be in \[0, 1\], got 2"),
    ({"speed_prob": "half"}, r"augment: speed_prob must be in \[0, 1\]"),
    ({"snr_db": [20, 0]}, r"augment: snr_db must be \(low, high\) with low <= high"),
    ({"snr_db": [5]}, r"augment: snr_db must be \(low, high\)"),
    ({"snr_db": 10}, r"augment: snr_db must be \(low, high\)"),
    ({"speeds": []}, r"augment: speeds must be a non-empty list of factors > 0"),
    ({"speeds": [0.9, 0]}, r"augment: speeds must be a non-empty list of factors > 0"),
    ({"speeds": [-1.1]}, r"augment: speeds must be a non-empty list of factors > 0"),
    ({"copy": 1}, r"augment: unknown option\(s\) \['copy'\]; valid options: \['copies', "),
])
def test_bad_options_are_config_errors_naming_the_option_and_range(options, message):
    with pytest.raises(ConfigError, match=message):
        AugmentConfig.from_dict(options)
    with pytest.raises(ConfigError, match=message):  # as a config file / --set would pass them
        ExperimentConfig.from_dict({"dataset": "x", "augment": options})


def test_lists_and_ints_are_stored_as_float_tuples():
    cfg = AugmentConfig(copies=1, snr_db=[5, 15], speeds=[1], noise_prob=1)
    assert cfg.snr_db == (5.0, 15.0) and cfg.speeds == (1.0,) and isinstance(cfg.noise_prob, float)
    assert all(isinstance(x, float) for x in (*cfg.snr_db, *cfg.speeds))
    assert cfg == AugmentConfig(copies=1, snr_db=(5.0, 15.0), speeds=(1.0,))


def test_experiment_config_round_trips_the_augment_section(tmp_path):
    default = ExperimentConfig(dataset="x")
    assert "augment" not in default.to_dict()  # off and untouched: configs of before stay byte-identical
    assert "[augment]" not in default.to_toml()
    assert ExperimentConfig.from_dict(default.to_dict()) == default
    for aug in (AugmentConfig(copies=2, seed=7, snr_db=(5.0, 15.0), speeds=(0.8, 1.0, 1.2), speed_prob=1.0),
                AugmentConfig(copies=0, noise_prob=0.25)):  # off but changed: still recorded
        cfg = ExperimentConfig(dataset="x", augment=aug)
        d = cfg.to_dict()
        assert d["augment"]["copies"] == aug.copies and d["augment"]["speeds"] == list(aug.speeds)
        assert ExperimentConfig.from_dict(d) == cfg
        (tmp_path / "config.toml").write_text(cfg.to_toml())
        assert ExperimentConfig.from_toml(tmp_path) == cfg


def test_copy_rng_is_a_function_of_seed_clip_and_copy():
    def draws(*args):
        return copy_rng(*args).random(4).tolist()

    assert draws(0, "spk1_happy_0", 1) == draws(0, "spk1_happy_0", 1)
    variants = [draws(0, "spk1_happy_0", 1), draws(1, "spk1_happy_0", 1), draws(0, "spk1_happy_1", 1),
                draws(0, "spk1_happy_0", 0)]
    assert len({tuple(v) for v in variants}) == 4


def test_copies_of_one_clip_differ_and_repeat():
    wav = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    cfg = AugmentConfig(copies=2).waveform
    a0 = augment_waveform(wav, 16000, copy_rng(0, "clip", 0), cfg)
    a1 = augment_waveform(wav, 16000, copy_rng(0, "clip", 1), cfg)
    assert np.array_equal(a0, augment_waveform(wav, 16000, copy_rng(0, "clip", 0), cfg))
    assert not np.array_equal(a0, wav) and not np.array_equal(a0, a1)  # noise on every copy (noise_prob 1)


def test_the_acoustic_plugin_reexports_the_one_definition():
    fusion_acoustic_augment = pytest.importorskip("fusion_acoustic.augment")
    assert fusion_acoustic_augment.augment_waveform is augment_waveform
    assert fusion_acoustic_augment.WaveformAugmentConfig is WaveformAugmentConfig
