"""Branch-wise evaluation of fused models, and the transcript source of `evaluate`."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.errors import ConfigError
from fusion.experiment import ExperimentConfig, prepare_inputs
from fusion.model import EmotionModel
from fusion.runners import evaluate_model_dir, load_corpus, train_model_dir
from fusion.runners.branches import branch_comparison, branch_table
from fusion.training.trainer import predict_with_branches
from fusion.training.trainer import TrainConfig, predict_proba

QUIET = dict(log=lambda msg: None)


def _train(corpus, out, mode="fused", head="late"):
    cfg = ExperimentConfig(dataset="synthetic", data_dir=str(corpus), modes=(mode,), acoustic_encoder="fake-frames",
                           text_encoder="fake-bag", transcriber="gold", head=head,
                           train=TrainConfig(epochs=3, batch_size=8, lr=3e-3))
    train_model_dir(cfg, out, **QUIET)
    return cfg


def test_fused_model_reports_audio_text_and_fused_side_by_side(fake_plugins, synthetic_corpus, tmp_path):
    cfg = _train(synthetic_corpus, tmp_path / "late")
    m = evaluate_model_dir(tmp_path / "late", "synthetic", synthetic_corpus, **QUIET)
    assert set(m["branches"]) == {"audio", "text", "fused"} and m["transcriber"] == "gold"
    assert m["branches"]["fused"]["ua"] == m["ua"] and m["branches"]["fused"]["confusion_counts"] == m["confusion_counts"]
    assert m["branches"]["audio"]["n"] == m["branches"]["text"]["n"] == 96
    assert m["branches"]["audio"]["ua"] != m["branches"]["text"]["ua"]  # two different classifiers
    c = m["fused_vs_best_branch"]
    best = max(("audio", "text"), key=lambda b: m["branches"][b]["ua"])
    assert c["best_branch"] == best and c["diff"] == pytest.approx(m["ua"] - m["branches"][best]["ua"])
    assert c["ci_low"] <= c["diff"] <= c["ci_high"] and c["n_resamples"] == 1000
    lines = branch_table(m)
    assert lines[0].split() == ["branch", "UA", "WA", "macro-F1", "NLL"] and lines[3].startswith("fused")
    assert f"fused - best branch ({best})" in lines[-1] and "95% CI" in lines[-1]
    # the branch pass gives the fused probabilities bit for bit as before
    model = EmotionModel.load(tmp_path / "late")
    inputs = prepare_inputs(cfg, load_corpus(cfg), model.labels)
    items = inputs.items(range(len(inputs.utterances)), "fused")
    probs, branches = predict_with_branches(model, items)
    np.testing.assert_array_equal(probs, predict_proba(model, items))
    assert set(branches) == {"audio", "text"} and branches["audio"].shape == probs.shape


def test_restricted_labels_restrict_the_branches_too(fake_plugins, synthetic_corpus, tmp_path):
    _train(synthetic_corpus, tmp_path / "late")
    m = evaluate_model_dir(tmp_path / "late", "synthetic", synthetic_corpus, labels=("happy", "sad"), **QUIET)
    assert all(len(b["confusion_counts"]) == 2 and b["n"] == 48 for b in m["branches"].values())


def test_a_head_without_branches_says_so(fake_plugins, synthetic_corpus, tmp_path):
    _train(synthetic_corpus, tmp_path / "concat", head="concat")
    logs = []
    m = evaluate_model_dir(tmp_path / "concat", "synthetic", synthetic_corpus, log=logs.append)
    assert "branches" not in m and any("'concat' has no per-modality branches" in line for line in logs)


def test_the_transcriber_option_chooses_the_transcripts(fake_plugins, synthetic_corpus, tmp_path):
    _train(synthetic_corpus, tmp_path / "text", mode="text")
    gold = evaluate_model_dir(tmp_path / "text", "synthetic", synthetic_corpus, **QUIET)
    asr = evaluate_model_dir(tmp_path / "text", "synthetic", synthetic_corpus, transcriber="fake-asr", **QUIET)
    assert gold["transcriber"] == "gold" and asr["transcriber"] == "fake-asr"
    assert asr["ua"] == 0.25 < gold["ua"]  # every fake-asr transcript is "unknown": one class for all
    _train(synthetic_corpus, tmp_path / "audio", mode="audio")
    with pytest.raises(ConfigError, match="audio-only and reads no transcripts"):
        evaluate_model_dir(tmp_path / "audio", "synthetic", synthetic_corpus, transcriber="gold", **QUIET)


def test_branch_comparison_needs_all_three():
    y = [0, 1, 1, 0]
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    out = branch_comparison(y, {"audio": p, "text": p[:, ::-1], "fused": p}, ["a", "b"], n_resamples=50)
    assert out["branches"]["audio"]["ua"] == 0.5 and out["branches"]["text"]["ua"] == 0.5
    assert out["fused_vs_best_branch"]["best_branch"] == "audio" and out["fused_vs_best_branch"]["diff"] == 0
    with pytest.raises(ConfigError, match="missing: text"):
        branch_comparison(y, {"audio": p, "fused": p}, ["a", "b"])
