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
from ..errors import DatasetError, LabelMismatchError
from ..experiment import ExperimentConfig, augment_inputs, prepare_inputs
from ..labels import label_map_for, restrict_probs, restriction_note, select_labels
from ..model import EmotionModel, ModelConfig
from ..progress import EpochBar
from ..recipes import Corpus, dataset_protocol, prepare_dataset
from ..training import distributed
from ..training.device import Runtime, resolve_runtime, select_device
from ..training.metrics import classification_metrics
from ..training.trainer import predict_proba
from .corpus import load_corpus
from .fit import fit_and_score
from .speakers import speaker_group
from .provenance import component_versions, versions


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
    inputs = prepare_inputs(cfg, utts, labels, progress=progress, log=log)
    utts = inputs.utterances
    protocol = cfg.protocol or dataset_protocol(cfg.dataset)
    split_seed = cfg.train.seed if cfg.split_seed is None else cfg.split_seed
    tr, va = train_val_split(utts, protocol, seed=split_seed, val_fraction=cfg.val_fraction)
    augment_inputs(cfg, inputs, tr, progress=progress, log=log)  # perturbed copies of the training clips (if on)
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


def experiment_for(model_config: ModelConfig, dataset: str, data_dir) -> ExperimentConfig:
    """The ExperimentConfig that featurizes data exactly as the model was trained."""
    mc = model_config
    kwargs = dict(dataset=dataset, data_dir=None if data_dir is None else str(data_dir), modes=(mc.mode,))
    if mc.uses_audio:
        kwargs.update(acoustic_encoder=mc.acoustic_encoder, acoustic_config=dict(mc.acoustic_config))
    if mc.uses_text:
        kwargs.update(text_encoder=mc.text_encoder, text_config=dict(mc.text_config),
                      transcriber=mc.transcriber or "gold", transcriber_config=dict(mc.transcriber_config))
    return ExperimentConfig(**kwargs)


def evaluate_model_dir(model_dir, dataset: str, data_dir=None, split: str | None = None,
                       label_map: dict | None = None, progress=None, log: Callable[[str], None] = print,
                       device: str | None = None, labels: Sequence[str] | None = None) -> dict:
    """Score a model directory on a corpus (or one ``split`` of it).

    ``label_map`` renames corpus labels (to the model's); ``labels`` keeps only these canonical labels
    (the recipe's map, then ``label_map``, applied as in training: :func:`fusion.labels.select_labels`).
    When the scored labels are a subset of the model's, the decision is restricted to them
    (renormalised probabilities, :func:`fusion.labels.restrict_probs`), logged, and the metrics name
    them under ``restricted_to``; a scored label the model lacks is a LabelMismatchError naming it."""
    model = EmotionModel.load(model_dir).to(select_device(device))
    corpus = prepare_dataset(dataset, data_dir)
    utts, skipped = list(corpus), list(corpus.skipped)
    if split:
        available = sorted({str(u.split) for u in utts})
        utts = [u for u in utts if u.split == split]
        if not utts:
            raise DatasetError(f"dataset {dataset!r} has no split {split!r} in {data_dir}; "
                               f"available: {', '.join(available)}")
    if labels is not None:
        from ..plugins import get_component

        recipe = get_component("dataset", dataset).name
        utts, excluded = select_labels(utts, keep=labels, label_map=label_map_for(recipe, label_map))
        skipped += excluded.items()
    elif label_map:
        utts = [dataclasses.replace(u, label=label_map.get(u.label, u.label)) for u in utts]
    unknown = sorted({u.label for u in utts} - set(model.labels))
    if unknown:
        raise LabelMismatchError(f"labels {unknown} of dataset {dataset!r} are unknown to the model "
                                 f"(model labels: {', '.join(model.labels)}); pass --label-map "
                                 f"CORPUS_LABEL=MODEL_LABEL,... or a [map] TOML file")
    cfg = experiment_for(model.config, dataset, data_dir)
    inputs = prepare_inputs(cfg, Corpus(utts, skipped), model.labels, progress=progress, log=log)
    if inputs.excluded:
        log(f"warning: {len(inputs.excluded)} utterance(s) could not be scored: "
            + "; ".join(f"{k}: {v}" for k, v in list(inputs.excluded.items())[:5]))
    if not inputs.utterances:
        raise DatasetError("no utterance could be scored")
    if model.normalizes_speakers:  # each scored speaker standardised by their own clips (fusion.speaker_norm)
        groups = {u.id: speaker_group(u) for u in inputs.utterances}
        inputs = dataclasses.replace(inputs, audio=model.normalize_speakers({k: inputs.audio[k] for k in groups},
                                                                            groups))
        log(f"speaker normalisation: {len(set(groups.values()))} speaker(s) standardised by their own clips")
    probs = predict_proba(model, inputs.items(range(len(inputs.utterances)), model.config.mode))  # [N, C]
    scored = list(labels) if labels is not None else [l for l in model.labels if l in {u.label for u in inputs.utterances}]
    restricted = scored != list(model.labels)
    if restricted:
        probs = restrict_probs(probs, model.labels, scored)  # [N, K]
        log(restriction_note(model.labels, scored))
    y = [scored.index(u.label) for u in inputs.utterances]
    m = classification_metrics(y, probs.argmax(1), scored)
    if restricted:
        m["restricted_to"] = scored
    m["excluded"] = inputs.excluded
    return m
