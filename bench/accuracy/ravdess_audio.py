"""RAVDESS audio-only, 8 classes, 4-fold speaker CV (actors 01-04 / 05-08 / 09-12 / 13-16).

Runs fusion's audio-only ablation for each acoustic encoder, plus a classical baseline
(MFCC + delta statistics -> standardised logistic regression, scikit-learn) on the same folds.
Model selection uses validation speakers carved from the training actors only.

    python bench/accuracy/ravdess_audio.py [--data-dir ../shared/data/ravdess]
        [--encoders whisper-encoder,cnn,cnn-lstm,lstm] [--epochs N]

Writes bench/results/ravdess_audio.json and .md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FOLDS = [["01", "02", "03", "04"], ["05", "06", "07", "08"], ["09", "10", "11", "12"], ["13", "14", "15", "16"]]


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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "ravdess"))
    p.add_argument("--encoders", default="whisper-encoder,cnn,cnn-lstm,lstm")
    p.add_argument("--epochs", type=int, default=None, help="override max epochs (all encoders)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    p.add_argument("--runs", default="/tmp/fusion-bench-runs", help="where the ablation run dirs go")
    args = p.parse_args(argv)

    from fusion.ablation import load_corpus, run_ablation
    from fusion.experiment import ExperimentConfig
    from fusion.training.trainer import TrainConfig

    results = {"benchmark": "ravdess-audio-8class-4fold", "folds": FOLDS, "encoders": {}}
    base = ExperimentConfig(dataset="ravdess", data_dir=args.data_dir, modes=("audio",),
                            test_groups=tuple(tuple(f) for f in FOLDS))
    start = time.perf_counter()
    results["encoders"]["mfcc-functionals+logreg"] = classical_baseline(load_corpus(base), FOLDS)
    results["encoders"]["mfcc-functionals+logreg"]["wall_time_s"] = round(time.perf_counter() - start, 1)
    print("baseline", results["encoders"]["mfcc-functionals+logreg"]["ua"], file=sys.stderr)
    for enc in args.encoders.split(","):
        train = TrainConfig() if args.epochs is None else TrainConfig(epochs=args.epochs)
        cfg = base.replace(acoustic_encoder=enc, train=train)
        t0 = time.perf_counter()
        res = run_ablation(cfg, Path(args.runs) / f"ravdess-audio-{enc}", log=lambda s: print(s, file=sys.stderr))
        m = res["modes"]["audio"]
        results["encoders"][enc] = {k: m[k] for k in ("ua", "wa", "macro_f1", "weighted_f1")}
        results["encoders"][enc]["wall_time_s"] = round(time.perf_counter() - t0, 1)
        results["encoders"][enc]["config"] = res["config"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ravdess_audio.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["| encoder | UA | WA | macro-F1 | wall time (s) |", "|---|---|---|---|---|"]
    for name, r in results["encoders"].items():
        lines.append(f"| {name} | {100 * r['ua']['mean']:.1f} ± {100 * r['ua']['std']:.1f} | "
                     f"{100 * r['wa']['mean']:.1f} | {100 * r['macro_f1']['mean']:.1f} | {r.get('wall_time_s')} |")
    (out / "ravdess_audio.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
