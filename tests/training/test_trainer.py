import math
import warnings

import pytest
import torch

from fusion.errors import TrainingError
from fusion.model import EmotionModel, ModelConfig
from fusion.training.trainer import TrainConfig, class_weights, predict_proba, seed_everything, train


def _items(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    items = []
    for i in range(n):
        label = i % 2
        T = 5 + i % 7
        audio = torch.randn(T, 8, generator=g) * 0.1 + (1.0 if label else -1.0)
        items.append({"audio": audio, "text": None, "label": label})
    return items


def _model():
    return EmotionModel(ModelConfig(mode="audio", labels=("neg", "pos"), acoustic_encoder="fake-frames",
                                    head="unimodal"))


def test_class_weights_balance_the_loss():
    w = class_weights([0, 0, 0, 1], 3)
    assert w[2] == 0 and w[1] > w[0]
    assert w[:2].mean() == pytest.approx(1.0)


def test_train_learns_and_keeps_best_epoch(fake_plugins):
    seed_everything(0)
    model = _model()
    result = train(model, _items(64), _items(32, seed=1), TrainConfig(epochs=15, batch_size=16, lr=3e-3))
    assert result.best_val_ua > 0.9
    assert 1 <= result.best_epoch <= 15 and len(result.curve) >= result.best_epoch
    assert result.curve[-1]["train_loss"] < result.curve[0]["train_loss"]
    probs = predict_proba(model, _items(8, seed=2))
    assert probs.shape == (8, 2) and abs(probs.sum(1) - 1).max() < 1e-5


def test_same_seed_same_numbers(fake_plugins):
    runs = []
    for _ in range(2):
        seed_everything(3)
        model = _model()
        r = train(model, _items(48), _items(16, seed=1), TrainConfig(epochs=3, batch_size=8, seed=3))
        runs.append((r.curve, predict_proba(model, _items(8, seed=2)).tolist()))
    assert runs[0] == runs[1]


def test_nonfinite_loss_stops_with_clear_error(fake_plugins):
    items = _items(16)
    for it in items:
        it["audio"] = torch.full_like(it["audio"], math.nan)
    with pytest.raises(TrainingError, match="non-finite"), warnings.catch_warnings():
        warnings.simplefilter("error")  # skipped steps before the first optimizer step: no torch warning
        train(_model(), items, [], TrainConfig(epochs=2, batch_size=4, max_nonfinite=2))


def test_empty_training_split_is_an_error(fake_plugins):
    with pytest.raises(TrainingError, match="empty"):
        train(_model(), [], [], TrainConfig(epochs=1))


@pytest.mark.parametrize("epochs,batch", [(1, 64), (2, 16), (3, 8)])
def test_few_steps_train_without_scheduler_errors(fake_plugins, epochs, batch):
    r = train(_model(), _items(32), _items(8, seed=1), TrainConfig(epochs=epochs, batch_size=batch))
    assert len(r.curve) == epochs and all(math.isfinite(c["train_loss"]) for c in r.curve)


def test_refit_retrains_on_train_and_validation_for_the_selected_epochs(fake_plugins, monkeypatch):
    from fusion.training import trainer

    epoch_sizes = []
    real_batches = trainer._batches
    monkeypatch.setattr(trainer, "_batches", lambda n, *a, **k: epoch_sizes.append(n) or real_batches(n, *a, **k))
    cfg = TrainConfig(epochs=8, batch_size=16, lr=3e-3, patience=3)
    seed_everything(0)
    plain = _model()
    plain_result = train(plain, _items(64), _items(24, seed=1), cfg)
    plain_sizes, epoch_sizes[:] = list(epoch_sizes), []
    seed_everything(0)
    refit = _model()
    result = train(refit, _items(64), _items(24, seed=1), TrainConfig(**{**cfg.to_dict(), "refit": True}))
    # the selection run is the plain run; then best_epoch epochs over the 88 train + validation items
    assert result.best_epoch == plain_result.best_epoch and result.best_val_ua == plain_result.best_val_ua
    assert epoch_sizes == plain_sizes + [88] * result.best_epoch
    assert len(result.refit_curve) == result.best_epoch and "val_ua" not in result.refit_curve[0]
    assert result.selection_val["ua"] == pytest.approx(result.best_val_ua)
    assert not refit.training
    changed = [k for k, v in refit.state_dict().items() if not torch.equal(v, plain.state_dict()[k])]
    assert changed, "the refit model kept the selection run's weights"
    assert plain_result.refit_curve == [] and plain_result.selection_val is None


def test_refit_without_validation_is_a_plain_run(fake_plugins):
    seed_everything(1)
    model = _model()
    result = train(model, _items(32), [], TrainConfig(epochs=3, batch_size=16, refit=True))
    assert len(result.curve) == 3 and result.refit_curve == [] and result.selection_val is None


def test_refit_is_a_config_option():
    assert TrainConfig.from_dict({"refit": True}).refit is True
    assert TrainConfig().refit is False


def test_refit_keeps_what_the_head_fitted_on_validation(fake_plugins):
    def fused_items(n, seed):
        g = torch.Generator().manual_seed(seed)
        return [{"audio": torch.randn(6, 8, generator=g) + (1.0 if i % 2 else -1.0),
                 "text": torch.randint(1, 64, (4,), generator=g), "label": i % 2} for i in range(n)]

    seed_everything(0)
    model = EmotionModel(ModelConfig(mode="fused", labels=("neg", "pos"), acoustic_encoder="fake-frames",
                                     text_encoder="fake-bag", head="cross-attention"))
    initial = model.head.log_scales.detach().clone()
    train(model, fused_items(48, 0), fused_items(24, 1), TrainConfig(epochs=4, batch_size=16, lr=3e-3, refit=True))
    selected = model.head.log_scales.detach().clone()
    assert not torch.equal(selected, initial), "the scales were not fitted on validation"
    assert not model.head.log_scales.requires_grad


# validation metrics per epoch, scripted so that each selection metric peaks at a different epoch
_SCRIPTED = [dict(ua=0.9, weighted_f1=0.2, macro_f1=0.1), dict(ua=0.5, weighted_f1=0.8, macro_f1=0.2),
             dict(ua=0.4, weighted_f1=0.3, macro_f1=0.7), dict(ua=0.3, weighted_f1=0.1, macro_f1=0.1)]


def _scripted_run(monkeypatch, select: str, patience: int = 4):
    """train() with _evaluate replaced by _SCRIPTED; returns the result, the weights after each epoch
    and the weights kept."""
    from fusion.training import trainer

    snapshots = []

    def scripted(model, items, labels, batch_size, logits=None):
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        return {**_SCRIPTED[len(snapshots) - 1], "wa": 0.5, "loss": 1.0}

    monkeypatch.setattr(trainer, "_evaluate", scripted)
    seed_everything(0)
    model = _model()
    result = train(model, _items(32), _items(8, seed=1),
                   TrainConfig(epochs=4, batch_size=8, lr=3e-3, patience=patience, select=select))
    return result, snapshots, model.state_dict()


@pytest.mark.parametrize("select,epoch", [("ua", 1), ("weighted_f1", 2), ("macro_f1", 3)])
def test_select_picks_the_kept_epoch_by_its_metric(fake_plugins, monkeypatch, select, epoch):
    result, snapshots, kept = _scripted_run(monkeypatch, select)
    assert result.best_epoch == epoch and len(result.curve) == 4
    assert result.best_val_ua == _SCRIPTED[epoch - 1]["ua"]
    assert result.best_val_score == _SCRIPTED[epoch - 1][select]
    assert all(torch.equal(v, snapshots[epoch - 1][k]) for k, v in kept.items())
    assert [row[f"val_{select}"] for row in result.curve] == [s[select] for s in _SCRIPTED]


def test_select_drives_early_stopping(fake_plugins, monkeypatch):
    by_ua, _, _ = _scripted_run(monkeypatch, "ua", patience=1)
    by_macro_f1, _, _ = _scripted_run(monkeypatch, "macro_f1", patience=1)
    assert len(by_ua.curve) == 2       # UA never improves after epoch 1
    assert len(by_macro_f1.curve) == 4  # macro-F1 improves until epoch 3


def test_select_is_a_config_option_reachable_from_the_cli():
    from fusion.commands.train import build_config
    from fusion.experiment import ExperimentConfig

    assert TrainConfig().select is None and TrainConfig().metric == "ua"  # unset: the corpus decides
    cfg = build_config(None, {"dataset": "meld"}, ["train.select=weighted_f1"])
    assert cfg.train.select == "weighted_f1"
    assert ExperimentConfig.from_dict(cfg.to_dict()).train.select == "weighted_f1"
    assert TrainConfig.from_dict(TrainConfig(select="macro_f1").to_dict()).select == "macro_f1"


def test_unknown_select_lists_the_choices():
    from fusion.errors import ConfigError

    with pytest.raises(ConfigError, match="select 'loss'.*ua, weighted_f1, macro_f1"):
        TrainConfig(select="loss")


def test_the_head_loss_comes_from_the_train_config_and_the_training_labels(fake_plugins):
    from fusion.components import LossConfig
    from fusion.training.trainer import training_loss

    labels = [0, 0, 0, 1]
    loss = training_loss(TrainConfig(label_smoothing=0.1), labels, 2)
    assert loss == LossConfig(label_smoothing=0.1, class_weights=class_weights(labels, 2))
    assert training_loss(TrainConfig(balance="none"), labels, 2) == LossConfig()
    assert training_loss(TrainConfig(balance="sampler"), labels, 2).class_weights is None
    model = EmotionModel(ModelConfig(mode="audio", labels=("neg", "pos"), acoustic_encoder="fake-frames"),
                         loss=LossConfig(label_smoothing=0.3))
    items = _items(12)[:7]  # 4 neg, 3 pos
    train(model, items, [], TrainConfig(epochs=1, batch_size=4, label_smoothing=0.05))
    assert model.head.loss_config == training_loss(TrainConfig(label_smoothing=0.05), [it["label"] for it in items], 2)


def _recording_head_plugin(calls: list, declared: bool):
    """A plugin with head "recording": the unimodal head with a held-out stage that records its calls."""
    from typing import ClassVar

    from fusion import hookimpl
    from fusion.components import HeldOutFit
    from fusion.heads import UnimodalHead

    class RecordingHead(UnimodalHead):
        name: ClassVar[str] = "recording"
        fits_held_out: ClassVar[bool] = declared

        def fit_held_out(self, logits, branch_logits, targets):
            calls.append((logits.shape, dict(branch_logits), targets.tolist()))
            return HeldOutFit({"calls": len(calls)})  # no logits: the trainer runs the forward pass

    class Plugin:
        @hookimpl
        def register_fusion_heads(self, register):
            register("recording", RecordingHead)

    return Plugin()


@pytest.mark.parametrize("declared", [True, False])
def test_the_trainer_runs_a_held_out_stage_only_when_the_head_declares_it(fake_plugins, declared):
    from fusion.errors import ConfigError
    from fusion.plugins import register_plugin, unregister_plugin

    calls: list = []
    name = register_plugin(_recording_head_plugin(calls, declared), name="recording-head")
    try:
        config = ModelConfig(mode="audio", labels=("neg", "pos"), acoustic_encoder="fake-frames", head="recording")
        if not declared:  # overriding fit_held_out without declaring it is an error, not a silent no-op
            with pytest.raises(ConfigError, match="fits_held_out = True"):
                EmotionModel(config)
            return
        seed_everything(0)
        result = train(EmotionModel(config), _items(16), _items(6, seed=1), TrainConfig(epochs=2, batch_size=8))
    finally:
        unregister_plugin(name)
    assert len(calls) == len(result.curve) == 2
    shape, branches, targets = calls[0]
    assert shape == (6, 2) and branches == {} and targets == [0, 1, 0, 1, 0, 1]
