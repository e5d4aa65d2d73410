"""Fast configuration search for the RAVDESS audio-only benchmark (cached features, in-process).

Loads the cached ``featurize`` outputs once (``fusion.experiment.prepare_inputs``), then, for each
configuration given as a JSON object on the command line or one per line of ``--grid FILE``::

    {"name": "...", "acoustic": {...encoder Config...}, "head": {...unimodal Config...},
     "train": {...TrainConfig...}, "seeds": [0]}

trains the audio-only model on every fold (validation speakers carved from the training actors,
exactly as ``fusion ablate`` does; one ``fusion.runners.fit_and_score`` per fold and seed) and appends
one JSON line per configuration to ``--log`` (default runs/tune-ravdess/log.jsonl in the repository):
per-fold validation UA (the selection criterion) and test UA (reported, never used to choose),
plus the UA of the seed ensemble (probabilities averaged) when several seeds are given.

``--inner`` never touches the test actors: each fold's validation actors become its "test" set
and validation actors are carved again from the remaining training actors. This scores choices
that use the validation speakers themselves (``train.refit``) on validation speakers only.

    python bench/accuracy/tune_ravdess.py --grid grid.jsonl --log runs/tune-ravdess/log.jsonl
    python bench/accuracy/tune_ravdess.py --export runs/tune-ravdess/log.jsonl  # -> bench/results/ravdess_tuning.*
    python bench/accuracy/tune_ravdess.py --render-only   # ravdess_tuning.md again from the committed .json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

try:  # imported as bench.accuracy.tune_ravdess (the tests)
    from . import ravdess_report as rr
    from . import ravdess_support as rs
    from . import support
except ImportError:  # run as a script: its own folder is on sys.path
    import ravdess_report as rr
    import ravdess_support as rs
    import support


def load(data_dir: str, encoder: str, acoustic_featurize: dict, inner: bool = False):
    """(cfg, inputs, folds, labels) for the audio mode; features come from the shared cache."""
    from fusion.data import folds_from_groups
    from fusion.experiment import ExperimentConfig, prepare_inputs
    from fusion.recipes import dataset_protocol
    from fusion.runners import load_corpus

    cfg = ExperimentConfig(dataset="ravdess", data_dir=data_dir, modes=("audio",), acoustic_encoder=encoder,
                           acoustic_config=acoustic_featurize, test_groups=tuple(tuple(f) for f in rs.FOLDS))
    cfg = support.as_measured(cfg)
    utts = load_corpus(cfg)
    labels = tuple(sorted({u.label for u in utts}))
    inputs = prepare_inputs(cfg, utts, labels, log=lambda s: print(s, file=sys.stderr))
    folds = folds_from_groups(inputs.utterances, cfg.test_groups, dataset_protocol("ravdess"), seed=0,
                              val_fraction=cfg.val_fraction)
    if inner:
        folds = rs.inner_folds(inputs.utterances, folds, dataset_protocol("ravdess"), cfg.val_fraction)
    return cfg, inputs, folds, labels


def evaluate(base, inputs, folds, labels, spec: dict) -> dict:
    """Train spec on every fold and seed; per-fold val/test UA and the seed-ensemble test UA."""
    from fusion.runners import fit_and_score, score
    from fusion.training.metrics import classification_metrics
    from fusion.training.trainer import TrainConfig

    cfg = base.replace(acoustic_config={**base.acoustic_config, **spec.get("acoustic", {})},
                       unimodal_config=spec.get("head", {}), train=TrainConfig(**{"patience": support.HISTORIC_PATIENCE, **spec.get("train", {})}))
    seeds = spec.get("seeds", [0])
    rows = []
    for fold in folds:
        probs, vals, tests, epochs = [], [], [], []
        for seed in seeds:
            fitted = fit_and_score(cfg, inputs, "audio", fold.train, fold.val, seed=seed)
            y, p, metrics = score(fitted.model, inputs, fold.test, "audio")  # p [N, C], unrounded
            probs.append(p)
            vals.append(fitted.result.best_val_ua)
            tests.append(metrics["ua"])
            epochs.append(fitted.result.best_epoch)
        ens = classification_metrics(y, np.mean(probs, 0).argmax(1), labels)["ua"]
        rows.append({"val_ua": float(np.mean(vals)), "test_ua": float(np.mean(tests)), "ensemble_test_ua": ens,
                     "best_epochs": epochs})
    summary = {k: float(np.mean([r[k] for r in rows])) for k in ("val_ua", "test_ua", "ensemble_test_ua")}
    summary["test_ua_std"] = float(np.std([r["test_ua"] for r in rows]))
    return {**summary, "folds": rows}


def export(log: Path, out: Path) -> None:
    """Every run of LOG (in order) -> ravdess_tuning.json / .md: the test-fold runs ranked by mean
    validation UA, then the ``--inner`` runs (scored on validation actors only) in their own table."""
    from fusion.cache import atomic_write_text

    tuning = rr.tuning_results([json.loads(line) for line in log.read_text().splitlines() if line.strip()])
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "ravdess_tuning.json", json.dumps(tuning, indent=2) + "\n")
    atomic_write_text(out / "ravdess_tuning.md", rr.tuning_markdown(tuning))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("specs", nargs="*", help="JSON configurations")
    p.add_argument("--grid", help="file with one JSON configuration per line")
    p.add_argument("--data-dir", default=rs.default_data_dir(), help="RAVDESS folder (default ../shared/data/ravdess)")
    p.add_argument("--encoder", default="whisper-encoder")
    p.add_argument("--featurize", default="{}", help="JSON encoder options that change featurize (cache key)")
    p.add_argument("--log", default=str(rs.ROOT / "runs" / "tune-ravdess" / "log.jsonl"),
                   help="the JSON-lines log runs are appended to (default runs/tune-ravdess/log.jsonl)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--inner", action="store_true",
                   help="test on each fold's validation actors, validate on actors carved from its training ones")
    p.add_argument("--out", default=str(rs.RESULTS), help="where --export / --render-only write (bench/results)")
    p.add_argument("--export", metavar="LOG", help="write the ranked summary of LOG to OUT and exit")
    p.add_argument("--render-only", action="store_true", help="re-render OUT/ravdess_tuning.md from its .json")
    args = p.parse_args(argv)
    if args.export:
        export(Path(args.export), Path(args.out))
        return 0
    if args.render_only:
        from fusion.cache import atomic_write_text

        tuning = json.loads((Path(args.out) / "ravdess_tuning.json").read_text())
        atomic_write_text(Path(args.out) / "ravdess_tuning.md", rr.tuning_markdown(tuning))
        return 0

    import torch

    torch.set_num_threads(args.threads)
    specs = [json.loads(s) for s in args.specs]
    if args.grid:
        specs += [json.loads(line) for line in Path(args.grid).read_text().splitlines() if line.strip()]
    base, inputs, folds, labels = load(args.data_dir, args.encoder, json.loads(args.featurize), args.inner)
    print(f"folds: {[(len(f.train), len(f.val), len(f.test), f.test_groups) for f in folds]}", file=sys.stderr)
    log = Path(args.log)
    log.parent.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        t0 = time.perf_counter()
        res = evaluate(base, inputs, folds, labels, spec)
        res = {"spec": spec, "encoder": args.encoder, "featurize": json.loads(args.featurize),
               "inner": args.inner, **res,
               "wall_s": round(time.perf_counter() - t0, 1)}
        with log.open("a") as f:
            f.write(json.dumps(res) + "\n")
        print(f"{spec.get('name', spec)}: val {100 * res['val_ua']:.1f} test {100 * res['test_ua']:.1f} "
              f"± {100 * res['test_ua_std']:.1f} ens {100 * res['ensemble_test_ua']:.1f} "
              f"({res['wall_s']} s) epochs {[r['best_epochs'] for r in res['folds']]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
