"""``train(..., on_epoch=)``: called once per epoch with the curve row, also during a refit."""

from __future__ import annotations

import torch

from fusion.progress import EpochBar
from fusion.training.trainer import TrainConfig, predict_proba, seed_everything, train
from tests.test_progress import FakeFactory
from tests.training.test_trainer import _items, _model


def test_on_epoch_gets_every_curve_row_and_changes_no_number(fake_plugins):
    cfg = TrainConfig(epochs=4, batch_size=16, lr=3e-3)
    seed_everything(0)
    plain = _model()
    plain_result = train(plain, _items(48), _items(16, seed=1), cfg)
    rows = []
    seed_everything(0)
    watched = _model()
    result = train(watched, _items(48), _items(16, seed=1), cfg, on_epoch=rows.append)
    assert rows == result.curve and len(rows) == 4 and "val_ua" in rows[0]
    assert result.curve == plain_result.curve
    assert torch.equal(torch.as_tensor(predict_proba(watched, _items(8, seed=2))),
                       torch.as_tensor(predict_proba(plain, _items(8, seed=2))))


def test_on_epoch_sees_the_refit_epochs_and_an_epoch_bar_follows_them(fake_plugins):
    factory = FakeFactory()
    seed_everything(0)
    with EpochBar(factory, epochs=6, desc="train audio") as on_epoch:
        result = train(_model(), _items(48), _items(16, seed=1),
                       TrainConfig(epochs=6, batch_size=16, lr=3e-3, patience=2, refit=True), on_epoch=on_epoch)
    selection, refit = factory.bars
    assert selection.n == len(result.curve) and refit.n == len(result.refit_curve) == result.best_epoch
    assert refit.desc == "train audio (refit)" and selection.closed and refit.closed
