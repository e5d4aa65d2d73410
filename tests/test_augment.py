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
    ({"text_copies": -1}, r"augment: text_copies must be an integer >= 0, got -1"),
    ({"text_copies": 0.5}, r"augment: text_copies must be an integer >= 0"),
    ({"text_wer": 1.0}, r"augment: text_wer must be in \[0, 1\), got 1.0"),
    ({"text_wer": "high"}, r"augment: text_wer must be in \[0, 1\)"),
    ({"text_deletion": 1.5}, r"augment: text_deletion must be a share in \[0, 1\], got 1.5"),
    ({"text_substitution": 0, "text_deletion": 0, "text_insertion": 0},
     r"augment: text_substitution, text_deletion and text_insertion are all 0"),
    ({"text_exclamation": -0.5}, r"augment: text_exclamation must be a probability in \[0, 1\]"),
    ({"text_noise": 0.3}, r"augment: unknown option\(s\) \['text_noise'\]"),
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


def test_text_copies_are_off_by_default_with_the_text_noise_defaults():
    from fusion.text_noise import TextNoiseConfig

    cfg = AugmentConfig()
    assert cfg.text_copies == 0 and cfg.text_noise == TextNoiseConfig()
    assert AugmentConfig(text_wer=0.2, text_comma_drop=1).text_noise == TextNoiseConfig(wer=0.2, comma_drop=1.0)
    assert isinstance(AugmentConfig(text_question=1).text_question, float)


def test_text_options_round_trip_and_are_written_only_when_set(tmp_path):
    from fusion.overrides import apply_sets

    assert not any(k.startswith("text_") for k in AugmentConfig(copies=1).to_dict())  # acoustic configs as before
    d = apply_sets({"dataset": "x"}, ["augment.text_copies=1", "augment.text_wer=0.25"])  # what --set passes
    cfg = ExperimentConfig.from_dict(d)
    assert cfg.augment == AugmentConfig(text_copies=1, text_wer=0.25)
    written = cfg.to_dict()["augment"]
    assert written["text_copies"] == 1 and written["text_wer"] == 0.25 and written["text_exclamation"] == 0.8
    (tmp_path / "config.toml").write_text(cfg.to_toml())
    assert ExperimentConfig.from_toml(tmp_path) == cfg
    changed = ExperimentConfig(dataset="x", augment=AugmentConfig(text_wer=0.1))  # off but changed: recorded
    assert changed.to_dict()["augment"]["text_wer"] == 0.1
    assert ExperimentConfig.from_dict(changed.to_dict()) == changed


def test_copy_rng_streams_are_independent_and_stream_0_is_the_generator_of_before():
    import hashlib

    words = np.frombuffer(hashlib.sha256(b"clip").digest(), dtype="<u4")[:4].tolist()
    before = np.random.default_rng([3, 1, *words]).random(4).tolist()
    assert copy_rng(3, "clip", 1).random(4).tolist() == before == copy_rng(3, "clip", 1, stream=0).random(4).tolist()
    assert copy_rng(3, "clip", 1, stream=1).random(4).tolist() != before


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


# ---------------------------------------------------------------------- noise from a folder (noise_dir)
def _write(path, wav, sr=16000):
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wav, sr)
    return path


def _peak_hz(x: np.ndarray, sr: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[spectrum.argmax()])


def test_noise_dir_adds_an_excerpt_of_a_recording_at_the_snr(tmp_path):
    t = np.arange(16000) / 16000
    _write(tmp_path / "noise" / "hum.flac", 0.3 * np.sin(2 * np.pi * 3000 * t[:12000]).astype(np.float32), 16000)
    clip = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)                    # [16000]
    config = WaveformAugmentConfig(noise_prob=1.0, snr_db=(10.0, 10.0), speed_prob=0.0,
                                   noise_dir=str(tmp_path / "noise"))
    out = augment_waveform(clip, 16000, np.random.default_rng(3), config)
    added = out - clip                                                                 # [16000]
    assert out.shape == clip.shape and _peak_hz(added) == pytest.approx(3000, abs=2)  # the file, not white noise
    snr = 10 * np.log10(np.sum(clip ** 2) / np.sum(added ** 2))
    assert snr == pytest.approx(10.0, abs=0.01)
    np.testing.assert_array_equal(out, augment_waveform(clip, 16000, np.random.default_rng(3), config))
    white = augment_waveform(clip, 16000, np.random.default_rng(3), WaveformAugmentConfig(
        noise_prob=1.0, snr_db=(10.0, 10.0), speed_prob=0.0))
    assert abs(_peak_hz(white - clip) - 3000) > 50


def test_bad_noise_dirs_are_config_errors_naming_them(tmp_path):
    clip = np.ones(1600, dtype=np.float32)

    def noisy(folder):
        config = WaveformAugmentConfig(noise_prob=1.0, speed_prob=0.0, noise_dir=str(folder))
        return augment_waveform(clip, 16000, np.random.default_rng(0), config)

    with pytest.raises(ConfigError, match="noise_dir '.*missing' is not a folder"):
        noisy(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no audio here")
    with pytest.raises(ConfigError, match="holds no audio files"):
        noisy(tmp_path / "empty")
    _write(tmp_path / "silent" / "zeros.wav", np.zeros(800, dtype=np.float32))
    with pytest.raises(ConfigError, match="zeros.wav is silent"):
        noisy(tmp_path / "silent")
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "broken.wav").write_bytes(b"RIFF not really a wave file")
    with pytest.raises(ConfigError, match="broken.wav cannot be used"):
        noisy(tmp_path / "corrupt")
    with pytest.raises(ConfigError, match="noise_dir must be a folder path"):
        WaveformAugmentConfig(noise_dir="")


def test_noise_dir_is_in_the_config_and_its_content_in_the_copy_key(tmp_path):
    from fusion.augment import NoiseBank, perturbation_key

    rng = np.random.default_rng(0)
    _write(tmp_path / "a" / "n1.wav", rng.standard_normal(800).astype(np.float32) * 0.1)
    _write(tmp_path / "b" / "n1.wav", rng.standard_normal(800).astype(np.float32) * 0.1)  # same name, other content
    cfg = ExperimentConfig(dataset="synthetic", augment=AugmentConfig(copies=1, noise_dir=str(tmp_path / "a")))
    (tmp_path / "config.toml").write_text(cfg.to_toml())
    assert ExperimentConfig.from_toml(tmp_path / "config.toml").augment.noise_dir == str(tmp_path / "a")
    assert "noise_dir" not in AugmentConfig(copies=1).to_dict()  # unset: white noise, nothing written
    white = perturbation_key(AugmentConfig(copies=1).waveform)
    assert "noise_files" not in white and "noise_dir" not in white  # keys of white-noise copies are as before
    key_a, key_b = (perturbation_key(AugmentConfig(copies=1, noise_dir=str(tmp_path / d)).waveform) for d in "ab")
    assert key_a["noise_files"] != key_b["noise_files"]
    import shutil

    shutil.copytree(tmp_path / "a", tmp_path / "moved")
    assert NoiseBank(tmp_path / "moved").key() == key_a["noise_files"]  # content, not location, is hashed
