"""Branch-wise evaluation: the audio branch, the text branch and the fused output on the same clips.

For a fused model whose head has per-modality branches, or a composed model, ``fusion evaluate``
reports the three side by side and whether fusing helped: a paired bootstrap (over clips) of
UA(fused) - UA(best branch), the best branch being the one with the higher UA on these clips.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import ConfigError
from ..training.metrics import bootstrap_difference, classification_metrics
from .calibration import mean_nll

BRANCHES = ("audio", "text")
BRANCH_KEYS = ("ua", "wa", "macro_f1", "weighted_f1", "n", "per_class_recall", "confusion_counts")


def branch_comparison(y: Sequence[int], probs: Mapping[str, np.ndarray], labels: Sequence[str],
                      n_resamples: int = 1000, seed: int = 0) -> dict:
    """``probs``: {"audio", "text", "fused"} -> ``[N, K]`` over ``labels``; ``y``: label indices.

    -> ``{"branches": {name: metrics (+ "nll", nats per clip)}, "fused_vs_best_branch": {"best_branch",
    "diff", "ci_low", "ci_high", "confidence", "p_not_better", "n_resamples"}}`` (UA differences)."""
    missing = [name for name in (*BRANCHES, "fused") if name not in probs]
    if missing:
        raise ConfigError(f"branch-wise evaluation needs audio, text and fused probabilities; missing: "
                          f"{', '.join(missing)}")
    out: dict[str, dict] = {}
    preds = {}
    for name in (*BRANCHES, "fused"):
        p = np.asarray(probs[name])                                                   # [N, K]
        preds[name] = p.argmax(1)
        m = classification_metrics(y, preds[name], labels)
        out[name] = {k: m[k] for k in BRANCH_KEYS} | {"nll": mean_nll(p, y)}
    best = max(BRANCHES, key=lambda b: out[b]["ua"])  # a tie goes to audio
    with warnings.catch_warnings():  # a resample can miss a class the models predict: expected, not news
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        ci = bootstrap_difference(y, preds["fused"], preds[best], n_resamples=n_resamples, seed=seed)
    return {"branches": out, "fused_vs_best_branch": {"best_branch": best, **ci}}


def branch_table(report: dict) -> list[str]:
    """``branch_comparison``'s result as text lines (the table `fusion evaluate` prints)."""
    rows = report["branches"]
    lines = [f"{'branch':<7} {'UA':>6} {'WA':>6} {'macro-F1':>9} {'NLL':>6}"]
    for name, m in rows.items():
        lines.append(f"{name:<7} {100 * m['ua']:6.1f} {100 * m['wa']:6.1f} {100 * m['macro_f1']:9.1f} {m['nll']:6.3f}")
    c = report["fused_vs_best_branch"]
    lines.append(f"fused - best branch ({c['best_branch']}): ΔUA {100 * c['diff']:+.1f} points "
                 f"({100 * c['confidence']:.0f}% CI {100 * c['ci_low']:+.1f} to {100 * c['ci_high']:+.1f}, "
                 f"paired bootstrap over clips, P(not better) {c['p_not_better']:.2f})")
    return lines
