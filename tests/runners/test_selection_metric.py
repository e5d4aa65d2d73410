"""Each corpus' own headline metric selects the model unless train.select says otherwise."""

import pytest

from fusion.errors import ConfigError
from fusion.experiment import ExperimentConfig
from fusion.recipes import dataset_metric
from fusion.training.trainer import TrainConfig


def test_recipes_declare_their_papers_metric():
    assert dataset_metric("meld") == "weighted_f1"
    assert dataset_metric("goemotions") == "macro_f1"
    assert dataset_metric("ravdess") == "ua" and dataset_metric("demo") == "ua"


def test_the_corpus_metric_is_used_unless_told():
    assert ExperimentConfig(dataset="meld").train_config().metric == "weighted_f1"
    told = ExperimentConfig(dataset="meld", train=TrainConfig(select="ua"))
    assert told.train_config().select == "ua"
    assert ExperimentConfig(dataset="ravdess").train_config(seed=7) == TrainConfig(seed=7, select="ua")


def test_unset_select_is_not_written_and_round_trips():
    assert "select" not in TrainConfig().to_dict() and TrainConfig().metric == "ua"
    cfg = ExperimentConfig(dataset="meld", train=TrainConfig(select="macro_f1"))
    assert ExperimentConfig.from_dict(cfg.to_dict()) == cfg
    assert 'select = "macro_f1"' in cfg.to_toml() and "select" not in ExperimentConfig(dataset="meld").to_toml()
    with pytest.raises(ConfigError, match="valid choices: ua, weighted_f1, macro_f1"):
        TrainConfig(select="f1")


def test_ablation_and_model_dir_record_the_metric(fake_plugins, synthetic_corpus, tmp_path):
    from fusion.runners import run_ablation, train_model_dir

    cfg = ExperimentConfig(dataset="synthetic", data_dir=str(synthetic_corpus), acoustic_encoder="fake-frames",
                           modes=("audio",), folds=2, train=TrainConfig(epochs=2, batch_size=16, select="macro_f1"))
    res = run_ablation(cfg, tmp_path / "run", log=lambda s: None)
    assert res["metric"] == "macro_f1"
    assert "val_macro_f1" in res["modes"]["audio"]["curves"][0]["curve"][0]
    assert "**macro-F1**" in (tmp_path / "run" / "report.md").read_text()
    metrics = train_model_dir(cfg.replace(train=TrainConfig(epochs=1, batch_size=16)), tmp_path / "m",
                              log=lambda s: None)
    assert metrics["select"] == "ua"


def test_class_balance_follows_the_metric_unless_told():
    from fusion.training.trainer import class_weights, training_loss

    labels = [0, 0, 0, 1]
    meld, ravdess = ExperimentConfig(dataset="meld").train_config(), ExperimentConfig(dataset="ravdess").train_config()
    assert meld.class_balance == "none" and training_loss(meld, labels, 2).class_weights is None
    assert ravdess.class_balance == "weights"
    assert ExperimentConfig(dataset="goemotions").train_config().class_balance == "weights"  # macro-F1
    assert list(training_loss(ravdess, labels, 2).class_weights) == pytest.approx(class_weights(labels, 2).tolist())
    told = ExperimentConfig(dataset="meld", train=TrainConfig(balance="weights")).train_config()
    assert told.class_balance == "weights" and training_loss(told, labels, 2).class_weights is not None
    assert "balance" not in TrainConfig().to_dict()
    assert ExperimentConfig.from_dict(ExperimentConfig(dataset="meld", train=TrainConfig(balance="sampler")).to_dict()
                                      ).train.balance == "sampler"
    with pytest.raises(ConfigError, match="unknown balance 'even'"):
        TrainConfig(balance="even")
