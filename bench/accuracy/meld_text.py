"""MELD text-only emotion recognition (7 classes): weighted-F1 on the dev split, through fusion.

    .venv/bin/python bench/accuracy/meld_text.py                # baselines + every run of meld_support.RUNS
    .venv/bin/python bench/accuracy/meld_text.py --quick        # baselines + the frozen-MiniLM run, 3 epochs
    .venv/bin/python bench/accuracy/meld_text.py --render-only  # bench/results/meld_text.md from its .json

Only train_sent_emo.csv and dev_sent_emo.csv exist offline (no test split), so every figure is on
dev, under two protocols, both on the same corpus, labels and splits:

* ``clean``: ``fusion.runners.train_model_dir`` trains on MELD train minus a dialogue-disjoint 10%
  validation slice (``val_fraction=0.1``, the predefined protocol's carve), early-stops on that
  slice, and ``evaluate_model_dir(split="dev")`` scores dev, untouched. The same as
  ``fusion train --config RUN/config.toml`` + ``fusion evaluate RUN --split dev --json``.
  Choosing a run by its validation weighted-F1 keeps dev unseen.
* ``dev_selected``: ``fusion.runners.fit_and_score`` on the whole train split with dev as the
  validation split (early stopping on dev), scored on dev: dev is both the selection and the
  reporting split, so the figure is optimistic (the usual MELD-dev practice without a test split).

Baselines (scikit-learn, same splits): TF-IDF + logistic regression, and frozen MiniLM
(the ``minilm`` encoder's cached featurize output, mean-pooled) + logistic regression, both with
scikit-learn's default C=1, unweighted, fitted on the same training rows as each protocol.
The fusion trainer keeps the epoch with the best validation UA unless a run sets ``train.select``
(``weighted_f1``: MELD's metric); weighted-F1 is reported.
Ensembles (clean only, ``meld_ensembles.py``): the finished clean models' probabilities averaged; the
member subset and per-class log-probability offsets are chosen by validation weighted-F1.

A full run writes ``--out`` (bench/results)/meld_text.json and .md. Model directories and each finished
run's scores go to ``--work-dir`` (default: runs/bench-meld in the repository); a later invocation reuses
a finished run whose configuration is unchanged, so ``--only NAME`` / ``--protocols`` can spread the work
over several invocations (those, and ``--quick``, write their JSON + markdown into the work folder).
Text features are cached per transcript by fusion (``$FUSION_CACHE``), so repeated runs only train.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

try:  # imported as bench.accuracy.meld_text (the tests)
    from . import meld_ensembles
    from . import meld_report as mr
    from . import meld_support as ms
except ImportError:  # run as a script: its own folder is on sys.path
    import meld_ensembles
    import meld_report as mr
    import meld_support as ms


def run_clean(run: ms.Run, data_dir: Path, work: Path) -> dict:
    """train_model_dir (train minus 10% dialogues / early stop on them) + evaluate_model_dir on dev."""
    from fusion.runners import evaluate_model_dir, train_model_dir

    cfg, model_dir = ms.experiment(run, data_dir), work / run.name
    done = ms.finished(work / f"{run.name}.clean.json", cfg)
    if done is not None and (model_dir / "model.pt").is_file():
        return done
    t0 = time.perf_counter()
    metrics = train_model_dir(cfg, model_dir, log=lambda s: print(s, flush=True))
    train_seconds = time.perf_counter() - t0
    dev = evaluate_model_dir(model_dir, "meld", data_dir, split="dev", log=print)
    return ms.save(work / f"{run.name}.clean.json", cfg, {
        "val": ms.scores(metrics["val"]), "dev": ms.scores(dev), "best_epoch": metrics["best_epoch"],
        "epochs_run": len(json.loads((model_dir / "curve.json").read_text())), "n_train": metrics["n_train"],
        "n_val": metrics["n_val"], "n_dev": dev["n"], "train_seconds": round(train_seconds),
        "seconds": round(time.perf_counter() - t0), "model_dir": str(model_dir)})


def run_dev_selected(run: ms.Run, data_dir: Path, work: Path) -> dict:
    """fit_and_score on all of MELD train, early stopping on dev, scored on dev."""
    from fusion.experiment import prepare_inputs
    from fusion.runners import fit_and_score, load_corpus

    cfg = ms.experiment(run, data_dir)
    done = ms.finished(work / f"{run.name}.dev_selected.json", cfg)
    if done is not None:
        return done
    t0 = time.perf_counter()
    utts = load_corpus(cfg)
    inputs = prepare_inputs(cfg, utts, tuple(sorted({u.label for u in utts})), log=print)
    train_idx = [n for n, u in enumerate(inputs.utterances) if u.split == "train"]
    dev_idx = [n for n, u in enumerate(inputs.utterances) if u.split == "dev"]
    fitted = fit_and_score(cfg, inputs, "text", train_idx, dev_idx, dev_idx, log=lambda s: print(s, flush=True))
    curve = fitted.result.curve
    return ms.save(work / f"{run.name}.dev_selected.json", cfg, {
        "dev": ms.scores(fitted.record.metrics), "best_epoch": fitted.result.best_epoch, "epochs_run": len(curve),
        "curve_dev_ua": [round(100 * r["val_ua"], 2) for r in curve], "n_train": len(train_idx),
        "n_dev": len(dev_idx), "seconds": round(time.perf_counter() - t0)})


def ensembles(runs: list[ms.Run], data_dir: Path, work: Path) -> list[dict]:
    """Probability-averaging ensembles of the finished clean runs among ``runs`` (meld_ensembles)."""
    probs = {r.name: meld_ensembles.probabilities(ms.experiment(r, data_dir), work / r.name,
                                                  work / f"{r.name}.clean.probs.npz", ms.VAL_FRACTION)
             for r in runs if (work / r.name / "model.pt").is_file() and (work / f"{r.name}.clean.json").is_file()}
    return meld_ensembles.ensembles(probs, ms.scores)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="baselines + the frozen run for 3 epochs")
    parser.add_argument("--data-dir", type=Path, default=None, help="MELD CSV folder (default ../shared/data/meld)")
    parser.add_argument("--work-dir", "--work", dest="work", type=Path, default=ms.ROOT / "runs" / "bench-meld",
                        help="where the model directories and finished runs go (default: runs/bench-meld)")
    parser.add_argument("--out", type=Path, default=ms.ROOT / "bench" / "results",
                        help="where a full run (and --render-only) writes meld_text.json / .md")
    parser.add_argument("--only", help="comma-separated run names (default: all)")
    parser.add_argument("--protocols", default="clean,dev_selected", help="comma-separated subset")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a long run may take 2)")
    parser.add_argument("--render-only", action="store_true", help="re-render OUT/meld_text.md from its .json")
    args = parser.parse_args(argv)

    from fusion.cache import atomic_write_json, atomic_write_text

    if args.render_only:
        results = json.loads((args.out / "meld_text.json").read_text(encoding="utf-8"))
        atomic_write_text(args.out / "meld_text.md", mr.markdown(results))
        return 0
    import torch

    torch.set_num_threads(args.threads)
    data_dir = args.data_dir or ms.shared_dir() / "data" / "meld"
    if not (data_dir / "train_sent_emo.csv").is_file():
        print(f"MELD CSVs not found in {data_dir} (pass --data-dir)", file=sys.stderr)
        return 2
    runs = ms.QUICK_RUNS if args.quick else ms.RUNS
    if args.only:
        runs = [r for r in runs if r.name in set(args.only.split(","))]
    protocols = args.protocols.split(",")
    work = args.work / ("quick" if args.quick else "full")
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rows = []
    for run in runs:
        row = {"name": run.name, "note": run.note, "text_encoder": run.encoder, "text_config": run.text,
               "train": run.train, "transcriber": run.transcriber, "transcriber_config": run.transcriber_config,
               "head": run.head}
        for protocol in [p for p in protocols if p in run.protocols]:
            print(f"== {run.name} [{protocol}]", flush=True)
            if protocol == "clean":
                row["clean"] = run_clean(run, data_dir, work)
                row["commands"] = ms.cli_commands(run)
            else:
                row["dev_selected"] = run_dev_selected(run, data_dir, work)
            print(f"   dev weighted-F1 {row[protocol]['dev']['weighted_f1']:.1f}", flush=True)
        rows.append(row)
    base = ms.baselines(data_dir, args.work)  # the same for --quick and full runs
    ensemble_rows = [] if args.quick else ensembles(runs, data_dir, work)
    n_dev = next((r[p]["n_dev"] for r in rows for p in ms.PROTOCOLS if p in r), 0)
    results = {
        "dataset": "meld (train_sent_emo.csv, dev_sent_emo.csv)", "metric": "weighted_f1 (percent) on dev",
        "command": "python bench/accuracy/meld_text.py" + (" --quick" if args.quick else ""),
        "quick": args.quick, "val_fraction": ms.VAL_FRACTION, "n_dev": n_dev, "protocols": ms.PROTOCOL_NOTES,
        "selection": mr.selection(rows + ensemble_rows), "baselines": base, "runs": rows, "ensembles": ensemble_rows,
        "minutes": (time.perf_counter() - start) / 60,
        "run_minutes": sum(r[p]["seconds"] for r in rows for p in ms.PROTOCOLS if p in r) / 60,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores shared, torch threads {args.threads}",
        "notes": mr.notes(),
    }
    out = work if args.quick or args.only else args.out  # only a full run writes bench/results
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "meld_text.json", results)
    atomic_write_text(out / "meld_text.md", mr.markdown(results))
    print(f"wrote {out / 'meld_text.json'} and .md", flush=True)
    print(mr.markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
