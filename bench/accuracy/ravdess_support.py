"""The RAVDESS audio benchmark's folds, classical baseline and row bookkeeping (``ravdess_audio.py``,
``tune_ravdess.py``; their reports: ``ravdess_report.py``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
FOLDS = [["01", "02", "03", "04"], ["05", "06", "07", "08"], ["09", "10", "11", "12"], ["13", "14", "15", "16"]]
BASELINE_ROW = "mfcc-functionals+logreg"


def default_data_dir() -> str:
    """``$FUSION_SHARED``/data/ravdess, else ../shared/data/ravdess beside the repository."""
    return str(Path(os.environ.get("FUSION_SHARED") or ROOT.parent / "shared") / "data" / "ravdess")


def classical_baseline(utts, folds) -> dict:
    """MFCC(20)+delta mean/std/min/max functionals -> logistic regression."""
    import torch
    import torchaudio
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fusion import audio as audio_io
    from fusion.training.metrics import classification_metrics

    mfcc = torchaudio.transforms.MFCC(16000, n_mfcc=20, melkwargs={"n_fft": 400, "hop_length": 160, "n_mels": 40})
    feats = []
    for u in utts:
        m = mfcc(torch.from_numpy(audio_io.load(u.audio)))          # [20, T]
        d = torchaudio.functional.compute_deltas(m)                  # [20, T]
        x = torch.cat([m, d])                                        # [40, T]
        feats.append(torch.cat([x.mean(1), x.std(1), x.amin(1), x.amax(1)]).numpy())
    X = np.stack(feats)
    labels = sorted({u.label for u in utts})
    y = np.array([labels.index(u.label) for u in utts])
    per_fold = []
    for test in folds:
        te = np.array([u.speaker in test for u in utts])
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1))
        clf.fit(X[~te], y[~te])
        per_fold.append(classification_metrics(y[te], clf.predict(X[te]), labels))
    return {k: {"mean": float(np.mean([m[k] for m in per_fold])), "std": float(np.std([m[k] for m in per_fold])),
                "per_fold": [m[k] for m in per_fold]} for k in ("ua", "wa", "macro_f1", "weighted_f1")}


def best_val_ua(run_dir: Path, seeds) -> float:
    """Mean over folds and seeds of the validation UA of the kept epoch (the selection criterion)."""
    from fusion.runners import load_run_records

    runs = [r for r in load_run_records(run_dir / "runs") if r.mode == "audio" and r.seed in seeds]
    return float(np.mean([r.best_val_ua for r in runs]))


def encoder_entry(entry: str) -> tuple[str, dict]:
    """'NAME:KEY=VALUE:...' -> (NAME, {KEY: VALUE}); values parsed as JSON when they are."""
    name, *options = entry.split(":")
    config = {}
    for option in options:
        key, _, value = option.partition("=")
        try:
            config[key] = json.loads(value)
        except ValueError:
            config[key] = value
    return name, config


def row_order(name: str) -> tuple[int, str]:
    """Baseline, the default encoder, its variants (``NAME:...``), then the other encoders by name."""
    from fusion.experiment import DEFAULT_ACOUSTIC_ENCODER

    rank = {BASELINE_ROW: 0, DEFAULT_ACOUSTIC_ENCODER: 1}.get(name)
    if rank is None:
        rank = 2 if name.startswith((DEFAULT_ACOUSTIC_ENCODER + ":", DEFAULT_ACOUSTIC_ENCODER + " [")) else 3
    return rank, name


def row_name(entry: str, sets: list[str]) -> str:
    """'whisper-encoder' or, with --set options, 'whisper-encoder [train.refit=true]'."""
    return entry + (f" [{', '.join(sets)}]" if sets else "")


def kept_rows(previous: dict, args) -> dict:
    """The rows of a previous results file that this run does not recompute (each with its command/seeds)."""
    rerun = {row_name(e, args.sets) for e in args.encoders.split(",")} | (set() if args.no_baseline else {BASELINE_ROW})
    return {name: {"seeds": previous.get("seeds"), "command": previous.get("command"), **row}
            for name, row in previous.get("encoders", {}).items() if name not in rerun}


def inner_folds(utterances, folds, protocol: str, val_fraction: float):
    """Per fold: test = the fold's validation speakers; train/val = a speaker split of its training set."""
    import dataclasses

    from fusion.data import train_val_split

    out = []
    for fold in folds:
        tr, va = train_val_split([utterances[n] for n in fold.train], protocol, seed=fold.index,
                                 val_fraction=val_fraction)
        out.append(dataclasses.replace(fold, train=tuple(fold.train[i] for i in tr),
                                       val=tuple(fold.train[i] for i in va), test=fold.val,
                                       test_groups=tuple(sorted({utterances[n].speaker for n in fold.val}))))
    return out
