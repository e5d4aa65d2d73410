"""The training loop: class balance, early stopping on a validation metric (UA by default), clipping, seeds.

Items are dicts ``{"audio": Tensor | None, "text": Tensor | None, "label": int}`` holding
cached ``featurize`` outputs (in memory, on the CPU); the loop only runs the trainable parts,
on the model's device, one batch copied over at a time. Under torchrun (an initialised
process group, see :mod:`fusion.training.distributed`) each rank trains on its shard of every
epoch's permutation inside DistributedDataParallel; one process is the same loop with one shard.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import random
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..components import HeldOutFit, LossConfig
from ..errors import ConfigError, TrainingError
from ..model import EmotionModel, batch_to, collate
from ..registry import check_options
from . import distributed
from .metrics import classification_metrics

BALANCE = ("weights", "sampler", "none")
SELECT = ("ua", "weighted_f1", "macro_f1")  # validation metrics (classification_metrics keys) for selection


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 40              # maximum number of epochs
    batch_size: int = 32          # utterances per step
    lr: float = 1e-3              # AdamW learning rate
    weight_decay: float = 1e-2    # AdamW weight decay
    patience: int = 6             # early stopping: epochs without a better validation `select` score (6: on
                                  # 92 recorded validation curves, 26% fewer epochs than 10, the kept epoch
                                  # unchanged in 79; RAVDESS / demo audio test UA 80.6 / 81.7 vs 80.7 / 80.8)
    balance: str | None = None    # "weights" (class-weighted loss) | "sampler" (balanced batches) | "none";
                                  # None: follows the selection metric (class_balance)
    grad_clip: float = 1.0        # max gradient norm (0 = off)
    label_smoothing: float = 0.0  # cross-entropy label smoothing
    seed: int = 0                 # seeds init, shuffling, dropout and augmentation
    max_nonfinite: int = 3        # consecutive non-finite losses before training stops with an error
    refit: bool = False           # after early stopping, retrain from the initial weights on train + validation
                                  # for the selected number of epochs (validation UA stays the selection's)
    select: str | None = None     # validation metric that picks the kept epoch and drives early stopping
                                  # (None: the corpus' own, see ExperimentConfig.train_config; "ua" here):
                                  # "ua" | "weighted_f1" | "macro_f1"
    max_per_label: int = 0        # > 0: at most this many utterances per corpus, predefined train/dev split and
                                  # label, a draw seeded by `seed` when the corpus is loaded (test split and
                                  # speaker-fold corpora untouched; fusion.runners.corpus.capped); 0: all

    def __post_init__(self):
        if self.balance is not None and self.balance not in BALANCE:
            raise ConfigError(f"train: unknown balance {self.balance!r}; valid choices: {', '.join(BALANCE)}")
        if self.select is not None and self.select not in SELECT:
            raise ConfigError(f"train: unknown select {self.select!r}; valid choices: {', '.join(SELECT)}")
        if isinstance(self.max_per_label, bool) or not isinstance(self.max_per_label, int) or self.max_per_label < 0:
            raise ConfigError(f"train: max_per_label must be an integer >= 0 (0 = keep all), got {self.max_per_label!r}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError("train: epochs and batch_size must be >= 1")

    @property
    def metric(self) -> str:
        """The selection metric in force: ``select``, or UA when unset."""
        return self.select or "ua"

    @property
    def class_balance(self) -> str:
        """The class balance in force: ``balance``, or by the selection metric when unset: a class-weighted
        loss for the metrics that weigh every class alike (UA, macro-F1), none for weighted-F1, which
        weighs classes by their frequency. MELD, the default text model: validation weighted-F1 62.4 vs
        58.0 with class weights (the selection rule's choice); dev 53.6 vs 53.4, at UA 34.9 vs 39.2."""
        return self.balance or ("none" if self.metric == "weighted_f1" else "weights")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for unset in ("select", "balance"):  # unset: the corpus' metric decides (TOML has no null)
            if d[unset] is None:
                del d[unset]
        if not d["max_per_label"]:  # off: not written (configs of before stay identical)
            del d["max_per_label"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        check_options(cls, d, "train")
        return cls(**d)


@dataclass
class TrainResult:
    best_epoch: int                      # 1-based epoch whose weights were kept
    best_val_ua: float                   # validation UA of the kept epoch; NaN when there was no validation split
    curve: list[dict] = field(default_factory=list)  # per epoch: train_loss, val_loss, val_ua/_wa/_<select>
    refit_curve: list[dict] = field(default_factory=list)  # per refit epoch (train + validation): train_loss
    selection_val: dict | None = None    # refit only: validation metrics of the kept epoch, before the refit
    best_val_score: float = float("nan")  # the kept epoch's validation `select` score (TrainConfig.select)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def class_weights(labels: Sequence[int], num_classes: int) -> torch.Tensor:
    """Inverse-frequency weights [C], mean 1 over present classes (absent classes get 0)."""
    counts = torch.bincount(torch.tensor(list(labels), dtype=torch.long), minlength=num_classes).float()
    w = torch.where(counts > 0, counts.sum() / (num_classes * counts.clamp(min=1)), torch.zeros_like(counts))
    return w / w[counts > 0].mean()


def training_loss(cfg: TrainConfig, labels: Sequence[int], num_classes: int) -> LossConfig:
    """The head's loss for training on ``labels``: the config's label smoothing and, with
    class balance ``"weights"`` (:attr:`TrainConfig.class_balance`), inverse-frequency class weights
    (else uniform)."""
    weights = class_weights(labels, num_classes) if cfg.class_balance == "weights" else None
    return LossConfig(label_smoothing=cfg.label_smoothing, class_weights=weights)


def _batches(n: int, cfg: TrainConfig, labels: Sequence[int], gen: torch.Generator,
             rank: int = 0, world_size: int = 1) -> list[list[int]]:
    """This rank's batches of one epoch: the seeded order (same on every rank), then its shard."""
    if cfg.class_balance == "sampler":
        w = class_weights(labels, max(labels) + 1)[torch.tensor(list(labels))]
        order = torch.multinomial(w, n, replacement=True, generator=gen).tolist()
    else:
        order = torch.randperm(n, generator=gen).tolist()
    order = distributed.padded_shard(order, rank, world_size)
    return [order[i:i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]


@torch.no_grad()
def predict_with_branches(model: EmotionModel, items: Sequence[dict], batch_size: int = 64
                          ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Class probabilities [N, C] in item order and each per-modality branch's ``{name: [N, C]}`` (the
    branches the head reports; none for most heads), in eval mode, on the model's device."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out, branches = [], {}
    for i in range(0, len(items), batch_size):
        batch, _ = collate(items[i:i + batch_size])
        result = model.run(batch_to(batch, device))                                   # logits [b, C]
        out.append(torch.softmax(result.logits.float(), dim=-1).cpu().numpy())        # [b, C]
        for name, logits in result.branches.items():
            branches.setdefault(name, []).append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
    model.train(was_training)
    if not out:
        return np.zeros((0, len(model.labels))), {}
    return np.concatenate(out), {name: np.concatenate(parts) for name, parts in branches.items()}


def predict_proba(model: EmotionModel, items: Sequence[dict], batch_size: int = 64) -> np.ndarray:
    """Class probabilities [N, C] in item order (eval mode, on the model's device)."""
    return predict_with_branches(model, items, batch_size)[0]


def _evaluate(model: EmotionModel, items: Sequence[dict], labels: Sequence[str], batch_size: int,
              logits: torch.Tensor | None = None) -> dict:
    """Validation metrics; under torchrun each rank predicts every world_size-th item, then all gather.
    ``logits`` [N, C]: the items' logits already computed (on every rank): no forward pass."""
    if logits is not None:
        probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()  # [N, C]
    else:
        ctx = distributed.current()
        probs = distributed.gather_rows(predict_proba(model, items[ctx.rank::ctx.world_size], batch_size),
                                        len(items))  # [N, C]
    y = [it["label"] for it in items]
    m = classification_metrics(y, probs.argmax(1), labels)
    eps = 1e-9
    m["loss"] = float(-np.mean(np.log(probs[np.arange(len(y)), y] + eps))) if len(y) else float("nan")
    return m


def train(model: EmotionModel, train_items: Sequence[dict], val_items: Sequence[dict], cfg: TrainConfig,
          log: Callable[[str], None] | None = None, amp: torch.dtype | None = None,
          on_epoch: Callable[[dict], None] | None = None) -> TrainResult:
    """Train in place on the model's device; keeps the weights of the epoch with the best validation
    ``cfg.select`` score (UA by default) and stops after ``cfg.patience`` epochs without a better one.

    With ``cfg.refit`` (and a validation split) the model then restarts from its initial weights and
    trains on train + validation for the selected number of epochs, on the same learning-rate schedule
    (the weights kept are those after that epoch; ``best_val_ua`` is still the selection run's; what
    the head's held-out stage fitted on validation is carried over, since no held-out data is left).
    ``amp``: torch.autocast dtype for the training steps (see fusion.training.device; None = float32).
    Each run sets the head's loss from ``cfg`` and its training labels (:func:`training_loss`,
    through ``model.set_loss``), replacing the one the model was built with.
    ``on_epoch``: called with each epoch's curve row (also the refit's), e.g. a fusion.progress.EpochBar.
    """
    if not train_items:
        raise TrainingError("the training split is empty")
    if not any(p.requires_grad for p in model.parameters()):
        raise TrainingError("the model has no trainable parameters")
    initial = copy.deepcopy(model.state_dict()) if cfg.refit and val_items else None
    net = distributed.wrap(model)  # DistributedDataParallel under torchrun (wrapped once, reused by the refit)
    result = _fit(model, net, train_items, val_items, cfg, cfg.epochs, log, amp, on_epoch)
    if initial is not None:
        result.selection_val = _evaluate(model, val_items, list(model.labels), cfg.batch_size * 2)
        fitted = _held_out_fitted(model)  # the head's validation-fitted values: no held-out data is left
        model.load_state_dict(initial)
        if log:
            log(f"  refit on train + validation ({len(train_items) + len(val_items)} utterances) "
                f"for {result.best_epoch} epochs")
        result.refit_curve = _fit(model, net, list(train_items) + list(val_items), (), cfg, result.best_epoch,
                                  log, amp, on_epoch).curve
        with torch.no_grad():
            for name, param in model.head.named_parameters():
                if name in fitted:
                    param.copy_(fitted[name])
    model.eval()
    return result


def _held_out_fitted(model: EmotionModel) -> dict[str, torch.Tensor]:
    """The head's parameters that its held-out stage fits and gradient descent does not train
    (e.g. cross-attention's scales): copies, carried over from the selection run to the refit."""
    if not model.head.fits_held_out:
        return {}
    return {name: p.detach().clone() for name, p in model.head.named_parameters() if not p.requires_grad}


@torch.no_grad()
def fit_head_on_validation(model: EmotionModel, items: Sequence[dict], batch_size: int = 64) -> HeldOutFit | None:
    """``model.head.fit_held_out`` (for a head that declares ``fits_held_out``) on the model's eval-mode
    predictions for ``items`` (every rank predicts all of them, so all ranks fit the same values);
    returns what the head fitted.

    Run after every epoch, before the validation metrics, so that early stopping selects the
    epoch (and keeps the weights) of the model as it is used: with its held-out stage fitted."""
    if not model.head.fits_held_out:
        return None
    model.eval()
    device = next(model.parameters()).device
    logits, branches, targets = [], {}, []
    for i in range(0, len(items), batch_size):
        batch, y = collate(items[i:i + batch_size])
        out = model.run(batch_to(batch, device))
        logits.append(out.logits.float())                          # [b, C]
        targets.append(y.to(device))                               # [b]
        for name, branch in out.branches.items():
            branches.setdefault(name, []).append(branch.float())  # [b, C]
    return model.head.fit_held_out(torch.cat(logits), {k: torch.cat(v) for k, v in branches.items()},
                                   torch.cat(targets))


def _fit(model: EmotionModel, net: torch.nn.Module, train_items: Sequence[dict], val_items: Sequence[dict],
         cfg: TrainConfig, stop_after: int, log: Callable[[str], None] | None,
         amp: torch.dtype | None, on_epoch: Callable[[dict], None] | None = None) -> TrainResult:
    """Up to ``stop_after`` epochs of a ``cfg.epochs``-epoch schedule; with validation items, early
    stopping and the best epoch's weights, else the last epoch's."""
    labels = list(model.labels)
    y_train = [it["label"] for it in train_items]
    model.set_loss(training_loss(cfg, y_train, len(labels)))
    params = [p for p in model.parameters() if p.requires_grad]
    device = params[0].device
    ctx = distributed.current()
    scaler = torch.amp.GradScaler(device.type, enabled=amp == torch.float16)  # fp16 only: bf16 needs no scaling
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(math.ceil(len(train_items) / ctx.world_size) / cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch
    if total_steps >= 10:  # warm-up (>= 2 steps) then cosine decay
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total_steps,
                                                    pct_start=max(0.1, 2.5 / total_steps), anneal_strategy="cos")
    else:  # too few steps for a schedule: constant learning rate
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    gen = torch.Generator().manual_seed(cfg.seed)
    best_state, best_score, best_ua, best_epoch, since_best = None, -1.0, float("nan"), 0, 0
    curve: list[dict] = []
    nonfinite = 0
    for epoch in range(1, stop_after + 1):
        net.train()
        total, seen = 0.0, 0
        for idx in _batches(len(train_items), cfg, y_train, gen, ctx.rank, ctx.world_size):
            batch, targets = collate([train_items[i] for i in idx])
            with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
                _, loss = net(batch_to(batch, device), targets.to(device))
            if not distributed.all_finite(loss):  # every rank skips the step together
                nonfinite += 1
                if nonfinite >= cfg.max_nonfinite:
                    raise TrainingError(f"training stopped: {nonfinite} consecutive non-finite losses at epoch "
                                        f"{epoch} (try a lower --lr, check the inputs for NaN)")
                opt.zero_grad(set_to_none=True)
                with warnings.catch_warnings():  # the schedule keeps counting skipped steps, on purpose
                    warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step\\(\\)` before")
                    sched.step()
                continue
            nonfinite = 0
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.grad_clip > 0:
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            scaler.step(opt)
            scaler.update()
            sched.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
        total, seen = distributed.sum_over_ranks(total, seen)
        row = {"epoch": epoch, "train_loss": total / max(seen, 1)}
        if val_items:
            fitted = fit_head_on_validation(model, val_items, cfg.batch_size * 2)  # the head's held-out stage
            m = _evaluate(model, val_items, labels, cfg.batch_size * 2, None if fitted is None else fitted.logits)
            row.update({"val_loss": m["loss"], "val_ua": m["ua"], "val_wa": m["wa"],
                        f"val_{cfg.metric}": m[cfg.metric]})
            if distributed.agree(m[cfg.metric] > best_score + 1e-6):  # rank 0 decides: all ranks stop together
                best_score, best_ua, best_epoch, since_best = m[cfg.metric], m["ua"], epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                since_best += 1
        curve.append(row)
        if log:
            log("  epoch {epoch:3d}  loss {train_loss:.4f}".format(**row)
                + (f"  val UA {row['val_ua']:.3f}" if "val_ua" in row else "")
                + (f"  val {cfg.metric} {row[f'val_{cfg.metric}']:.3f}" if "val_ua" in row and cfg.metric != "ua"
                   else ""))
        if on_epoch:
            on_epoch(row)
        if val_items and since_best >= cfg.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch, best_ua, best_score = len(curve), float("nan"), float("nan")
    return TrainResult(best_epoch, best_ua, curve, best_val_score=best_score)
