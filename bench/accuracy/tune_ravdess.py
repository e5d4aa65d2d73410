"""Fast configuration search for the RAVDESS audio-only benchmark (cached features, in-process).

Loads the cached ``featurize`` outputs once (``fusion.experiment.prepare_inputs``), then, for each
configuration given as a JSON object on the command line or one per line of ``--grid FILE``::

    {"name": "...", "acoustic": {...encoder Config...}, "head": {...unimodal Config...},
     "train": {...TrainConfig...}, "seeds": [0]}

trains the audio-only model on every fold (validation speakers carved from the training actors,
exactly as ``fusion ablate`` does) and appends one JSON line per configuration to ``--log``:
per-fold validation UA (the selection criterion) and test UA (reported, never used to choose),
plus the UA of the seed ensemble (probabilities averaged) when several seeds are given.

``--inner`` never touches the test actors: each fold's validation actors become its "test" set
and validation actors are carved again from the remaining training actors. This scores choices
that use the validation speakers themselves (``train.refit``) on validation speakers only.

    python bench/accuracy/tune_ravdess.py --grid grid.jsonl --log /tmp/ravtune/log.jsonl
    python bench/accuracy/tune_ravdess.py --export /tmp/ravtune/log.jsonl   # -> bench/results/ravdess_tuning.*
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


def load(data_dir: str, encoder: str, acoustic_featurize: dict, inner: bool = False):
    """(inputs, folds, labels) for the audio mode; features come from the shared cache."""
    from fusion.runners import load_corpus
    from fusion.data import folds_from_groups
    from fusion.experiment import ExperimentConfig, prepare_inputs
    from fusion.recipes import dataset_protocol

    cfg = ExperimentConfig(dataset="ravdess", data_dir=data_dir, modes=("audio",), acoustic_encoder=encoder,
                           acoustic_config=acoustic_featurize, test_groups=tuple(tuple(f) for f in FOLDS))
    utts = load_corpus(cfg)
    labels = tuple(sorted({u.label for u in utts}))
    inputs = prepare_inputs(cfg, utts, labels, log=lambda s: print(s, file=sys.stderr))
    folds = folds_from_groups(inputs.utterances, cfg.test_groups, dataset_protocol("ravdess"), seed=0,
                              val_fraction=cfg.val_fraction)
    if inner:
        folds = inner_folds(inputs.utterances, folds, dataset_protocol("ravdess"), cfg.val_fraction)
    return cfg, inputs, folds, labels


def evaluate(base, inputs, folds, labels, spec: dict) -> dict:
    """Train spec on every fold and seed; per-fold val/test UA and the seed-ensemble test UA."""
    from fusion.model import EmotionModel
    from fusion.training.metrics import classification_metrics
    from fusion.training.trainer import TrainConfig, predict_proba, seed_everything, train

    cfg = base.replace(acoustic_config={**base.acoustic_config, **spec.get("acoustic", {})},
                       unimodal_config=spec.get("head", {}), train=TrainConfig(**spec.get("train", {})))
    seeds = spec.get("seeds", [0])
    rows = []
    for fold in folds:
        y = [labels.index(inputs.utterances[n].label) for n in fold.test]
        tr, va, te = (inputs.items(ix, "audio") for ix in (fold.train, fold.val, fold.test))
        probs, vals, tests, epochs = [], [], [], []
        for seed in seeds:
            seed_everything(seed)
            model = EmotionModel(cfg.model_config("audio", labels))
            result = train(model, tr, va, cfg.train.__class__(**{**cfg.train.to_dict(), "seed": seed}))
            p = predict_proba(model, te)
            probs.append(p)
            vals.append(result.best_val_ua)
            tests.append(classification_metrics(y, p.argmax(1), labels)["ua"])
            epochs.append(result.best_epoch)
        ens = classification_metrics(y, np.mean(probs, 0).argmax(1), labels)["ua"]
        rows.append({"val_ua": float(np.mean(vals)), "test_ua": float(np.mean(tests)), "ensemble_test_ua": ens,
                     "best_epochs": epochs})
    summary = {k: float(np.mean([r[k] for r in rows])) for k in ("val_ua", "test_ua", "ensemble_test_ua")}
    summary["test_ua_std"] = float(np.std([r["test_ua"] for r in rows]))
    return {**summary, "folds": rows}


# The specs in the committed log are relative to the defaults when the search ran (commit 9a11129):
BASELINE = {"acoustic": {"standardize": False, "feature_noise": 0.0, "frame_dropout": 0.0, "time_mask_ratio": 0.0},
            "head": {"pool": "attention", "norm": "layer", "hidden": 128, "dropout": 0.3}}


def changes(run: dict) -> dict:
    """What a logged run changed: its spec without name and seeds, plus the encoder options that
    change the cached features (``featurize``, e.g. the model) when it has any."""
    spec = {k: v for k, v in run["spec"].items() if k not in ("name", "seeds")}
    if run.get("featurize"):
        spec["featurize"] = run["featurize"]
    return spec


def export(log: Path, out: Path) -> None:
    """Every run of LOG (in order) -> ravdess_tuning.json / .md: the test-fold runs ranked by mean
    validation UA, then the ``--inner`` runs (scored on validation actors only) in their own table."""
    every = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    runs = [r for r in every if not r.get("inner")]
    inner = [r for r in every if r.get("inner")]
    ranked = sorted(runs, key=lambda r: -r["val_ua"])
    distinct = {json.dumps(changes(r), sort_keys=True) for r in runs}
    out.mkdir(parents=True, exist_ok=True)
    (out / "ravdess_tuning.json").write_text(json.dumps(
        {"benchmark": "ravdess-audio-8class-4fold", "selection": "mean validation UA over the 4 folds "
         "(validation actors carved from the training actors); test UA reported, never used to choose",
         "specs_relative_to": BASELINE, "n_configurations": len(distinct), "n_runs": len(runs), "runs": runs,
         "inner_runs": inner}, indent=2) + "\n")
    lines = [f"{len(runs)} runs of {len(distinct)} distinct training configurations (whisper-encoder on cached tiny.en "
             "states unless `featurize` names another model), ranked by mean validation UA; test UA is reported "
             "only. Changes are relative to the "
             f"defaults when the search ran: `{json.dumps(BASELINE)}` (add them to rerun a spec with today's "
             "defaults).", "",
             "| rank | configuration | seeds | val UA | test UA | seed-ensemble test UA | changes |",
             "|---|---|---|---|---|---|---|"]
    for i, r in enumerate(ranked, 1):
        spec = changes(r)
        lines.append(f"| {i} | {r['spec'].get('name', '')} | {len(r['spec'].get('seeds', [0]))} | "
                     f"{100 * r['val_ua']:.1f} | {100 * r['test_ua']:.1f} ± {100 * r['test_ua_std']:.1f} | "
                     f"{100 * r['ensemble_test_ua']:.1f} | `{json.dumps(spec)}` |")
    if inner:
        lines += ["", "Choices that use the validation actors themselves (`train.refit`) cannot be ranked by "
                  "validation UA. `--inner` runs score them without the test actors: each fold's 2 validation "
                  "actors are its test set, 2 validation actors are carved from its other 10 (8 train). "
                  "Changes are relative to the defaults of the time the run was made; seconds = the whole "
                  "run on the shared 2-core CPU (other jobs running).", "",
                  "| configuration | seeds | inner val UA | UA on the validation actors | seed-ensemble | per fold "
                  "| wall s | changes |", "|---|---|---|---|---|---|---|---|"]
        for r in inner:
            spec = changes(r)
            folds = " / ".join(f"{100 * f['test_ua']:.1f}" for f in r["folds"])
            lines.append(f"| {r['spec'].get('name', '')} | {len(r['spec'].get('seeds', [0]))} | "
                         f"{100 * r['val_ua']:.1f} | {100 * r['test_ua']:.1f} ± {100 * r['test_ua_std']:.1f} | "
                         f"{100 * r['ensemble_test_ua']:.1f} | {folds} | {r['wall_s']} | `{json.dumps(spec)}` |")
    (out / "ravdess_tuning.md").write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("specs", nargs="*", help="JSON configurations")
    p.add_argument("--grid", help="file with one JSON configuration per line")
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "ravdess"))
    p.add_argument("--encoder", default="whisper-encoder")
    p.add_argument("--featurize", default="{}", help="JSON encoder options that change featurize (cache key)")
    p.add_argument("--log", default="/tmp/ravtune/log.jsonl")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--inner", action="store_true",
                   help="test on each fold's validation actors, validate on actors carved from its training ones")
    p.add_argument("--export", metavar="LOG", help="write the ranked summary of LOG to bench/results and exit")
    args = p.parse_args(argv)
    if args.export:
        export(Path(args.export), ROOT / "bench" / "results")
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
