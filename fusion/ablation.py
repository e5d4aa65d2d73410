"""The ablation runner: audio-only, text-only and fused models on the same folds.

Every (mode, seed, fold) run is written to ``RUN_DIR/runs/<mode>-s<seed>-f<fold>.json`` as
soon as it finishes; a rerun of the same configuration skips finished runs (resume after a
crash or a kill). ``results.json``, ``report.md`` and the plots are written atomically at
the end. On a CPU the runs train side by side in worker processes, one per core
(:mod:`fusion.training.parallel`); every run seeds itself, so the order does not change its numbers.
With ``augment.copies`` > 0 the perturbed copies of every clip that trains in some pending audio or
fused run are featurized once, before the workers fork; a run adds only the copies of *its* fold's
training clips (never of its validation or test clips).
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .cache import atomic_write_json, atomic_write_text, make_key
from .data import folds_from_groups, make_folds, manifest_hash
from .errors import ConfigError
from .experiment import ExperimentConfig, augment_inputs, prepare_inputs
from .model import EmotionModel
from .recipes import Corpus, dataset_protocol, prepare_dataset
from .training.device import resolve_runtime
from .training.metrics import bootstrap_difference, classification_metrics
from .training.parallel import resolve_jobs, run_tasks
from .training.trainer import predict_proba, seed_everything, train

METRICS = ("ua", "wa", "macro_f1", "weighted_f1")
RUN_ORDER = ("fused", "audio", "text")  # trainings start longest first (fused trains both encoders' parts)


def versions() -> dict:
    import torch
    import torchaudio

    from . import __version__
    from .plugins import plugin_report

    v = {"fusion": __version__, "python": platform.python_version(), "torch": torch.__version__,
         "torchaudio": torchaudio.__version__}
    for row in plugin_report():
        if row["distribution"] != "fusion-ser":
            v[row["distribution"]] = row["version"]
    return v


def component_versions(cfg: ExperimentConfig) -> dict:
    """role -> {name, plugin, distribution, version} of every component the run uses."""
    from .plugins import get_component, plugin_report

    used = {"dataset": ("dataset", cfg.dataset)}
    if cfg.needs_audio:
        used["acoustic_encoder"] = ("acoustic_encoder", cfg.acoustic_encoder)
    if cfg.needs_text:
        used.update(text_encoder=("text_encoder", cfg.text_encoder), transcriber=("transcriber", cfg.transcriber))
    if "fused" in cfg.modes:
        used["head"] = ("fusion_head", cfg.head)
    if any(m != "fused" for m in cfg.modes):
        used["unimodal_head"] = ("fusion_head", "unimodal")
    plugins = {row["name"]: row for row in plugin_report()}
    out = {}
    for role, (kind, name) in used.items():
        component = get_component(kind, name)
        row = plugins.get(component.plugin, {})
        out[role] = {"name": component.name, "plugin": component.plugin,
                     "distribution": row.get("distribution", "?"), "version": row.get("version", "?")}
    return out


def load_corpus(cfg: ExperimentConfig):
    utts = prepare_dataset(cfg.dataset, cfg.data_dir, **cfg.recipe_options)
    if cfg.speakers:
        keep = set(cfg.speakers)
        utts = Corpus([u for u in utts if u.speaker in keep], utts.skipped)  # skipped files stay reported
        if not utts:
            raise ConfigError(f"no utterances for speakers {sorted(keep)}")
    return utts


def run_ablation(cfg: ExperimentConfig, out_dir: str | Path, *,
                 progress: Callable | None = None, log: Callable[[str], None] = print,
                 jobs: int | None = 1, threads: int | None = None) -> dict:
    """Run every mode x seed x fold; returns the results dict (also written to results.json).

    ``jobs``: worker processes training runs side by side (None = auto, one per CPU core; see
    :func:`fusion.training.parallel.resolve_jobs`); ``threads``: the ``--threads`` the caller set
    (None = torch's default), which makes auto pick one process."""
    start = time.perf_counter()
    runtime = resolve_runtime(cfg.device, cfg.amp)  # where the trainable models run
    out = Path(out_dir)
    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    fold_groups = cfg.test_groups
    config_key = make_key("ablation", cfg.to_dict())
    stamp = out / "config.json"
    if stamp.exists():
        old = json.loads(stamp.read_text())
        if old.get("key") != config_key:
            raise ConfigError(f"{out} holds a run with a different configuration; use another --out "
                              "or delete it")
    atomic_write_text(out / "config.toml", cfg.to_toml())
    atomic_write_json(stamp, {"key": config_key, "config": cfg.to_dict(), "fold_groups": fold_groups})

    utts = load_corpus(cfg)
    labels = tuple(sorted({u.label for u in utts}))
    log(f"{cfg.dataset}: {len(utts)} utterances, {len({u.speaker for u in utts})} speakers, "
        f"{len(labels)} labels")
    inputs = prepare_inputs(cfg, utts, labels, progress=progress, log=log)
    if inputs.excluded:
        log(f"excluded {len(inputs.excluded)} utterance(s) from every mode (see results.json 'excluded')")
    utts = inputs.utterances
    protocol = cfg.protocol or dataset_protocol(cfg.dataset)
    if fold_groups:
        folds = folds_from_groups(utts, fold_groups, protocol, seed=0, val_fraction=cfg.val_fraction)
    else:
        folds = make_folds(utts, cfg.folds, protocol, seed=0, val_fraction=cfg.val_fraction)
    atomic_write_json(out / "folds.json", [
        {"fold": f.index, "test": list(f.test_groups), "n_train": len(f.train), "n_val": len(f.val),
         "n_test": len(f.test)} for f in folds])

    by_index = {fold.index: fold for fold in folds}
    pending = []  # (seed, fold index, mode)
    for seed in cfg.seeds:
        for fold in folds:
            for mode in cfg.modes:
                if (runs_dir / f"{mode}-s{seed}-f{fold.index}.json").exists():
                    log(f"[{mode} seed {seed} fold {fold.index}] done before, skipped")
                else:
                    pending.append((seed, fold.index, mode))
    # perturbed copies of every clip that trains in a pending audio / fused run (none when augment is off)
    augment_inputs(cfg, inputs, sorted({n for _, index, mode in pending if mode in ("audio", "fused")
                                        for n in by_index[index].train}), progress=progress, log=log)

    def run_one(task: tuple[int, int, str], log: Callable[[str], None]) -> None:
        """Train and test one (seed, fold, mode); writes its run file."""
        seed, index, mode = task
        fold = by_index[index]
        train_items = inputs.train_items(fold.train, mode)  # + augmented copies of the fold's training clips
        n_copies = len(train_items) - len(fold.train)
        log(f"[{mode} seed {seed} fold {fold.index}] train {len(fold.train)} / val {len(fold.val)} "
            f"/ test {len(fold.test)}" + (f" (+ {n_copies} augmented training copies)" if n_copies else ""))
        seed_everything(seed)
        model = EmotionModel(cfg.model_config(mode, labels)).to(runtime.device)
        tcfg = cfg.train.__class__(**{**cfg.train.to_dict(), "seed": seed})
        result = train(model, train_items, inputs.items(fold.val, mode), tcfg, amp=runtime.amp)
        probs = predict_proba(model, inputs.items(fold.test, mode))
        y = [labels.index(utts[n].label) for n in fold.test]
        metrics = classification_metrics(y, probs.argmax(1), labels)
        log(f"[{mode} seed {seed} fold {fold.index}] test UA {metrics['ua']:.3f} WA {metrics['wa']:.3f} "
            f"(best epoch {result.best_epoch}, val UA {result.best_val_ua:.3f})")
        atomic_write_json(runs_dir / f"{mode}-s{seed}-f{fold.index}.json", {
            "mode": mode, "seed": seed, "fold": fold.index, "test_groups": list(fold.test_groups),
            **({"n_augmented": n_copies} if n_copies else {}),
            "metrics": metrics, "best_epoch": result.best_epoch, "best_val_ua": result.best_val_ua,
            "curve": result.curve, "refit_epochs": len(result.refit_curve),
            "ids": [utts[n].id for n in fold.test], "y_true": y,
            "probs": np.round(probs, 6).tolist(),
        })

    n_jobs = resolve_jobs(jobs, threads, runtime.device.type, len(pending))
    if n_jobs > 1:  # the longest trainings start first: a shorter makespan
        pending.sort(key=lambda task: RUN_ORDER.index(task[2]) if task[2] in RUN_ORDER else len(RUN_ORDER))
        log(f"{len(pending)} trainings in {n_jobs} worker processes (1 torch thread each; --jobs 1 for one process)")
    for _ in run_tasks(run_one, pending, n_jobs, log):
        pass
    results = aggregate(cfg, runs_dir, labels, folds)
    results.update(
        dataset=cfg.dataset, protocol=protocol, config=cfg.to_dict(), versions=versions(),
        components=component_versions(cfg), manifest_hash=manifest_hash(utts), n_utterances=len(utts),
        excluded=inputs.excluded, cache=inputs.stats, wall_time_s=round(time.perf_counter() - start, 2),
        folds=[{"fold": f.index, "test": list(f.test_groups)} for f in folds],
    )
    atomic_write_json(out / "results.json", results)
    from .report import write_report

    write_report(results, out)
    return results


def _load_runs(runs_dir: Path, mode: str) -> list[dict]:
    return sorted((json.loads(p.read_text()) for p in runs_dir.glob(f"{mode}-s*-f*.json")),
                  key=lambda r: (r["seed"], r["fold"]))


def aggregate(cfg: ExperimentConfig, runs_dir: Path, labels, folds) -> dict:
    modes: dict[str, dict] = {}
    preds: dict[str, dict] = {}
    for mode in cfg.modes:
        runs = [r for r in _load_runs(runs_dir, mode) if r["seed"] in cfg.seeds]
        if not runs:
            continue
        entry: dict = {}
        for metric in METRICS:
            entry[metric] = fold_summary([float(np.mean([r["metrics"][metric] for r in runs if r["fold"] == f.index]))
                                          for f in folds])
        counts = np.sum([r["metrics"]["confusion_counts"] for r in runs], axis=0)
        rows = counts.sum(1, keepdims=True)
        entry["confusion"] = counts.tolist()
        entry["confusion_fraction"] = np.divide(counts, rows, out=np.zeros(counts.shape),
                                                where=rows > 0).round(4).tolist()
        entry["per_class_recall"] = {l: float(entry["confusion_fraction"][i][i]) for i, l in enumerate(labels)}
        entry["n"] = int(counts.sum())
        entry["curves"] = [{"seed": r["seed"], "fold": r["fold"], "curve": r["curve"]} for r in runs]
        if len({r["seed"] for r in runs}) > 1:
            entry["seed_ensemble"] = seed_ensemble(runs, labels, folds)
        modes[mode] = entry
        preds[mode] = {(r["seed"], i): (y, int(np.argmax(p))) for r in runs
                       for i, y, p in zip(r["ids"], r["y_true"], r["probs"])}
    comparisons = {}
    if "fused" in preds:
        for other in ("audio", "text"):
            if other in preds:
                keys = sorted(set(preds["fused"]) & set(preds[other]))
                y = [preds["fused"][k][0] for k in keys]
                comparisons[f"fused_vs_{other}"] = bootstrap_difference(
                    y, [preds["fused"][k][1] for k in keys], [preds[other][k][1] for k in keys])
    return {"labels": list(labels), "modes": modes, "comparisons": comparisons}


def seed_ensemble(runs: list[dict], labels, folds) -> dict:
    """Per fold, the metrics of the seeds' test probabilities averaged per utterance (the ensemble of
    the seeds' models), then mean / std / per_fold over folds, like the per-seed metrics."""
    per_fold = []
    for fold in folds:
        members = [r for r in runs if r["fold"] == fold.index]
        if not members:
            continue
        ids = members[0]["ids"]
        if any(r["ids"] != ids for r in members):
            raise ConfigError(f"ablation: fold {fold.index}'s runs scored different test utterances; "
                              "rerun it in a fresh directory")
        probs = np.mean([np.asarray(r["probs"], dtype=float) for r in members], axis=0)  # [N, C]
        per_fold.append(classification_metrics(members[0]["y_true"], probs.argmax(1), labels))
    ensemble: dict = {metric: fold_summary([float(m[metric]) for m in per_fold]) for metric in METRICS}
    ensemble["seeds"] = sorted({r["seed"] for r in runs})
    return ensemble


def fold_summary(per_fold: list[float]) -> dict:
    """One metric's per-fold values -> {"mean", "std", "per_fold"} (std over folds)."""
    return {"mean": float(np.mean(per_fold)), "std": float(np.std(per_fold)), "per_fold": per_fold}
