"""Train one model into a self-contained model directory, and score a model directory on a corpus.

``train_model_dir`` also runs under ``torchrun`` (data-parallel, see fusion.training.distributed):
every rank featurizes its shard and trains on its shard; only rank 0 logs and writes the directory.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from ..cache import atomic_write_json, atomic_write_text
from ..data import manifest_hash, train_val_split
from ..errors import LabelMismatchError
from ..experiment import ExperimentConfig, augment_inputs, prepare_inputs
from ..labels import label_map_for, select_labels
from ..model import EmotionModel, build_component
from ..progress import EpochBar
from ..recipes import Corpus, dataset_protocol
from ..training import distributed
from ..training.device import Runtime, resolve_runtime, select_device
from .composed import is_composed
from .composed_eval import evaluate_composed_dir
from .corpus import load_corpus, recipe_call
from .fit import fit_and_score
from .provenance import component_versions, versions
from .scoring import evaluation_corpus, experiment_for, model_outputs, scored_metrics

__all__ = ["evaluate_model_dir", "experiment_for", "train_model_dir", "write_dir_atomically"]


def write_dir_atomically(out_dir: Path, write: Callable[[Path], None]) -> None:
    """Fill a temporary sibling folder, then swap it into place (a crash leaves the old dir intact)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        write(tmp)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out_dir, old)
            try:
                os.replace(tmp, out_dir)
            except BaseException:
                os.replace(old, out_dir)  # put the previous directory back
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def train_model_dir(cfg: ExperimentConfig, out_dir: str | Path, progress=None,
                    log: Callable[[str], None] = print) -> dict:
    """Train ``cfg.modes[0]`` on the corpus (validation = held-out speakers or the dev split).

    On ``cfg.device`` (mixed precision per ``cfg.amp``); under torchrun on every rank, with
    ``out_dir`` written by rank 0 only (all ranks return once it exists).
    """
    with distributed.process_group(select_device(cfg.device).type) as ctx:
        runtime = resolve_runtime(cfg.device, cfg.amp, index=ctx.local_rank if ctx.distributed else None)
        if not ctx.is_main:
            progress, log = None, lambda msg: None
        return _train_model_dir(cfg, out_dir, ctx, runtime, progress, log)


def _train_model_dir(cfg: ExperimentConfig, out_dir: str | Path, ctx: distributed.RankContext,
                     runtime: Runtime, progress, log: Callable[[str], None]) -> dict:
    mode = cfg.modes[0]
    utts = load_corpus(cfg)
    labels = tuple(sorted({u.label for u in utts}))
    protocol = cfg.protocol or dataset_protocol(cfg.dataset)
    split_seed = cfg.train.seed if cfg.split_seed is None else cfg.split_seed
    tr, va = train_val_split(utts, protocol, seed=split_seed, val_fraction=cfg.val_fraction)
    if len(tr) + len(va) < len(utts):  # a held-out split (predefined protocol) is for `fusion evaluate`
        log(f"{len(utts) - len(tr) - len(va)} utterances of the held-out split are left for fusion evaluate")
    roles = {**{utts[n].id: "train" for n in tr}, **{utts[n].id: "val" for n in va}}
    inputs = prepare_inputs(cfg, Corpus([u for u in utts if u.id in roles], utts.skipped), labels,  # skipped: reported
                            progress=progress, log=log)
    utts = inputs.utterances  # those with every input (the others are listed in inputs.excluded)
    tr = tuple(n for n, u in enumerate(utts) if roles[u.id] == "train")
    va = tuple(n for n, u in enumerate(utts) if roles[u.id] == "val")
    augment_inputs(cfg, inputs, tr, progress=progress, log=log)  # perturbed / noisy-text copies of the training clips
    n_copies = len(inputs.train_items(tr, mode)) - len(tr)
    rank_stats = distributed.gather_objects(inputs.stats)  # cache counts of every rank
    if ctx.distributed:
        for rank, stats in enumerate(rank_stats):
            log(f"rank {rank} cache: " + "; ".join(f"{stage} {s['computed']} computed, {s['cached']} read"
                                                   for stage, s in stats.items()))
    log(f"training {mode} model: {len(tr)} train / {len(va)} validation utterances on {runtime.device}"
        + (f" (+ {n_copies} augmented training copies)" if n_copies else "")
        + (f", {ctx.world_size} processes" if ctx.distributed else "")
        + (f", mixed precision {str(runtime.amp).removeprefix('torch.')}" if runtime.amp else ""))
    with EpochBar(progress, cfg.train.epochs, f"train {mode}") as on_epoch:
        run = fit_and_score(cfg, inputs, mode, tr, va, runtime=runtime, score_val=True, log=log, on_epoch=on_epoch)
    model, result = run.model, run.result
    metrics = {"best_epoch": result.best_epoch, "select": cfg.train_config().metric, "n_train": len(tr),
               "n_val": len(va), "excluded": inputs.excluded}
    if n_copies:
        metrics["n_augmented"] = n_copies
    if "text_augment" in inputs.stats:  # the word error rate the noisy-text copies came out at
        metrics["text_copies_wer"] = inputs.stats["text_augment"]["wer"]
    if ctx.distributed:
        metrics["distributed"] = {"world_size": ctx.world_size, "cache_by_rank": rank_stats}
    if run.val_metrics is not None:
        metrics["val"] = run.val_metrics
    if result.selection_val is not None:  # refit: the refit model has seen the validation speakers
        metrics["refit_epochs"] = len(result.refit_curve)
    model.cpu()  # a portable checkpoint

    def write(d: Path) -> None:
        import io

        buf = io.BytesIO()
        torch.save(model.checkpoint(), buf)
        (d / "model.pt").write_bytes(buf.getvalue())
        atomic_write_text(d / "config.toml", cfg.to_toml())
        atomic_write_json(d / "model.json", {"model": model.config.to_dict(), "versions": versions(),
                                             "components": component_versions(cfg),
                                             "manifest_hash": manifest_hash(utts)})
        atomic_write_json(d / "metrics.json", metrics)
        atomic_write_json(d / "curve.json", result.curve)

    if ctx.is_main:
        write_dir_atomically(Path(out_dir), write)
    distributed.barrier()
    return metrics


def evaluate_model_dir(model_dir, dataset: str, data_dir=None, split: str | None = None,
                       label_map: dict | None = None, progress=None, log: Callable[[str], None] = print,
                       device: str | None = None, labels: Sequence[str] | None = None,
                       transcriber: str | None = None, recipe_options: dict | None = None,
                       transcriber_config: dict | None = None) -> dict:
    """Score a model directory on a corpus (or one ``split`` of it); ``recipe_options`` go to the
    dataset recipe (``multi``: its ``parts``); ``transcriber_config``: options of ``transcriber``.

    ``label_map`` renames corpus labels (to the model's); ``labels`` keeps only these canonical labels
    (the recipe's map, then ``label_map``, applied as in training: :func:`fusion.labels.select_labels`).
    When the scored labels are a subset of the model's, the decision is restricted to them
    (renormalised probabilities, :func:`fusion.labels.restrict_probs`), logged, and the metrics name
    them under ``restricted_to``; a scored label the model lacks is a LabelMismatchError naming it.
    ``transcriber`` (a name, or ``"gold"`` for the corpus' transcripts) replaces the model's own
    speech-to-text; the one read is named under ``transcriber``.

    A fused model whose head has per-modality branches also gets ``branches`` (audio / text / fused
    metrics) and ``fused_vs_best_branch`` (:func:`fusion.runners.branches.branch_comparison`). On a
    multi-corpus dataset, ``per_corpus`` scores each corpus' clips
    (:func:`fusion.runners.per_corpus.per_corpus_scores`). A composed model directory (``fusion
    compose``) is scored by :func:`fusion.runners.composed_eval.evaluate_composed_dir`."""
    if transcriber is not None:  # before any featurization: an unknown name or option is an error naming the valid ones
        build_component("transcriber", transcriber, dict(transcriber_config or {}))  # weights load lazily
    if is_composed(model_dir):
        return evaluate_composed_dir(model_dir, dataset, data_dir, split=split, label_map=label_map,
                                     progress=progress, log=log, device=device, labels=labels,
                                     transcriber=transcriber, recipe_options=recipe_options,
                                     transcriber_config=transcriber_config)
    model = EmotionModel.load(model_dir).to(select_device(device))
    options, label_map = recipe_call(dataset, recipe_options, label_map)
    _, corpus = evaluation_corpus(dataset, data_dir, split, options)
    utts, skipped = list(corpus), list(corpus.skipped)
    if labels is not None:
        from ..plugins import get_component

        recipe = get_component("dataset", dataset).name
        utts, excluded = select_labels(utts, keep=labels, label_map=label_map_for(recipe, label_map))
        skipped += excluded.items()
        if excluded:
            log(f"{len(excluded)} utterance(s) left out: their labels are not among {', '.join(labels)} "
                "(the result's 'excluded' lists them)")
    elif label_map:
        utts = [dataclasses.replace(u, label=label_map.get(u.label, u.label)) for u in utts]
    unknown = sorted({u.label for u in utts} - set(model.labels))
    if unknown:
        raise LabelMismatchError(f"labels {unknown} of dataset {dataset!r} are unknown to the model "
                                 f"(model labels: {', '.join(model.labels)}); pass --label-map "
                                 f"CORPUS_LABEL=MODEL_LABEL,... or a [map] TOML file")
    out = model_outputs(model, Corpus(utts, skipped), dataset, data_dir, transcriber, transcriber_config,
                        progress=progress, log=log, reported=excluded if labels is not None else ())
    scored = list(labels) if labels is not None else [l for l in model.labels if l in {u.label for u in out.utterances}]
    m = scored_metrics(out.utterances, out.probs, out.branches, model.labels, scored, log)
    if not out.branches and model.config.mode == "fused":
        log(f"note: fusion head {model.config.head!r} has no per-modality branches: no branch-wise evaluation "
            "(heads with branches: late, cross-attention)")
    if out.transcriber is not None:
        m["transcriber"] = out.transcriber
    m["excluded"] = out.excluded
    return m
