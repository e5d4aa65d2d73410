"""--labels / --label-map through the runners: exclusions with reasons, and restricted evaluation."""

import json

import numpy as np
import pytest

from fusion.errors import ConfigError, LabelMismatchError
from fusion.experiment import ExperimentConfig
from fusion.runners import evaluate_model_dir, load_corpus, run_ablation, train_model_dir
from fusion.training.trainer import TrainConfig


def _cfg(data_dir, **kw):
    base = dict(dataset="synthetic", data_dir=str(data_dir), acoustic_encoder="fake-frames", modes=("audio",),
                folds=2, train=TrainConfig(epochs=2, batch_size=16, lr=3e-3))
    base.update(kw)
    return ExperimentConfig(**base)


def test_labels_keep_some_classes_and_list_the_others(fake_plugins, synthetic_corpus):
    corpus = load_corpus(_cfg(synthetic_corpus, labels=("happy", "sad")))
    assert {u.label for u in corpus} == {"happy", "sad"} and len(corpus) == 48
    reasons = dict(corpus.skipped)
    assert len(reasons) == 48 and all("not in the kept labels (happy, sad)" in r for r in reasons.values())


def test_label_map_renames_before_keeping(fake_plugins, synthetic_corpus):
    corpus = load_corpus(_cfg(synthetic_corpus, labels=("happy", "neutral"), label_map={"sad": "neutral"}))
    assert {u.label for u in corpus} == {"happy", "neutral"} and len(corpus) == 72
    assert {u.extra.get("source_label") for u in corpus if u.label == "neutral"} == {None, "sad"}


def test_unknown_label_names_the_valid_choices():
    with pytest.raises(ConfigError, match="unknown label.*valid choices: neutral"):
        ExperimentConfig(dataset="synthetic", labels=("neutral", "joyful"))


def test_config_round_trips_and_stays_unchanged_without_labels(tmp_path):
    plain = ExperimentConfig(dataset="demo")
    assert "labels" not in plain.to_dict() and "label_map" not in plain.to_dict()
    cfg = ExperimentConfig(dataset="demo", labels=("neutral", "happy"), label_map={"joy": "happy"})
    assert ExperimentConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_ablation_reports_what_the_label_policy_left_out(fake_plugins, synthetic_corpus, tmp_path):
    res = run_ablation(_cfg(synthetic_corpus, labels=("angry", "happy", "sad")), tmp_path / "run", log=lambda s: None)
    assert res["labels"] == ["angry", "happy", "sad"] and res["modes"]["audio"]["n"] == 72
    assert len(res["excluded"]) == 24 and all("'neutral'" in r for r in res["excluded"].values())


def test_evaluate_restricts_a_model_to_the_corpus_labels(fake_plugins, synthetic_corpus, tmp_path):
    train_model_dir(_cfg(synthetic_corpus), tmp_path / "model", log=lambda s: None)
    full = evaluate_model_dir(tmp_path / "model", "synthetic", synthetic_corpus, log=lambda s: None)
    assert "restricted_to" not in full and full["n"] == 96
    logs = []
    sub = evaluate_model_dir(tmp_path / "model", "synthetic", synthetic_corpus, labels=("happy", "sad"),
                             log=logs.append)
    assert sub["restricted_to"] == ["happy", "sad"] and sub["n"] == 48 and sub["labels"] == ["happy", "sad"]
    assert any("restricted to 2 of the model's 4 labels" in line for line in logs)
    assert len(sub["excluded"]) == 48
    # restricted decisions are never worse on those classes than the unrestricted argmax
    counts = np.asarray(full["confusion_counts"])
    happy, sad = full["labels"].index("happy"), full["labels"].index("sad")
    assert sub["confusion_counts"][0][0] >= counts[happy][happy] and sub["confusion_counts"][1][1] >= counts[sad][sad]


def test_evaluate_names_labels_the_model_lacks(fake_plugins, synthetic_corpus, tmp_path):
    train_model_dir(_cfg(synthetic_corpus, labels=("happy", "sad")), tmp_path / "model", log=lambda s: None)
    with pytest.raises(LabelMismatchError, match=r"\['angry', 'neutral'\].*unknown to the model"):
        evaluate_model_dir(tmp_path / "model", "synthetic", synthetic_corpus, log=lambda s: None)
    with pytest.raises(LabelMismatchError, match="unknown to the model"):
        evaluate_model_dir(tmp_path / "model", "synthetic", synthetic_corpus, labels=("happy", "angry"),
                           log=lambda s: None)
