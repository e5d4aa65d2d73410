"""The linear-probe baseline: pooling, validation choice of C, its row beside the trained models."""

import numpy as np
import pytest
import torch

from fusion.data import Utterance
from fusion.errors import ConfigError
from fusion.experiment import ExperimentConfig, Inputs
from fusion.runners import RunRecord, probe_and_score, run_ablation
from fusion.runners.probe import C_GRID, chosen_c, pooled_features
from fusion.training.trainer import TrainConfig


def _inputs(n_per_class=30, dim=6, shape=None, seed=0, sep=3.0):
    """Two classes whose time-averaged features differ along dimension 0 (plus noise)."""
    rng = np.random.default_rng(seed)
    utts, audio = [], {}
    for k in range(2 * n_per_class):
        label = "a" if k % 2 == 0 else "b"
        uid = f"u{k}"
        utts.append(Utterance(id=uid, audio=None, label=label, speaker=f"s{k % 6}"))
        frames = rng.normal(size=(5, *(shape or ()), dim))
        frames[..., 0] += sep if label == "b" else -sep
        audio[uid] = torch.tensor(frames, dtype=torch.float16)
    return Inputs(utts, ("a", "b"), audio=audio)


def test_pooling_averages_time_then_the_middle_axes():
    inputs = _inputs(n_per_class=1, shape=(3,))  # [T, L, D]
    x = pooled_features(inputs, [0, 1], "audio")
    expect = inputs.audio["u0"].float().mean(dim=(0, 1)).numpy()
    assert x.shape == (2, 6) and np.allclose(x[0], expect, atol=1e-6)


def test_probe_learns_a_separable_corpus_and_chooses_c_on_validation():
    inputs = _inputs()
    idx = list(range(60))
    record = probe_and_score(inputs, idx[:40], idx[40:50], idx[50:], seed=0, fold=2, test_groups=["s1"])
    assert isinstance(record, RunRecord) and record.mode == "probe" and record.fold == 2
    assert record.metrics["ua"] == 1.0 and len(record.probs) == 10
    assert np.allclose(np.sum(record.probs, axis=1), 1.0, atol=1e-5)
    assert [row["C"] for row in record.curve] == list(C_GRID)
    assert chosen_c(record) in C_GRID and record.best_val_ua == max(row["val_ua"] for row in record.curve)


def test_probe_of_noise_is_near_chance():
    inputs = _inputs(sep=0.0, n_per_class=60)
    idx = list(range(120))
    record = probe_and_score(inputs, idx[:80], idx[80:100], idx[100:])
    assert record.metrics["ua"] < 0.8  # no signal: a probe that scores high here would be leaking labels


def test_probe_needs_real_valued_features_and_a_known_mode():
    inputs = _inputs(n_per_class=2)
    inputs.text = {u.id: torch.tensor([1, 2, 3]) for u in inputs.utterances}
    with pytest.raises(ConfigError, match="text features are not real-valued"):
        probe_and_score(inputs, [0, 1], [2], [3], mode="text-probe")
    with pytest.raises(ConfigError, match="valid choices: probe, text-probe"):
        probe_and_score(inputs, [0, 1], [2], [3], mode="audio")


def test_unknown_mode_lists_the_probe_modes():
    with pytest.raises(ConfigError, match="valid choices: audio, text, fused, probe, text-probe"):
        ExperimentConfig(dataset="demo", modes=("audio", "prob"))


def test_ablation_reports_the_probe_beside_the_trained_model(fake_plugins, synthetic_corpus, tmp_path):
    cfg = ExperimentConfig(dataset="synthetic", data_dir=str(synthetic_corpus), acoustic_encoder="fake-frames",
                           modes=("audio", "probe"), folds=3,
                           train=TrainConfig(epochs=4, batch_size=16, lr=3e-3, patience=3))
    logs = []
    res = run_ablation(cfg, tmp_path / "run", log=logs.append)
    assert set(res["modes"]) == {"audio", "probe"} and res["modes"]["probe"]["n"] == 96
    assert "audio_vs_probe" in res["comparisons"]
    assert len(res["modes"]["probe"]["ua"]["per_fold"]) == 3
    assert sum("[probe seed 0 fold" in line and "C=" in line for line in logs) == 3
    assert "transcriber" not in res["components"] and "acoustic_encoder" in res["components"]
    report = (tmp_path / "run" / "report.md").read_text()
    assert "| probe |" in report or "linear probe" in report
