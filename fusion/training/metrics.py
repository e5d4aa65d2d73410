"""Classification metrics for SER (scikit-learn underneath).

UA = unweighted average recall (balanced accuracy) is the headline; WA = accuracy.
All values are fractions in 0..1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> dict:
    """Metrics over label indices into ``labels``.

    Returns ``ua, wa, macro_f1, weighted_f1, n, labels, per_class_recall, confusion`` (row-normalised
    fractions: row = true class) and ``confusion_counts``.
    """
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    idx = list(range(len(labels)))
    counts = confusion_matrix(y_true, y_pred, labels=idx) if len(y_true) else np.zeros((len(idx),) * 2, int)
    rows = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=float), where=rows > 0)
    present = sorted(set(y_true.tolist()))
    if len(y_true) == 0:
        nan = float("nan")
        return {"ua": nan, "wa": nan, "macro_f1": nan, "weighted_f1": nan, "n": 0, "labels": list(labels),
                "per_class_recall": {}, "confusion": fractions.tolist(), "confusion_counts": counts.tolist()}
    recall = recall_score(y_true, y_pred, labels=idx, average=None, zero_division=0)
    return {
        "ua": balanced_accuracy(y_true, y_pred),
        "wa": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, labels=present, average="weighted", zero_division=0)),
        "n": int(len(y_true)),
        "labels": list(labels),
        "per_class_recall": {labels[i]: float(recall[i]) for i in present},
        "confusion": fractions.tolist(),
        "confusion_counts": counts.tolist(),
    }


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """UA: mean recall over the classes present in ``y_true`` (sklearn's balanced accuracy, without its
    warning when a prediction names a class the truth lacks)."""
    classes, true_idx = np.unique(y_true, return_inverse=True)
    hits = np.bincount(true_idx, weights=(y_true == y_pred).astype(float), minlength=len(classes))
    return float(np.mean(hits / np.bincount(true_idx, minlength=len(classes))))


def bootstrap_difference(y_true: Sequence[int], pred_a: Sequence[int], pred_b: Sequence[int],
                         n_resamples: int = 1000, seed: int = 0, alpha: float = 0.05) -> dict:
    """Paired bootstrap of UA(a) - UA(b) over utterances: mean, CI, and P(diff <= 0)."""
    y = np.asarray(y_true)
    a = np.asarray(pred_a)
    b = np.asarray(pred_b)
    rng = np.random.default_rng(seed)
    n = len(y)
    diffs = np.empty(n_resamples)
    for r in range(n_resamples):
        i = rng.integers(0, n, n)
        diffs[r] = balanced_accuracy(y[i], a[i]) - balanced_accuracy(y[i], b[i])
    lo, hi = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    return {
        "diff": balanced_accuracy(y, a) - balanced_accuracy(y, b),
        "ci_low": float(lo), "ci_high": float(hi), "confidence": 1 - alpha,
        "p_not_better": float((diffs <= 0).mean()), "n_resamples": n_resamples,
    }
