"""Probability-averaging ensembles of finished MELD text runs, chosen on the validation slice only.

Used by ``meld_text.py``. Each member is a model directory written by ``train_model_dir`` (clean
protocol); its class probabilities on the dialogue-disjoint validation slice of MELD train and on
dev are computed once and cached beside it (.npz). An ensemble is the mean of its members'
probabilities; the member subset and per-class log-probability offsets are chosen by validation
weighted-F1. Dev is scored once per reported row and never used to choose. The offsets row's validation
figures are cross-fitted (each half of the slice scored with offsets fitted on the other half), so that
choosing a row by validation weighted-F1 does not favour it for fitting its offsets on the rows it is
scored on.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np

EPS = 1e-9          # added before the log of probabilities
OFFSET_GRID = np.round(np.arange(-1.5, 1.51, 0.1), 2)  # candidate per-class log-probability offsets
OFFSET_PASSES = 3   # coordinate-ascent passes over the classes


def probabilities(cfg, model_dir: Path, cache: Path, val_fraction: float) -> dict:
    """A clean run's class probabilities [N, C] on the validation slice and on dev, their labels [N]
    and the label names (cached in ``cache``, an .npz newer than the model; the slice is the seed-0
    carve for every run)."""
    from fusion.data import train_val_split
    from fusion.experiment import prepare_inputs
    from fusion.model import EmotionModel
    from fusion.runners import load_corpus, score

    if cache.is_file() and cache.stat().st_mtime >= (model_dir / "model.pt").stat().st_mtime:
        return dict(np.load(cache))
    model = EmotionModel.load(model_dir)
    inputs = prepare_inputs(cfg, load_corpus(cfg), model.labels)
    utts = inputs.utterances
    _, val = train_val_split(utts, "predefined", seed=0, val_fraction=val_fraction)
    dev = [n for n, u in enumerate(utts) if u.split == "dev"]
    out = {"labels": np.array(model.labels)}
    for split, idx in (("val", list(val)), ("dev", dev)):
        y, out[split], _ = score(model, inputs, idx, "text")  # labels [N], probabilities [N, C]
        out[f"y_{split}"] = np.array(y)
    np.savez(cache, **out)
    return out


def weighted_f1(y: np.ndarray, pred: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, pred, average="weighted"))


def class_offsets(log_probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-class additive offsets [C] for ``log_probs`` [N, C] that maximise weighted-F1 against ``y``
    (coordinate ascent over OFFSET_GRID; among equal scores the smallest offset wins)."""
    offsets = np.zeros(log_probs.shape[1])
    for _ in range(OFFSET_PASSES):
        for c in range(len(offsets)):
            def score(g: float) -> tuple[float, float]:
                trial = offsets.copy()
                trial[c] = g
                return weighted_f1(y, (log_probs + trial).argmax(1)), -abs(g)
            offsets[c] = max(OFFSET_GRID, key=score)
    return offsets


def cross_fitted_predictions(log_probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Predictions [N] for ``log_probs`` [N, C] with out-of-sample class offsets: the first half of the
    rows is predicted with offsets fitted on the second half and vice versa (rows in corpus order, so
    the halves share at most one dialogue)."""
    half = len(y) // 2
    first, second = slice(0, half), slice(half, len(y))
    pred = np.empty(len(y), dtype=int)
    for fit, scored in ((second, first), (first, second)):
        pred[scored] = (log_probs[scored] + class_offsets(log_probs[fit], y[fit])).argmax(1)
    return pred


def ensembles(probs: dict[str, dict], scores: Callable[[dict], dict]) -> list[dict]:
    """Rows ``ensemble-all`` (every member), ``ensemble-val`` (the subset of >= 2 members with the best
    validation weighted-F1, ties to the smaller) and ``ensemble-val-offsets`` (that subset with
    class offsets fitted on all of validation; its validation figures are cross-fitted, see
    :func:`cross_fitted_predictions`). ``probs``: member name -> :func:`probabilities` output;
    ``scores``: classification_metrics dict -> the row's figures. Fewer than 2 members: no rows."""
    from fusion.training.metrics import classification_metrics

    if len(probs) < 2:
        return []
    names = sorted(probs)
    first = probs[names[0]]
    labels = [str(label) for label in first["labels"]]

    def log_mean(members, split: str) -> np.ndarray:
        return np.log(np.mean([probs[m][split] for m in members], axis=0) + EPS)  # [N, C]

    def row(name: str, note: str, members, offsets: np.ndarray, val_pred: np.ndarray | None = None) -> dict:
        preds = {split: (log_mean(members, split) + offsets).argmax(1) for split in ("val", "dev")}  # [N]
        if val_pred is not None:
            preds["val"] = val_pred
        figures = {split: scores(classification_metrics(first[f"y_{split}"], pred, labels))
                   for split, pred in preds.items()}
        return {"name": name, "note": note, "members": list(members),
                "offsets": [round(float(o), 2) for o in offsets], "clean": figures}

    zero = np.zeros(len(labels))
    subsets = [c for k in range(2, len(names) + 1) for c in itertools.combinations(names, k)]
    chosen = max(subsets, key=lambda c: (weighted_f1(first["y_val"], log_mean(c, "val").argmax(1)), -len(c)))
    fitted = class_offsets(log_mean(chosen, "val"), first["y_val"])
    return [row("ensemble-all", "mean probabilities of every clean run", names, zero),
            row("ensemble-val", "mean probabilities of the subset with the best validation wF1: "
                + ", ".join(chosen), chosen, zero),
            row("ensemble-val-offsets", "ensemble-val + per-class log-probability offsets fitted on "
                "validation wF1 (validation figures cross-fitted on its two halves)", chosen, fitted,
                cross_fitted_predictions(log_mean(chosen, "val"), first["y_val"]))]
