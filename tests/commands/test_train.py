"""`fusion train` / `fusion ablate` with --set augment.KEY=VALUE, in-process with the fake plugins."""

from __future__ import annotations

import json

from fusion.augment import AugmentConfig
from fusion.experiment import ExperimentConfig
from tests.reliability.entry_points import FAKES, invoke


def test_set_augment_copies_trains_with_copies_and_is_recorded(fake_plugins, synthetic_corpus, tmp_path):
    out = tmp_path / "model"
    result = invoke("train", "--dataset", "synthetic", "--data-dir", synthetic_corpus, *FAKES, "--mode", "audio",
                    "--set", "augment.copies=1", "--set", "augment.speeds=[0.95]", "--out", out)
    assert result.exit_code == 0, result.output
    cfg = ExperimentConfig.from_toml(out)
    assert cfg.augment == AugmentConfig(copies=1, speeds=(0.95,))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_augmented"] == metrics["n_train"] > 0
    assert "augmented copies (1 per training clip" in result.output


def test_set_augment_text_copies_trains_a_text_model_with_noisy_copies(fake_plugins, synthetic_corpus, tmp_path):
    out = tmp_path / "model"
    result = invoke("train", "--dataset", "synthetic", "--data-dir", synthetic_corpus, *FAKES, "--mode", "text",
                    "--epochs", "1", "--set", "augment.text_copies=1", "--set", "augment.text_wer=0.4",
                    "--out", out)
    assert result.exit_code == 0, result.output
    assert ExperimentConfig.from_toml(out).augment == AugmentConfig(text_copies=1, text_wer=0.4)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_augmented"] == metrics["n_train"] > 0 and 0 < metrics["text_copies_wer"] < 1
    assert "noisy-text copies (1 per training clip" in result.output
    bad = invoke("train", "--dataset", "synthetic", "--data-dir", synthetic_corpus, *FAKES, "--mode", "text",
                 "--set", "augment.text_wer=1.2", "--out", tmp_path / "bad")
    assert bad.exit_code == 1 and "error: augment: text_wer must be in [0, 1), got 1.2" in bad.output
    assert "Traceback" not in bad.output


def test_bad_augment_values_are_one_error_line(fake_plugins, synthetic_corpus, tmp_path):
    for item, message in (("augment.noise_prob=2", "error: augment: noise_prob must be in [0, 1], got 2"),
                          ("augment.copies=-1", "error: augment: copies must be an integer >= 0, got -1"),
                          ("augment.speeds=[0]", "error: augment: speeds must be a non-empty list of factors > 0")):
        result = invoke("ablate", "--dataset", "synthetic", "--data-dir", synthetic_corpus, *FAKES,
                        "--set", item, "--out", tmp_path / "run")
        assert result.exit_code == 1 and "Traceback" not in result.output
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and errors[0].startswith(message), result.output
    assert not (tmp_path / "run").exists()  # rejected before anything ran


def test_split_seed_option_is_recorded_in_the_model_config(fake_plugins, synthetic_corpus, tmp_path):
    out = tmp_path / "model"
    result = invoke("train", "--dataset", "synthetic", "--data-dir", synthetic_corpus, *FAKES, "--mode", "audio",
                    "--epochs", "1", "--seed", "3", "--split-seed", "0", "--out", out)
    assert result.exit_code == 0, result.output
    cfg = ExperimentConfig.from_toml(out)
    assert (cfg.train.seed, cfg.split_seed) == (3, 0)
    # unset, it is not written: model directories of before keep their config.toml
    out2 = tmp_path / "model2"
    assert invoke("train", "--dataset", "synthetic", "--data-dir", synthetic_corpus, *FAKES, "--mode", "audio",
                  "--epochs", "1", "--out", out2).exit_code == 0
    import tomllib

    assert "split_seed" not in tomllib.loads((out2 / "config.toml").read_text())


def test_noise_dir_augmentation_trains_and_a_bad_folder_is_one_error_line(fake_plugins, synthetic_corpus, tmp_path):
    import numpy as np
    import soundfile as sf

    noise = tmp_path / "noise"
    noise.mkdir()
    sf.write(noise / "room.wav", np.random.default_rng(0).standard_normal(4000).astype(np.float32) * 0.1, 16000)
    out = tmp_path / "model"
    result = invoke("train", "--dataset", "synthetic", "--data-dir", synthetic_corpus, *FAKES, "--mode", "audio",
                    "--epochs", "1", "--set", "augment.copies=1", "--set", f"augment.noise_dir={noise}", "--out", out)
    assert result.exit_code == 0, result.output
    assert ExperimentConfig.from_toml(out).augment.noise_dir == str(noise)
    assert json.loads((out / "metrics.json").read_text())["n_augmented"] > 0
    result = invoke("ablate", "--dataset", "synthetic", "--data-dir", synthetic_corpus, *FAKES, "--modes", "audio",
                    "--set", "augment.copies=1", "--set", f"augment.noise_dir={tmp_path / 'nowhere'}",
                    "--out", tmp_path / "run")
    assert result.exit_code == 1 and "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "noise_dir" in errors[0] and "is not a folder" in errors[0], result.output
