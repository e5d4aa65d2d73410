"""`fusion train`, `fusion evaluate` and `fusion ablate`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from ..errors import ConfigError
from ..overrides import EXPERIMENT_SECTIONS as SET_SECTIONS  # --set prefix -> ExperimentConfig dict field
from ..overrides import apply_sets
from ..progress import progress_bars, stderr_log
from ..training.device import AMP_MODES, DEVICES
from .datasets import MULTI_DATASET, OrderedOptionsCommand, apply_parts, dataset_options
from .options import quiet_option

COMPONENT_OPTIONS = {  # CLI option -> ExperimentConfig field
    "acoustic_encoder": "acoustic_encoder", "text_encoder": "text_encoder",
    "transcriber": "transcriber", "head": "head",
}


def component_options(f):
    """The component/training options shared by train and ablate."""
    opts = [
        click.option("--dataset", multiple=True,
                     help="registered dataset recipe (see `fusion plugins`); repeat it to train on several corpora "
                          "at once (ids and speakers namespaced by corpus, labels mapped to canonical names)"),
        click.option("--data-dir", type=click.Path(), multiple=True,
                     help="corpus folder (default: the recipe's bundled data); with several --dataset, the "
                          "folder of the --dataset just before it"),
        click.option("--acoustic-encoder", help="acoustic encoder name"),
        click.option("--text-encoder", help="text encoder name"),
        click.option("--transcriber", help="speech-to-text name, or 'gold' for the corpus transcript"),
        click.option("--head", help="fusion head for mode fused"),
        click.option("--epochs", type=int, help="maximum epochs"),
        click.option("--config", "config_file", type=click.Path(), help="TOML config (a run's config.toml)"),
        click.option("--set", "sets", multiple=True, metavar="SECTION.KEY=VALUE",
                     help="component/training option, e.g. --set head.n_layers=2 --set train.lr=3e-4 "
                          "--set augment.copies=1 --set transcriber.model=PATH (sections: "
                          + ", ".join(SET_SECTIONS) + ")"),
        click.option("--speakers", help="comma-separated speaker subset"),
        click.option("--labels", "keep_labels", metavar="L1,L2,...",
                     help="keep these canonical labels, e.g. neutral,happy,sad,angry (corpus labels renamed "
                          "through the recipe's map; other utterances are excluded and listed with the reason)"),
        click.option("--label-map", "label_map_file", type=click.Path(dir_okay=False), metavar="FILE.toml",
                     help="a [map] table of corpus label = canonical label, over the recipe's own map"),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def runtime_options(f):
    """--device / --threads (train, ablate, evaluate); see docs/scaling.md."""
    f = click.option("--threads", type=int, help="CPU threads for torch (default: torch's choice)")(f)
    return click.option("--device", type=click.Choice(DEVICES),
                        help="where the trainable model runs (default cpu; auto = cuda if available)")(f)


def amp_option(f):
    """--amp (train, ablate): mixed precision on a GPU."""
    return click.option("--amp", type=click.Choice(AMP_MODES),
                        help="mixed precision (default auto: bf16/fp16 on CUDA, off on cpu)")(f)


def _single_process(command: str) -> None:
    from ..training.distributed import launched_context

    if launched_context().distributed:
        raise ConfigError(f"fusion {command} runs in one process, not under torchrun; only `fusion train` is "
                          "data-parallel (run the seeds / folds of an ablation as separate jobs instead)")


def build_config(config_file, overrides: dict, sets=()):
    from ..experiment import ExperimentConfig

    base = ExperimentConfig.from_toml(config_file).to_dict() if config_file else {}
    for key, value in overrides.items():
        if value is None or key == "parts":
            continue
        if key == "epochs":
            base.setdefault("train", {})["epochs"] = value
        elif key == "seed":
            base.setdefault("train", {})["seed"] = value
        else:
            base[key] = value
    base = apply_sets(base, sets)
    if overrides.get("parts"):  # several --dataset options: one multi-corpus dataset
        apply_parts(base, overrides["parts"], sets)
    if not base.get("dataset"):
        raise ConfigError("--dataset is required (or a --config file that names one)")
    return ExperimentConfig.from_dict(base)


def label_overrides(keep_labels, label_map_file) -> dict:
    """ExperimentConfig fields of --labels / --label-map (unset options are left out)."""
    from ..labels import load_label_map, parse_label_list

    out = {}
    if keep_labels:
        out["labels"] = list(parse_label_list(keep_labels))
    if label_map_file:
        out["label_map"] = load_label_map(label_map_file)
    return out


def _label_map(value: str | None) -> dict:
    """--label-map of evaluate: a TOML file (fusion.labels.load_label_map) or inline SRC=DST pairs."""
    from ..labels import load_label_map

    if not value:
        return {}
    if value.endswith(".toml") or Path(value).is_file():
        return load_label_map(value)
    mapping = {}
    for pair in value.split(","):
        if pair.strip():
            src, eq, dst = pair.partition("=")
            if not eq:
                raise ConfigError(f"--label-map {pair!r}: expected CORPUS_LABEL=MODEL_LABEL or a TOML file")
            mapping[src.strip()] = dst.strip()
    return mapping


def _speakers(value):
    return tuple(s.strip() for s in value.split(",") if s.strip()) if value else None


@click.command(cls=OrderedOptionsCommand)
@component_options
@click.option("--mode", type=click.Choice(["audio", "text", "fused"]), help="which model to train")
@click.option("--seed", type=int, help="random seed")
@click.option("--split-seed", type=int,
              help="seed of the validation carve (default: --seed); fix it to train seed ensembles on one carve")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="model directory to write")
@runtime_options
@amp_option
@quiet_option
def train(dataset, data_dir, acoustic_encoder, text_encoder, transcriber, head, epochs, config_file, sets,
          speakers, keep_labels, label_map_file, mode, seed, split_seed, out_dir, device, threads, amp, quiet):
    """Train one model on a corpus and save a self-contained model directory (also under torchrun)."""
    from ..training.device import keep_freed_memory, set_threads
    from ..training.distributed import launched_context
    from ..runners import train_model_dir

    cfg = build_config(config_file, dict(**dataset_options(dataset, data_dir), acoustic_encoder=acoustic_encoder,
                                         text_encoder=text_encoder, transcriber=transcriber, head=head,
                                         epochs=epochs, seed=seed, split_seed=split_seed,
                                         speakers=_speakers(speakers), modes=[mode] if mode else None,
                                         device=device, amp=amp, **label_overrides(keep_labels, label_map_file)),
                       sets)
    if len(cfg.modes) != 1:
        raise ConfigError("fusion train needs exactly one --mode (audio, text or fused)")
    set_threads(threads)
    keep_freed_memory()  # training allocates the same large batches every step (glibc only)
    metrics = train_model_dir(cfg, out_dir, progress=progress_bars(quiet), log=stderr_log(quiet))
    if launched_context().is_main:
        select = metrics["select"]
        extra = f", {select.replace('_', '-')} {100 * metrics['val'][select]:.1f}%" if select != "ua" else ""
        click.echo(f"saved {out_dir} (validation UA {100 * metrics['val']['ua']:.1f}%{extra})"
                   if metrics.get("val") else f"saved {out_dir}")


@click.command(cls=OrderedOptionsCommand)
@click.argument("model_dir", type=click.Path())
@click.option("--dataset", required=True, multiple=True,
              help="dataset recipe; repeat it (each with its --data-dir) to score on several corpora at once, "
                   "with per-corpus scores")
@click.option("--data-dir", type=click.Path(), multiple=True,
              help="corpus folder; with several --dataset, the folder of the --dataset just before it")
@click.option("--split", help="a predefined split to score (e.g. MELD train/dev/test)")
@click.option("--label-map", help="map corpus labels to model labels: a [map] TOML file, or inline "
                                   "joy=happy,anger=angry")
@click.option("--labels", "keep_labels", metavar="L1,L2,...",
              help="score only these canonical labels (the model's decision is restricted to them)")
@click.option("--transcriber", metavar="NAME|gold",
              help="transcripts the text side reads: a speech-to-text name, or 'gold' for the corpus' own "
                   "(default: the model's transcriber)")
@click.option("--set", "sets", multiple=True, metavar="transcriber.KEY=VALUE",
              help="option of --transcriber, e.g. --set transcriber.model=base")
@click.option("--json", "as_json", is_flag=True, help="print exactly one JSON object")
@runtime_options
@quiet_option
def evaluate(model_dir, dataset, data_dir, split, label_map, keep_labels, transcriber, sets, as_json, device, threads,
             quiet):
    """Score a trained (or composed) model on a corpus: UA, WA, macro/weighted F1, confusion matrix.

    A fused model whose head has per-modality branches, and a composed model, also get the audio
    branch, the text branch and the fused output side by side, with a paired bootstrap CI of
    fused - best branch.
    """
    from ..training.device import set_threads
    from ..runners import evaluate_model_dir

    _single_process("evaluate")

    from ..labels import parse_label_list
    from .options import transcriber_options

    speech = transcriber_options(transcriber, sets)
    mapping = _label_map(label_map)
    chosen = dataset_options(dataset, data_dir)
    recipe_options = {"parts": chosen["parts"]} if "parts" in chosen else None
    set_threads(threads)
    m = evaluate_model_dir(model_dir, MULTI_DATASET if recipe_options else chosen["dataset"], chosen.get("data_dir"),
                           split=split, label_map=mapping,
                           labels=parse_label_list(keep_labels) if keep_labels else None,
                           progress=progress_bars(quiet), log=stderr_log(quiet), device=device,
                           transcriber=transcriber, recipe_options=recipe_options, transcriber_config=speech)
    if as_json:
        keys = ("ua", "wa", "macro_f1", "weighted_f1", "n", "labels", "confusion", "per_class_recall", "excluded",
                "restricted_to", "transcriber", "branches", "fused_vs_best_branch", "composition", "per_corpus")
        click.echo(json.dumps({k: m[k] for k in keys if k in m}))
        return
    for line in _evaluation_lines(m):
        click.echo(line)


def _evaluation_lines(m: dict) -> list[str]:
    from ..runners.branches import branch_table

    lines = [f"n={m['n']}  UA {100 * m['ua']:.1f}  WA {100 * m['wa']:.1f}  macro-F1 {100 * m['macro_f1']:.1f}"
             f"  weighted-F1 {100 * m['weighted_f1']:.1f}"
             + (f"  (transcripts: {m['transcriber']})" if m.get("transcriber") else "")]
    lines.append("per-class recall: " + ", ".join(f"{k} {100 * v:.1f}" for k, v in m["per_class_recall"].items()))
    width = max(len(l) for l in m["labels"])
    lines.append("confusion (rows = true, counts):")
    lines.append(" " * (width + 1) + " ".join(f"{l[:5]:>5}" for l in m["labels"]))
    for label, row in zip(m["labels"], m["confusion_counts"]):
        lines.append(f"{label:>{width}} " + " ".join(f"{c:>5}" for c in row))
    if "composition" in m:
        c = m["composition"]
        w, t = c["weights"], c["temperatures"]
        how = "calibrated" if c["calibrated"] else "equal, uncalibrated"
        if c.get("adapted"):
            how += "; label biases adapted" + (" on these clips, labels unread" if c.get("adapted_on_these_clips") else "")
        lines.append(f"composition: weights audio {w['audio']:.2f} text {w['text']:.2f}, temperatures audio "
                     f"{t['audio']:.2f} text {t['text']:.2f} ({how})")
        if c["cross_fitted"]:
            lines.append(f"cross-fitted: {c['reason']}: {len(c['folds'])} folds over {c['by']}s, each clip "
                         "scored by weights fitted without its fold")
    if "branches" in m:
        lines.append("branch-wise (the same clips):")
        lines.extend(branch_table(m))
    if m.get("per_corpus"):
        from ..runners.per_corpus import per_corpus_lines

        lines.append("per corpus:")
        lines.extend(per_corpus_lines(m["per_corpus"]))
    return lines


@click.command(cls=OrderedOptionsCommand)
@component_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="run directory")
@click.option("--modes", help="comma-separated subset of audio,text,fused, plus probe / text-probe: a "
                                   "logistic-regression probe on the same frozen features and folds")
@click.option("--folds", type=int, help="number of folds")
@click.option("--protocol", type=click.Choice(["speaker", "session", "predefined"]),
              help="fold protocol (default: the dataset's)")
@click.option("--seeds", help="comma-separated seeds, e.g. 1,2,3")
@click.option("--test-groups", help="explicit test speakers per fold, e.g. 01,02,03,04;05,06,07,08 "
                                    "(overrides --folds)")
@click.option("--jobs", type=int, help="worker processes training runs side by side on the CPU (default: one "
                                     "per core, 1 with --threads or a GPU)")
@runtime_options
@amp_option
@quiet_option
def ablate(dataset, data_dir, acoustic_encoder, text_encoder, transcriber, head, epochs, config_file, sets,
           speakers, keep_labels, label_map_file, out_dir, modes, folds, protocol, seeds, test_groups, jobs, device,
           threads, amp, quiet):
    """Train and evaluate audio-only, text-only and fused models on the same speaker-independent folds."""
    from ..runners import run_ablation
    from ..report import comparison_table
    from ..training.device import keep_freed_memory, set_threads

    _single_process("ablate")

    try:
        seed_list = [int(s) for s in seeds.split(",")] if seeds else None
    except ValueError as exc:
        raise ConfigError(f"--seeds {seeds!r}: expected comma-separated integers") from exc
    cfg = build_config(config_file, dict(
        **dataset_options(dataset, data_dir), acoustic_encoder=acoustic_encoder, text_encoder=text_encoder,
        transcriber=transcriber, head=head, epochs=epochs, speakers=_speakers(speakers),
        modes=[m.strip() for m in modes.split(",")] if modes else None, folds=folds, protocol=protocol,
        seeds=seed_list, test_groups=[_speakers(g) for g in test_groups.split(";")] if test_groups else None,
        device=device, amp=amp, **label_overrides(keep_labels, label_map_file)), sets)
    set_threads(threads)
    keep_freed_memory()  # training allocates the same large batches every step (glibc only)
    start = time.perf_counter()
    results = run_ablation(cfg, out_dir, progress=progress_bars(quiet), log=stderr_log(quiet), jobs=jobs,
                           threads=threads)
    click.echo(comparison_table(results))
    for name, c in results["comparisons"].items():
        click.echo(f"{name.replace('_', ' ')}: ΔUA {100 * c['diff']:+.1f} points "
                   f"(95% CI {100 * c['ci_low']:+.1f} to {100 * c['ci_high']:+.1f})")
    click.echo(f"report: {Path(out_dir) / 'report.md'}  plots: {Path(out_dir) / 'plots'}  "
               f"({time.perf_counter() - start:.0f} s)")
