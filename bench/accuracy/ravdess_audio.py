"""RAVDESS audio-only, 8 classes, 4-fold speaker CV (actors 01-04 / 05-08 / 09-12 / 13-16).

Runs fusion's audio-only ablation for each acoustic encoder, plus a classical baseline
(MFCC + delta statistics -> standardised logistic regression, scikit-learn) on the same folds.
Model selection uses validation speakers carved from the training actors only. The default
acoustic encoder runs with the framework's defaults (exactly ``fusion ablate --modes audio``);
the others keep their own defaults, with ``--epochs`` to bound the CPU-heavy ones.

    python bench/accuracy/ravdess_audio.py [--data-dir ../shared/data/ravdess]
        [--encoders whisper-encoder,cnn,cnn-lstm,lstm] [--epochs N] [--seeds 0,1,2] [--no-baseline]
    python bench/accuracy/ravdess_audio.py --render-only   # the .md again from the committed .json

An encoder entry may carry encoder options, ``NAME:KEY=VALUE[:KEY=VALUE]`` (values parsed as JSON
when they are, e.g. ``whisper-encoder:model=base``); its row is named by the whole entry.
``--set SECTION.KEY=VALUE`` (repeatable, as ``fusion ablate --set``) applies training or component
options to this invocation's encoders; their rows are named ``ENTRY [SECTION.KEY=VALUE, ...]``.

Writes bench/results/ravdess_audio.json and .md (the .md ends with the head of the ranked tuning
log bench/results/ravdess_tuning.json written by bench/accuracy/tune_ravdess.py --export, when present).
Rows of encoders not run this time (and the baseline with --no-baseline) are kept from the existing
.json; every row records the command, seeds and epoch budget that produced it. The ablation run
directories go to ``--work-dir`` (default runs/bench-ravdess in the repository); finished runs are reused.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

try:  # imported as bench.accuracy.ravdess_audio (the tests)
    from . import ravdess_report as rr
    from . import ravdess_support as rs
    from . import support
except ImportError:  # run as a script: its own folder is on sys.path
    import ravdess_report as rr
    import ravdess_support as rs
    import support

classical_baseline = rs.classical_baseline  # unseen_corpus.py imports it from here


def render(out: Path) -> str:
    """Write OUT/ravdess_audio.md from OUT/ravdess_audio.json (+ OUT/ravdess_tuning.json); returns it."""
    from fusion.cache import atomic_write_text

    tuning_path = out / "ravdess_tuning.json"
    tuning = json.loads(tuning_path.read_text()) if tuning_path.exists() else None
    md = rr.audio_markdown(json.loads((out / "ravdess_audio.json").read_text()), tuning)
    atomic_write_text(out / "ravdess_audio.md", md)
    return md


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=rs.default_data_dir(), help="RAVDESS folder (default ../shared/data/ravdess)")
    p.add_argument("--encoders", default="whisper-encoder,cnn,cnn-lstm,lstm")
    p.add_argument("--epochs", type=int, default=None,
                   help="max epochs of the encoders other than the default one (bounds the CPU-heavy ones)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds; per-fold metrics are averaged over them")
    p.add_argument("--no-baseline", action="store_true", help="skip the MFCC + logistic regression baseline")
    p.add_argument("--out", default=str(rs.RESULTS), help="where ravdess_audio.json / .md go (default bench/results)")
    p.add_argument("--work-dir", "--runs", dest="runs", default=str(rs.ROOT / "runs" / "bench-ravdess"),
                   help="where the ablation run dirs go (default runs/bench-ravdess)")
    p.add_argument("--render-only", "--markdown-only", dest="render_only", action="store_true",
                   help="re-render the .md from the existing .json")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="training/component option for this invocation's encoders, as `fusion ablate --set`")
    args = p.parse_args(argv)
    if args.render_only:
        render(Path(args.out))
        return 0

    import torch

    torch.set_num_threads(1)
    from fusion.cache import atomic_write_text
    from fusion.experiment import DEFAULT_ACOUSTIC_ENCODER, ExperimentConfig
    from fusion.overrides import apply_sets
    from fusion.runners import load_corpus, run_ablation
    from fusion.training.trainer import TrainConfig

    seeds = tuple(int(s) for s in args.seeds.split(","))
    command = ("python bench/accuracy/ravdess_audio.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    results = {"benchmark": "ravdess-audio-8class-4fold", "folds": rs.FOLDS, "seeds": list(seeds),
               "target_ua": rr.TARGET_UA, "references_ua": rr.REFERENCES, "encoders": {}}
    previous_path = Path(args.out) / "ravdess_audio.json"
    previous = json.loads(previous_path.read_text()) if previous_path.exists() else {}
    previous_rows = previous.get("encoders", {})
    kept = rs.kept_rows(previous, args)
    base = ExperimentConfig(dataset="ravdess", data_dir=args.data_dir, modes=("audio",), seeds=seeds,
                            test_groups=tuple(tuple(f) for f in rs.FOLDS))
    if not args.no_baseline:
        start = time.perf_counter()
        baseline = results["encoders"][rs.BASELINE_ROW] = rs.classical_baseline(load_corpus(base), rs.FOLDS)
        baseline.update(wall_time_s=round(time.perf_counter() - start, 1), command=command)
        print("baseline", baseline["ua"], file=sys.stderr)
    for enc in args.encoders.split(","):
        name, options = rs.encoder_entry(enc)
        bounded = args.epochs is not None and name != DEFAULT_ACOUSTIC_ENCODER
        cfg = support.as_measured(base.replace(acoustic_encoder=name, acoustic_config=options,  # as measured
                                               train=TrainConfig(epochs=args.epochs) if bounded else TrainConfig()))
        if args.sets:
            cfg = ExperimentConfig.from_dict(apply_sets(cfg.to_dict(), args.sets))
        row = rs.row_name(enc, args.sets)
        run_dir = Path(args.runs) / ("ravdess-audio-" + "-".join([enc.replace(":", "-"), *args.sets])) / (
            "s" + "-".join(map(str, seeds)))
        reused = len(list((run_dir / "runs").glob("audio-s*-f*.json")))  # finished before: not retrained
        t0 = time.perf_counter()
        res = run_ablation(cfg, run_dir, log=lambda s: print(s, file=sys.stderr))
        m = res["modes"]["audio"]
        results["encoders"][row] = {k: m[k] for k in ("ua", "wa", "macro_f1", "weighted_f1")}
        if "seed_ensemble" in m:  # several seeds: their models' probabilities averaged per clip
            results["encoders"][row]["seed_ensemble"] = m["seed_ensemble"]
        results["encoders"][row].update(val_ua=rs.best_val_ua(run_dir, seeds), per_class_recall=m["per_class_recall"],
                                        wall_time_s=round(time.perf_counter() - t0, 1), config=res["config"],
                                        components=res.get("components"), seeds=list(seeds), command=command,
                                        features_computed=res["cache"].get("audio", {}).get("computed", 0),
                                        runs_reused=reused)
        if reused == len(seeds) * len(rs.FOLDS):  # nothing trained now: the time of the run that trained them
            results["encoders"][row]["wall_time_s"] = previous_rows.get(row, {}).get("wall_time_s")
    results["encoders"] = {**kept, **results["encoders"]}
    results["encoders"] = dict(sorted(results["encoders"].items(), key=lambda kv: rs.row_order(kv[0])))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results["command"] = command
    atomic_write_text(out / "ravdess_audio.json", json.dumps(results, indent=2) + "\n")
    print(render(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
