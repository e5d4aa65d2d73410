"""Run records -> per-mode summaries: fold mean ± std, confusion, seed ensembles, paired comparisons."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data import Fold
from ..errors import ConfigError
from ..training.metrics import bootstrap_difference, classification_metrics
from .fit import RunRecord

METRICS = ("ua", "wa", "macro_f1", "weighted_f1")
COMPARISONS = (("fused", "audio"), ("fused", "text"), ("audio", "probe"), ("text", "text-probe"))  # (model, baseline) pairs when both ran


def aggregate(records: Sequence[RunRecord], modes: Sequence[str], labels: Sequence[str],
              folds: Sequence[Fold]) -> dict:
    """``{"labels", "modes": {mode: summary}, "comparisons": {"<a>_vs_<b>": bootstrap}}`` over ``records``."""
    summaries: dict[str, dict] = {}
    preds: dict[str, dict] = {}
    for mode in modes:
        runs = sorted((r for r in records if r.mode == mode), key=lambda r: (r.seed, r.fold))
        if not runs:
            continue
        entry: dict = {}
        for metric in METRICS:
            entry[metric] = fold_summary([float(np.mean([r.metrics[metric] for r in runs if r.fold == f.index]))
                                          for f in folds])
        counts = np.sum([r.metrics["confusion_counts"] for r in runs], axis=0)  # [C, C]
        rows = counts.sum(1, keepdims=True)
        entry["confusion"] = counts.tolist()
        entry["confusion_fraction"] = np.divide(counts, rows, out=np.zeros(counts.shape),
                                                where=rows > 0).round(4).tolist()
        entry["per_class_recall"] = {l: float(entry["confusion_fraction"][i][i]) for i, l in enumerate(labels)}
        entry["n"] = int(counts.sum())
        entry["curves"] = [{"seed": r.seed, "fold": r.fold, "curve": r.curve} for r in runs]
        if len({r.seed for r in runs}) > 1:
            entry["seed_ensemble"] = seed_ensemble(runs, labels, folds)
        summaries[mode] = entry
        preds[mode] = {(r.seed, i): (y, int(np.argmax(p))) for r in runs for i, y, p in zip(r.ids, r.y_true, r.probs)}
    comparisons = {}
    for model, baseline in COMPARISONS:
        if model in preds and baseline in preds:
            keys = sorted(set(preds[model]) & set(preds[baseline]))
            y = [preds[model][k][0] for k in keys]
            comparisons[f"{model}_vs_{baseline}"] = bootstrap_difference(
                y, [preds[model][k][1] for k in keys], [preds[baseline][k][1] for k in keys])
    return {"labels": list(labels), "modes": summaries, "comparisons": comparisons}


def seed_ensemble(runs: Sequence[RunRecord], labels: Sequence[str], folds: Sequence[Fold]) -> dict:
    """Per fold, the metrics of the seeds' test probabilities averaged per utterance (the ensemble of
    the seeds' models), then mean / std / per_fold over folds, like the per-seed metrics."""
    per_fold = []
    for fold in folds:
        members = [r for r in runs if r.fold == fold.index]
        if not members:
            continue
        ids = members[0].ids
        if any(r.ids != ids for r in members):
            raise ConfigError(f"ablation: fold {fold.index}'s runs scored different test utterances; "
                              "rerun it in a fresh directory")
        probs = np.mean([np.asarray(r.probs, dtype=float) for r in members], axis=0)  # [N, C]
        per_fold.append(classification_metrics(members[0].y_true, probs.argmax(1), labels))
    ensemble: dict = {metric: fold_summary([float(m[metric]) for m in per_fold]) for metric in METRICS}
    ensemble["seeds"] = sorted({r.seed for r in runs})
    return ensemble


def fold_summary(per_fold: list[float]) -> dict:
    """One metric's per-fold values -> {"mean", "std", "per_fold"} (std over folds)."""
    return {"mean": float(np.mean(per_fold)), "std": float(np.std(per_fold)), "per_fold": per_fold}
