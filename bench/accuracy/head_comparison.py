"""Fused vs unimodal, per fusion head, over run records pooled from several ablations.

:func:`head_table` aggregates (:func:`fusion.runners.aggregate`) the audio-only and text-only records
with each head's fused records: per-model metrics and, per head, fused - best unimodal UA with a
paired bootstrap over the pooled test predictions, as ``fusion ablate`` reports it. The reference
row (:data:`REFERENCE`, no head) is :func:`product_records`: the equal-weight product of the
audio-only and text-only models' posteriors. paired_fusion_report.py renders it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from fusion.data import Fold
from fusion.experiment import DEFAULT_HEAD  # the head `fusion ablate` uses by default
from fusion.runners import RunRecord, aggregate
from fusion.training.metrics import classification_metrics

REFERENCE = "product of unimodal posteriors"  # untrained decision fusion of the audio and text runs
TARGET = 0.05  # the default head should beat the best unimodal model by >= 5 UA points
MODES = ("audio", "text", "fused")


def product_records(unimodal: Sequence[RunRecord], labels: Sequence[str]) -> list[RunRecord]:
    """The untrained reference: per (seed, fold), a fused-mode record whose posterior is the normalised
    product p_audio * p_text of that fold's audio-only and text-only records (equal weights)."""
    text = {(r.seed, r.fold): r for r in unimodal if r.mode == "text"}
    out = []
    for audio in sorted((r for r in unimodal if r.mode == "audio"), key=lambda r: (r.seed, r.fold)):
        other = text[(audio.seed, audio.fold)]
        if audio.ids != other.ids:
            raise RuntimeError(f"seed {audio.seed} fold {audio.fold}: audio and text runs were tested on "
                               "different utterances")
        logp = np.log(np.asarray(audio.probs) + 1e-9) + np.log(np.asarray(other.probs) + 1e-9)  # [N, C]
        probs = np.exp(logp - logp.max(1, keepdims=True))                                         # [N, C]
        probs /= probs.sum(1, keepdims=True)
        out.append(dataclasses.replace(audio, mode="fused", curve=[], best_epoch=None,
                                       probs=np.round(probs, 6).tolist(),  # scored unrounded, stored rounded
                                       metrics=classification_metrics(audio.y_true, probs.argmax(1), labels)))
    return out


def head_table(unimodal: Sequence[RunRecord], fused: dict[str, list[RunRecord]], labels: Sequence[str],
               n_folds: int) -> dict:
    """``fused``: head -> its fused records (the default head first); ``unimodal``: the audio-only and
    text-only records they are compared with. The reference row is added last."""
    folds = [Fold(i, (), (), ()) for i in range(n_folds)]
    pools = {**fused, REFERENCE: product_records(unimodal, labels)}
    results = {head: aggregate([*unimodal, *records], MODES, labels, folds) for head, records in pools.items()}

    def model(head: str, mode: str) -> dict:  # the mode's metrics without the training curves (in the run dirs)
        records = [*unimodal, *pools[head]]
        epochs = [r.best_epoch for r in sorted((r for r in records if r.mode == mode), key=lambda r: (r.seed, r.fold))]
        return {**{k: v for k, v in results[head]["modes"][mode].items() if k != "curves"}, "best_epochs": epochs}

    unimodal_rows = {m: model(DEFAULT_HEAD, m) for m in ("audio", "text")}
    best = max(unimodal_rows, key=lambda m: unimodal_rows[m]["ua"]["mean"])
    heads = {}
    for head, r in results.items():
        c = r["comparisons"]
        heads[head] = {**model(head, "fused"), "vs_best_unimodal": {"unimodal": best, **c[f"fused_vs_{best}"]},
                       "vs": {m: c[f"fused_vs_{m}"] for m in unimodal_rows},
                       "meets_target": c[f"fused_vs_{best}"]["diff"] >= TARGET}
    return {"unimodal": unimodal_rows, "best_unimodal": best, "heads": heads}
