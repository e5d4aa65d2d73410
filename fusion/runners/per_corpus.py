"""Scores per corpus of a multi-corpus dataset (the ``multi`` recipe): one model, each corpus' share of its tests.

Which corpus an utterance comes from is ``extra["corpus"]`` (:func:`fusion.recipes.corpus_names`).
The ablation pools every run of a mode (all folds and seeds) and splits its test predictions by
corpus; ``fusion evaluate`` splits the scored clips. UA and macro-F1 are over the classes present in
that corpus' clips (a corpus without ``calm`` is not penalised for it); ``n`` counts scored
predictions (clips x seeds in an ablation).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from ..training.metrics import classification_metrics
from .fit import RunRecord

PER_CORPUS_METRICS = ("ua", "wa", "macro_f1")


def per_corpus_scores(corpus_of: Mapping[str, str], ids: Sequence[str], y_true: Sequence[int],
                      y_pred: Sequence[int], labels: Sequence[str]) -> dict[str, dict]:
    """``{corpus: {"ua", "wa", "macro_f1", "n"}}`` of the predictions of ``ids`` (label indices into
    ``labels``), corpora in the order of ``corpus_of``; ids of no corpus are left out."""
    rows: dict[str, list[int]] = {name: [] for name in dict.fromkeys(corpus_of.values())}
    for i, uid in enumerate(ids):
        if uid in corpus_of:
            rows[corpus_of[uid]].append(i)
    y, p = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    out = {}
    for name, index in rows.items():
        if index:
            with warnings.catch_warnings():  # a corpus lacking classes the model predicts: expected, not news
                warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
                warnings.filterwarnings("ignore", message="A single label was found")
                m = classification_metrics(y[index], p[index], labels)
            out[name] = {k: m[k] for k in PER_CORPUS_METRICS} | {"n": m["n"]}
    return out


def per_corpus_results(records: Sequence[RunRecord], modes: Sequence[str], labels: Sequence[str],
                       corpus_of: Mapping[str, str]) -> dict[str, dict[str, dict]]:
    """``{corpus: {mode: {"ua", "wa", "macro_f1", "n"}}}`` from the run records' test ids: each mode's
    test predictions over all its runs, split by corpus. Empty when ``corpus_of`` is."""
    out: dict[str, dict[str, dict]] = {name: {} for name in dict.fromkeys(corpus_of.values())}
    for mode in modes:
        runs = [r for r in records if r.mode == mode]
        ids = [uid for r in runs for uid in r.ids]
        y = [t for r in runs for t in r.y_true]
        pred = [int(np.argmax(p)) for r in runs for p in r.probs]
        for name, scores in per_corpus_scores(corpus_of, ids, y, pred, labels).items():
            out[name][mode] = scores
    return {name: by_mode for name, by_mode in out.items() if by_mode}


def per_corpus_lines(per_corpus: Mapping[str, Mapping]) -> list[str]:
    """``fusion evaluate``'s per-corpus table (``per_corpus``: ``{corpus: {"ua", "wa", "macro_f1", "n"}}``)."""
    width = max(len("corpus"), *(len(name) for name in per_corpus))
    lines = [f"{'corpus':<{width}} {'n':>6} {'UA':>6} {'WA':>6} {'macro-F1':>9}"]
    for name, m in per_corpus.items():
        lines.append(f"{name:<{width}} {m['n']:>6} {100 * m['ua']:6.1f} {100 * m['wa']:6.1f} "
                     f"{100 * m['macro_f1']:9.1f}")
    return lines
