"""The ablation runner: audio-only, text-only and fused models (and the probe) on the same folds.

Every (mode, seed, fold) run is written to ``RUN_DIR/runs/<mode>-s<seed>-f<fold>.json`` (a
:class:`~fusion.runners.fit.RunRecord`) as soon as it finishes; a rerun of the same configuration
skips finished runs (resume after a crash or a kill). ``results.json``, ``report.md`` and the plots
are written atomically at the end. On a CPU the runs train side by side in worker processes, one per
core (:mod:`fusion.training.parallel`); every run seeds itself, so the order does not change its numbers.
With ``augment.copies`` > 0 the perturbed copies of every clip that trains in some pending audio or
fused run are featurized once, before the workers fork (with ``augment.text_copies`` > 0, likewise the
noisy-text copies of every fold's training clips when a text or fused run is pending); a run adds only
the copies of *its* fold's training clips (never of its validation or test clips).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ..cache import atomic_write_json, atomic_write_text, make_key
from ..data import Fold, folds_from_groups, make_folds, manifest_hash
from ..errors import ConfigError
from ..experiment import ExperimentConfig, augment_inputs, prepare_inputs
from ..model import mode_uses
from ..recipes import corpus_names, dataset_protocol
from ..training.device import resolve_runtime
from ..training.parallel import resolve_jobs, run_tasks
from .aggregate import aggregate
from .corpus import load_corpus
from .fit import RunRecord, fit_and_score
from .per_corpus import per_corpus_results
from .probe import PROBE_MODES, chosen_c, probe_and_score
from .provenance import component_versions, versions

RUN_ORDER = ("fused", "audio", "text")  # trainings start longest first (fused trains both encoders' parts)


def run_file(runs_dir: Path, mode: str, seed: int, fold: int) -> Path:
    return runs_dir / f"{mode}-s{seed}-f{fold}.json"


def load_run_records(runs_dir: str | Path) -> list[RunRecord]:
    """Every finished run of a run directory's ``runs/`` folder."""
    return [RunRecord.from_dict(json.loads(p.read_text())) for p in sorted(Path(runs_dir).glob("*-s*-f*.json"))]


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
    config_key = make_key("ablation", cfg.to_dict())
    stamp = out / "config.json"
    if stamp.exists():
        old = json.loads(stamp.read_text())
        if old.get("key") != config_key:
            raise ConfigError(f"{out} holds a run with a different configuration; use another --out "
                              "or delete it")
    atomic_write_text(out / "config.toml", cfg.to_toml())
    atomic_write_json(stamp, {"key": config_key, "config": cfg.to_dict(), "fold_groups": cfg.test_groups})

    utts = load_corpus(cfg)
    labels = tuple(sorted({u.label for u in utts}))
    log(f"{cfg.dataset}: {len(utts)} utterances, {len({u.speaker for u in utts})} speakers, "
        f"{len(labels)} labels")
    corpus_of = corpus_names(utts)  # a multi-corpus dataset: utterance id -> its corpus
    if corpus_of:
        log("corpora: " + ", ".join(f"{name} {n}" for name, n in Counter(corpus_of.values()).items()))
    inputs = prepare_inputs(cfg, utts, labels, progress=progress, log=log)
    if inputs.excluded:
        log(f"warning: excluded {len(inputs.excluded)} utterance(s) from every mode (see results.json 'excluded')")
    utts = inputs.utterances
    protocol = cfg.protocol or dataset_protocol(cfg.dataset)
    folds = ablation_folds(cfg, utts, protocol)
    atomic_write_json(out / "folds.json", [
        {"fold": f.index, "test": list(f.test_groups), "n_train": len(f.train), "n_val": len(f.val),
         "n_test": len(f.test)} for f in folds])

    by_index = {fold.index: fold for fold in folds}
    pending = []  # (seed, fold index, mode)
    for seed in cfg.seeds:
        for fold in folds:
            for mode in cfg.modes:
                if run_file(runs_dir, mode, seed, fold.index).exists():
                    log(f"[{mode} seed {seed} fold {fold.index}] done before, skipped")
                else:
                    pending.append((seed, fold.index, mode))
    # perturbed copies of every clip that trains in a pending audio / fused run (none when augment is off);
    # noisy-text copies of every fold's training clips when a text / fused run is pending: their look-alike
    # vocabulary is then the same whichever runs are left, so a resumed ablation draws the same copies
    augment_inputs(cfg, inputs, sorted({n for _, index, mode in pending if mode_uses(mode, "audio")
                                        for n in by_index[index].train}), progress=progress, log=log,
                   text_indices=sorted({n for fold in folds for n in fold.train})
                   if any(mode_uses(mode, "text") for _, _, mode in pending) else [])

    def run_one(task: tuple[int, int, str], log: Callable[[str], None]) -> None:
        """Train and test one (seed, fold, mode); writes its run file."""
        seed, index, mode = task
        fold = by_index[index]
        tag = f"[{mode} seed {seed} fold {fold.index}]"
        if mode in PROBE_MODES:
            record = probe_and_score(inputs, fold.train, fold.val, fold.test, mode=mode, seed=seed,
                                     fold=fold.index, test_groups=fold.test_groups)
            log(f"{tag} test UA {record.metrics['ua']:.3f} WA {record.metrics['wa']:.3f} "
                f"(C={chosen_c(record)}, val UA {record.best_val_ua:.3f})")
        else:
            n_copies = len(inputs.train_items(fold.train, mode)) - len(fold.train)
            log(f"{tag} train {len(fold.train)} / val {len(fold.val)} / test {len(fold.test)}"
                + (f" (+ {n_copies} augmented training copies)" if n_copies else ""))
            record = fit_and_score(cfg, inputs, mode, fold.train, fold.val, fold.test, seed=seed, fold=fold.index,
                                   test_groups=fold.test_groups, runtime=runtime).record
            log(f"{tag} test UA {record.metrics['ua']:.3f} WA {record.metrics['wa']:.3f} "
                f"(best epoch {record.best_epoch}, val UA {record.best_val_ua:.3f})")
        atomic_write_json(run_file(runs_dir, mode, seed, fold.index), record.to_dict())

    n_jobs = resolve_jobs(jobs, threads, runtime.device.type, len(pending))
    if n_jobs > 1:  # the longest trainings start first: a shorter makespan
        pending.sort(key=lambda task: RUN_ORDER.index(task[2]) if task[2] in RUN_ORDER else len(RUN_ORDER))
        log(f"{len(pending)} trainings in {n_jobs} worker processes (1 torch thread each; --jobs 1 for one process)")
    bar = progress(total=len(pending), desc="trainings", unit="run") if progress and pending else None
    for _ in run_tasks(run_one, pending, n_jobs, log):
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    records = [r for r in load_run_records(runs_dir) if r.seed in cfg.seeds]
    results = aggregate(records, cfg.modes, labels, folds)
    results.update(
        dataset=cfg.dataset, protocol=protocol, metric=cfg.train_config().metric, config=cfg.to_dict(),
        versions=versions(),
        components=component_versions(cfg), manifest_hash=manifest_hash(utts), n_utterances=len(utts),
        excluded=inputs.excluded, cache=inputs.stats, wall_time_s=round(time.perf_counter() - start, 2),
        folds=[{"fold": f.index, "test": list(f.test_groups)} for f in folds],
    )
    if corpus_of:
        results["per_corpus"] = per_corpus_results(records, cfg.modes, labels, corpus_of)
    atomic_write_json(out / "results.json", results)
    from ..report import write_report

    write_report(results, out)
    return results


def ablation_folds(cfg: ExperimentConfig, utts, protocol: str) -> list[Fold]:
    """The configured folds: explicit test groups, or ``cfg.folds`` folds of the protocol."""
    if cfg.test_groups:
        return folds_from_groups(utts, cfg.test_groups, protocol, seed=0, val_fraction=cfg.val_fraction)
    return make_folds(utts, cfg.folds, protocol, seed=0, val_fraction=cfg.val_fraction)
