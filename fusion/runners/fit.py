"""Train one model on some utterances, select it on others, score a third set: one run.

:func:`fit_and_score` is the one implementation of seed -> :class:`~fusion.model.EmotionModel` ->
:func:`~fusion.training.trainer.train` -> :func:`~fusion.training.trainer.predict_proba` ->
:func:`~fusion.training.metrics.classification_metrics`; the ablation, ``fusion train``, the
benchmarks and the examples all call it. Its :class:`RunRecord` is what ``runs/*.json`` hold.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..experiment import ExperimentConfig, Inputs
from ..model import EmotionModel
from ..training.device import Runtime, resolve_runtime
from ..training.metrics import classification_metrics
from ..training.trainer import TrainResult, predict_proba, seed_everything, train
from .speakers import speaker_normalized


@dataclass
class RunRecord:
    """One trained model's test predictions and how it was selected (JSON: :meth:`to_dict`)."""

    mode: str
    seed: int
    fold: int | None = None                      # the fold's index in an ablation
    test_groups: list[str] = field(default_factory=list)  # speakers / sessions of the test set
    metrics: dict | None = None                  # test metrics (None without a test set)
    best_epoch: int = 0
    best_val_ua: float = float("nan")
    curve: list[dict] = field(default_factory=list)
    refit_epochs: int = 0
    ids: list[str] = field(default_factory=list)  # test utterance ids, in the order of y_true / probs
    y_true: list[int] = field(default_factory=list)
    probs: list[list[float]] = field(default_factory=list)  # [N, C] test probabilities
    n_augmented: int = 0                         # augmented training copies added to the training set

    def to_dict(self) -> dict:
        d = {"mode": self.mode, "seed": self.seed, "fold": self.fold, "test_groups": list(self.test_groups)}
        if self.n_augmented:
            d["n_augmented"] = self.n_augmented
        d.update(metrics=self.metrics, best_epoch=self.best_epoch, best_val_ua=self.best_val_ua, curve=self.curve,
                 refit_epochs=self.refit_epochs, ids=self.ids, y_true=self.y_true, probs=self.probs)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RunRecord":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class FittedRun:
    """A trained model, its training result and the record of its scores."""

    model: EmotionModel
    result: TrainResult
    record: RunRecord
    val_metrics: dict | None = None  # validation metrics of the kept model (``score_val``)


def score(model: EmotionModel, inputs: Inputs, indices: Sequence[int], mode: str) -> tuple[list[int], np.ndarray, dict]:
    """The model's probabilities [N, C] on ``inputs`` at ``indices``, their labels and metrics."""
    probs = predict_proba(model, inputs.items(indices, mode))  # [N, C]
    labels = inputs.labels
    y = [labels.index(inputs.utterances[n].label) for n in indices]
    return y, probs, classification_metrics(y, probs.argmax(1), labels)


def fit_and_score(cfg: ExperimentConfig, inputs: Inputs, mode: str, train_idx: Sequence[int],
                  val_idx: Sequence[int], test_idx: Sequence[int] = (), *, seed: int | None = None,
                  fold: int | None = None, test_groups: Sequence[str] = (), runtime: Runtime | None = None,
                  score_val: bool = False, log: Callable[[str], None] | None = None,
                  on_epoch: Callable[[dict], None] | None = None) -> FittedRun:
    """Train a ``mode`` model of ``cfg`` on ``train_idx`` (+ their augmented copies), select its epoch on
    ``val_idx``, and score ``test_idx``.

    ``seed`` (default ``cfg.train.seed``) seeds the weights, the shuffling and dropout. ``score_val``:
    also return the validation metrics of the kept model (with ``train.refit``, those measured before
    the refit, since the refit model has seen the validation speakers).
    """
    seed = cfg.train.seed if seed is None else seed
    runtime = runtime or resolve_runtime(cfg.device, cfg.amp)
    seed_everything(seed)
    model = EmotionModel(cfg.model_config(mode, inputs.labels))
    inputs = speaker_normalized(inputs, train_idx, model)  # per-speaker acoustic features (speaker_norm)
    model = model.to(runtime.device)
    train_items = inputs.train_items(train_idx, mode)  # + augmented copies of the training clips
    tcfg = cfg.train_config(seed)  # the seed, and the selection metric resolved (train.select or the corpus')
    result = train(model, train_items, inputs.items(val_idx, mode), tcfg, log=log, amp=runtime.amp, on_epoch=on_epoch)
    record = RunRecord(mode=mode, seed=seed, fold=fold, test_groups=list(test_groups),
                       best_epoch=result.best_epoch, best_val_ua=result.best_val_ua, curve=result.curve,
                       refit_epochs=len(result.refit_curve), n_augmented=len(train_items) - len(train_idx))
    if len(test_idx):
        y, probs, record.metrics = score(model, inputs, test_idx, mode)
        record.ids = [inputs.utterances[n].id for n in test_idx]
        record.y_true, record.probs = y, np.round(probs, 6).tolist()
    val_metrics = None
    if score_val and result.selection_val is not None:
        val_metrics = result.selection_val
    elif score_val and len(val_idx):
        val_metrics = score(model, inputs, val_idx, mode)[2]
    return FittedRun(model, result, record, val_metrics)
