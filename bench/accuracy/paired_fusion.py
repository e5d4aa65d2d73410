"""Fusion on real signals: pseudo-paired RAVDESS x MELD, and every head on the demo corpus.

    python bench/accuracy/paired_fusion.py [--demo-only | --paired-only] [--train-texts K] [--seed N]
    python bench/accuracy/paired_fusion.py --render-only   # re-render the .md from bench/results/*.json

**Pseudo-paired RAVDESS x MELD** (recipe ``paired-ravdess-meld`` of paired_recipe.py, registered
in-process): each RAVDESS clip's transcript is a MELD text of the same emotion, from MELD dev for the
fold's test actors and MELD train otherwise, so the benchmark runs one ablation per actor-group fold
(``recipe_options={"test_actors": fold}``, ``test_groups=(fold,)``); per fold-run the test ids are
checked to be exactly the dev-text clips. ``--train-texts K`` lists every training clip K times with K
MELD train texts (results ``paired_fusion_texts{K}``; ``..._seed{N}`` with ``--seed N``, another deal).
Modes audio / text / fused with the defaults, the fused mode once per head (audio/text runs shared).

**Demo corpus**: the ablation ``fusion ablate --dataset demo`` (defaults) plus ``--head X --modes
fused`` for every other head, on the same folds. ``--heads`` restricts both benchmarks (the default
head always runs). Per head (head_comparison.py): UA mean ± std over folds and fused - best unimodal
UA with a paired bootstrap 95% CI over the pooled test predictions, beside the product of the
unimodal posteriors. Writes bench/results/{paired_fusion*,demo_fusion}.{json,md}.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
from collections import defaultdict
from pathlib import Path

import support
from head_comparison import DEFAULT_HEAD, TARGET, head_table
from paired_fusion_report import render_demo, render_paired, results_stem
from paired_recipe import DATASET, FOLDS, LABEL_MAP, check_fold, pairing_stats, recipe_options, register

HEADS = (DEFAULT_HEAD, "concat", "gated", "late", "tensor")


def paired_config(fold: tuple[str, ...], head: str, modes: tuple[str, ...], data_dir: Path, seed: int,
                  train_texts: int = 1):
    from fusion.experiment import ExperimentConfig

    return support.as_measured(ExperimentConfig(  # the defaults under which the tables were measured
        dataset=DATASET, data_dir=str(data_dir), modes=modes, transcriber="gold", head=head,
        recipe_options=recipe_options(fold, seed, train_texts), test_groups=(fold,)))


def demo_config(head: str):
    from fusion.experiment import ExperimentConfig

    default = support.as_measured(ExperimentConfig(dataset="demo"))
    return default if head == DEFAULT_HEAD else default.replace(head=head, modes=("fused",))


def demo_command(head: str, out: Path) -> str:
    """The `fusion ablate` command equivalent to :func:`demo_config` (quoted in the report)."""
    flags = "" if head == DEFAULT_HEAD else f" --head {head} --modes fused"
    return f"fusion ablate --dataset demo{flags} --out {out}"


def ablation_records(cfg, run_dir: Path, log, fold: int | None = None) -> list:
    """The run records of ``cfg``'s ablation in ``run_dir`` (run first unless it finished before), as
    fold ``fold`` when given (each paired fold-run is fold 0 of its own ablation)."""
    from fusion.runners import load_run_records, run_ablation

    path = run_dir / "results.json"
    if path.is_file() and json.loads(path.read_text())["config"] == cfg.to_dict():
        log(f"   {run_dir}: finished before, reused")
    else:
        run_ablation(cfg, run_dir, log=log, jobs=1, threads=1)
    records = [r for r in load_run_records(run_dir / "runs") if r.seed in cfg.seeds]
    return records if fold is None else [dataclasses.replace(r, fold=fold) for r in records]


def compute_minutes(run_dirs) -> float:
    """Sum of the ablation runs' wall times (minutes), however many invocations they took."""
    return round(sum(json.loads((d / "results.json").read_text())["wall_time_s"] for d in run_dirs) / 60, 1)


def run_paired(work: Path, data_dir: Path, seed: int, log, heads=HEADS, train_texts: int = 1) -> dict:
    from fusion.runners import load_corpus

    register()
    checks, unimodal, fused = [], [], defaultdict(list)
    for head in heads:  # the default head (with the unimodal runs) first, on every fold
        for index, fold in enumerate(FOLDS):
            modes = ("audio", "text", "fused") if head == DEFAULT_HEAD else ("fused",)
            cfg = paired_config(fold, head, modes, data_dir, seed, train_texts)
            log(f"== paired fold {index} ({','.join(fold)}) head {head} modes {','.join(modes)} "
                f"-> {work / f'f{index}-{head}'}")
            records = ablation_records(cfg, work / f"f{index}-{head}", log, fold=index)
            if head == DEFAULT_HEAD:
                checks.append({"fold": index, **check_fold(load_corpus(cfg), records, fold)})
            fused[head] += [r for r in records if r.mode == "fused"]
            unimodal += [r for r in records if r.mode != "fused"]
    table = head_table(unimodal, fused, sorted(LABEL_MAP), len(FOLDS))
    table.update(folds=checks, pairing=pairing_stats(data_dir, seed, train_texts), run_dirs=str(work),
                 labels=sorted(LABEL_MAP), label_map=LABEL_MAP, seed=seed, train_texts=train_texts,
                 compute_minutes=compute_minutes(work / f"f{i}-{h}" for i in range(len(FOLDS)) for h in heads))
    return table


def run_demo(work: Path, log, heads=HEADS) -> dict:
    dirs = {h: work / h for h in heads}
    fused = {}
    for head, run_dir in dirs.items():
        log(f"== demo {head}: {demo_command(head, run_dir)}")
        records = ablation_records(demo_config(head), run_dir, log)
        fused[head] = [r for r in records if r.mode == "fused"]
        if head == DEFAULT_HEAD:
            unimodal = [r for r in records if r.mode != "fused"]
    default = json.loads((dirs[DEFAULT_HEAD] / "results.json").read_text())
    table = head_table(unimodal, fused, default["labels"], len(default["folds"]))
    table.update(commands={h: demo_command(h, d) for h, d in dirs.items()},
                 run_dirs={h: str(d) for h, d in dirs.items()},
                 n_utterances=default["n_utterances"], excluded=len(default["excluded"]), folds=default["folds"],
                 ablation_comparisons=default["comparisons"], labels=default["labels"],
                 compute_minutes=compute_minutes(dirs.values()))
    return table


def render_all(out: Path, paired: bool = True, demo: bool = True) -> list[Path]:
    """Re-render every paired_fusion*.md / demo_fusion.md of ``out`` from its .json; the paths written."""
    stems = [p.stem for p in sorted(Path(out).glob("paired_fusion*.json"))] if paired else []
    for stem in stems:
        t = support.read_results(out, stem)
        one_path = Path(out) / f"{results_stem(1, t['seed'])}.json"
        one = json.loads(one_path.read_text()) if t.get("train_texts", 1) > 1 and one_path.exists() else None
        support.write_results(out, stem, None, render_paired(t, one))
    if demo and (Path(out) / "demo_fusion.json").exists():
        stems.append("demo_fusion")
        support.write_results(out, "demo_fusion", None, render_demo(support.read_results(out, "demo_fusion")))
    return [Path(out) / f"{stem}.md" for stem in stems]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--demo-only", action="store_true", help="only the demo-corpus head table")
    only.add_argument("--paired-only", action="store_true", help="only the pseudo-paired RAVDESS x MELD benchmark")
    parser.add_argument("--data-dir", type=Path, default=support.shared_data(),
                        help="folder holding ravdess/ and meld/ (default: $FUSION_SHARED/data or ../shared/data)")
    parser.add_argument("--seed", type=int, default=0, help="pairing seed (the deal of MELD texts to clips)")
    parser.add_argument("--train-texts", type=int, default=1,
                        help="MELD train texts per training clip (paired benchmark; >1 writes paired_fusion_texts{K})")
    parser.add_argument("--heads", default=",".join(HEADS),
                        help=f"comma-separated fusion heads (default: all; {DEFAULT_HEAD} is always run)")
    support.add_location_arguments(parser, "paired_fusion")
    args = parser.parse_args(argv)
    if args.render_only:
        for path in render_all(args.out, paired=not args.demo_only, demo=not args.paired_only):
            print(f"rendered {path}")
        return 0
    heads = (DEFAULT_HEAD, *(h for h in args.heads.split(",") if h and h != DEFAULT_HEAD))
    import torch

    from fusion.runners import versions
    from fusion.training.device import keep_freed_memory

    torch.set_num_threads(1)
    keep_freed_memory()  # as `fusion ablate`: training allocates the same large batches every step
    support.use_cache(args.cache)
    command = support.command_line("paired_fusion.py", argv)
    about = lambda: dict(command=command, versions=versions(), target_points=100 * TARGET,  # noqa: E731
                         machine=platform.machine())  # after the runs: versions() lists the in-process recipe
    if not args.demo_only:
        k, stem = args.train_texts, results_stem(args.train_texts, args.seed)
        table = run_paired(args.work_dir / stem.replace("_fusion", "").replace("_", "-"), args.data_dir, args.seed,
                           support.log, heads, train_texts=k)
        table.update(benchmark="pseudo-paired RAVDESS x MELD, 7 classes, 4 actor-group folds", **about())
        one_path = args.out / f"{results_stem(1, args.seed)}.json"
        one = json.loads(one_path.read_text()) if k > 1 and one_path.exists() else None  # one text, same deal
        support.write_results(args.out, stem, table, md := render_paired(table, one))
        print(md)
    if not args.paired_only:
        table = run_demo(args.work_dir / "demo", support.log, heads)
        table.update(benchmark="demo corpus (synthetic espeak-ng), default ablation + every fusion head", **about())
        support.write_results(args.out, "demo_fusion", table, md := render_demo(table))
        print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
