"""Fusion on real signals: pseudo-paired RAVDESS x MELD, and every head on the demo corpus.

    .venv/bin/python bench/accuracy/paired_fusion.py [--demo-only | --paired-only]

**Pseudo-paired RAVDESS x MELD** (dataset recipe ``paired-ravdess-meld``, registered in-process).
Each RAVDESS speech clip (actors 01-16; calm dropped: 7 classes, 832 clips) is paired, by label, with
a MELD utterance of the same emotion (neutral-neutral, happy-joy, sad-sadness, angry-anger,
fearful-fear, disgust-disgust, surprised-surprise); the MELD text is the clip's "transcript"
(transcriber ``gold``). Every clip has two fixed partners, chosen once by a seeded deal that does not
depend on the fold: one from MELD train and one from MELD dev. The recipe option ``test_actors``
decides which one becomes the transcript: dev for the clips of the test actors, train for every other
clip. A fold's test clips are exactly its test actors' clips, so the benchmark runs one ablation per
fold (``recipe_options={"test_actors": fold}``, ``test_groups=(fold,)``): test texts come only from
MELD dev, training and validation texts only from MELD train, and the audio is speaker-independent
(actors 01-04 / 05-08 / 09-12 / 13-16). A training clip keeps the same text in every fold where it
trains. (An Utterance has one transcript and fusion.ablation makes the folds after the recipe ran,
so one 4-fold run cannot give a clip a fold-dependent text; the recipe option is the one place
where the fold is known before the transcripts are.) The deal: within an emotion, the MELD pool (sorted by id) is shuffled with a seeded RNG and
dealt to the clips in (actor, clip) order, cycling when the pool is smaller than the clips (MELD dev
has 22 disgust and 40 fear rows for 128 clips each), so uses of a text differ by at most one.
``--train-texts K`` (recipe option ``train_texts``) deals every training/validation clip K consecutive
MELD train texts and lists it K times (same audio): the text models see K times the ~620 texts of a
fold; test clips keep their one dev text. Its tables go to ``paired_fusion_texts{K}.{json,md}``
(``..._seed{N}`` with ``--seed N``, another deal of the texts).

Modes audio / text / fused with the defaults (whisper-encoder, minilm), the fused mode once per head
(audio/text runs are shared). Per fold-run the test ids are checked to be exactly the dev-text clips.
Reported per head: UA mean ± std over the 4 folds, and fused - best unimodal UA with a paired
bootstrap 95% CI over the 832 pooled test predictions (:func:`fusion.ablation.aggregate` on the pooled
run records). Reference row (no head): the equal-weight product of the audio-only and text-only
models' posteriors.

**Demo corpus**: ``fusion ablate --dataset demo --out DIR`` (defaults) plus ``fusion ablate --dataset
demo --head X --modes fused --out DIR_X`` for every other head, on the same folds (``make demo``'s
``runs/demo`` is not reused: it may predate the current head code). ``--heads`` restricts both
benchmarks to some heads (the default head always runs). Writes
bench/results/{paired_fusion,demo_fusion}.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

from fusion import hookimpl
from fusion.data import Utterance
from fusion.errors import DatasetError
from fusion.experiment import DEFAULT_HEAD  # the head `fusion ablate` uses by default
from fusion.recipes import Corpus, prepare_dataset

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
DATASET = "paired-ravdess-meld"
# RAVDESS label -> MELD label; RAVDESS "calm" has no MELD counterpart and is left out.
LABEL_MAP = {"neutral": "neutral", "happy": "joy", "sad": "sadness", "angry": "anger",
             "fearful": "fear", "disgust": "disgust", "surprised": "surprise"}
FOLDS = (("01", "02", "03", "04"), ("05", "06", "07", "08"), ("09", "10", "11", "12"), ("13", "14", "15", "16"))
HEADS = (DEFAULT_HEAD, "concat", "gated", "late", "tensor")
REFERENCE = "product of unimodal posteriors"  # untrained decision fusion of the audio and text runs
TARGET = 0.05  # the default head should beat the best unimodal model by >= 5 UA points
PAIRED_CACHE = "/tmp/fcache"   # whisper-encoder features of the RAVDESS clips are cached here
DEMO_CACHE = "/tmp/democache"  # demo transcripts / features


# ============================================================================ the paired recipe

def deal_partners(clips: list[Utterance], pool: list[Utterance], split: str, seed: int,
                  per_clip: int = 1) -> dict[str, list[Utterance]]:
    """clip id -> the ``per_clip`` MELD utterances of the mapped emotion dealt to it from ``pool`` (one
    MELD split).

    Per emotion: the pool sorted by id, shuffled by ``Random(f"{seed}:{split}:{label}")``, dealt to
    the clips in (speaker, id) order, one text per clip per round, cycled when the pool runs out; a
    clip's texts are distinct while the pool holds at least ``per_clip``. Round 0 is the whole deal of
    ``per_clip=1`` (the n-th clip gets the n-th text), so more texts per clip only add texts.
    """
    by_label: dict[str, list[Utterance]] = defaultdict(list)
    for m in sorted(pool, key=lambda m: m.id):
        by_label[m.label].append(m)
    partners = {}
    for label in sorted({c.label for c in clips}):
        candidates = list(by_label.get(LABEL_MAP[label], []))
        if not candidates:
            raise DatasetError(f"dataset {DATASET!r}: MELD {split} has no {LABEL_MAP[label]!r} utterance "
                               f"to pair with RAVDESS {label!r}")
        random.Random(f"{seed}:{split}:{label}").shuffle(candidates)
        group = sorted((c for c in clips if c.label == label), key=lambda c: (c.speaker, c.id))
        for n, clip in enumerate(group):  # round 0: the n-th clip gets the n-th text
            partners[clip.id] = [candidates[n % len(candidates)]]
        deck = len(group)  # later rounds deal on from the same cycled deck, skipping a clip's own texts
        for _ in range(1, per_clip):
            for clip in group:
                own = {m.id for m in partners[clip.id]}
                while len(own) < len(candidates) and candidates[deck % len(candidates)].id in own:
                    deck += 1
                partners[clip.id].append(candidates[deck % len(candidates)])
                deck += 1
    return partners


def prepare_paired(data_dir: Path, test_actors: tuple[str, ...] | list[str] | str = (), seed: int = 0,
                   train_texts: int = 1) -> Corpus:
    """RAVDESS clips (``data_dir/ravdess``) with MELD texts (``data_dir/meld``) as transcripts.

    ``test_actors``: actors whose clips get their MELD dev partner (test); all others get their MELD
    train partner. ``seed``: the pairing deal. ``extra["meld_split"]`` marks the text's MELD split.
    ``train_texts``: MELD train partners per non-test clip: the clip is listed that many times, same
    audio, one text each (ids ``CLIP``, ``CLIP+t1``, ...); test clips always have one (dev) text.
    """
    data_dir = Path(data_dir)
    if isinstance(train_texts, bool) or not isinstance(train_texts, int) or train_texts < 1:
        raise DatasetError(f"dataset {DATASET!r}: train_texts must be a whole number >= 1, got {train_texts!r}")
    for sub in ("ravdess", "meld"):
        if not (data_dir / sub).is_dir():
            raise DatasetError(f"dataset {DATASET!r}: {data_dir} needs a 'ravdess' and a 'meld' folder "
                               f"(e.g. ../shared/data); {data_dir / sub} is missing")
    ravdess = prepare_dataset("ravdess", data_dir / "ravdess")
    meld = prepare_dataset("meld", data_dir / "meld", with_audio=False)
    skipped = [*ravdess.skipped, *meld.skipped]
    clips = []
    for clip in ravdess:
        if clip.label in LABEL_MAP:
            clips.append(clip)
        else:
            skipped.append((str(clip.audio), f"RAVDESS {clip.label!r} has no MELD emotion to pair with"))
    actors = sorted({c.speaker for c in clips})
    test = set(test_actors.split(",") if isinstance(test_actors, str) else map(str, test_actors)) - {""}
    if test - set(actors):
        raise DatasetError(f"dataset {DATASET!r}: unknown test actor(s) {sorted(test - set(actors))}; "
                           f"valid actors: {', '.join(actors)}")
    partners = {split: deal_partners(clips, [m for m in meld if m.split == split], split, seed,
                                     per_clip=train_texts if split == "train" else 1)
                for split in ("train", "dev")}
    utterances = []
    for clip in clips:
        split = "dev" if clip.speaker in test else "train"
        for k, partner in enumerate(partners[split][clip.id]):
            utterances.append(Utterance(
                id=clip.id if k == 0 else f"{clip.id}+t{k}", audio=clip.audio, label=clip.label,
                speaker=clip.speaker, transcript=partner.transcript, duration=clip.duration,
                extra={**clip.extra, "meld_split": split, "meld_id": partner.id, "meld_label": partner.label,
                       "ravdess_sentence": clip.transcript}))
    return Corpus(utterances, skipped)


class PairedCorpusPlugin:
    """In-process plugin registering the ``paired-ravdess-meld`` recipe."""

    @hookimpl
    def register_datasets(self, register):
        register(DATASET, prepare_paired, protocol="speaker",
                 description="RAVDESS clips paired by emotion with MELD texts (train texts; dev for test_actors)")


def register() -> None:
    """Register the recipe once per process."""
    from fusion.plugins import pm, register_plugin

    if not pm.has_plugin(DATASET):
        register_plugin(PairedCorpusPlugin(), name=DATASET, distribution="bench/accuracy/paired_fusion.py")


# ============================================================================ combining runs

def pool_runs(out: Path, parts: list[tuple[Path, str, int, int]]) -> Path:
    """A run directory for :func:`fusion.ablation.aggregate`: the run records
    ``RUN_DIR/runs/<mode>-s<seed>-f<fold>.json`` of each ``(run_dir, mode, fold, new_fold)`` part,
    copied under ``new_fold`` (the paired benchmark runs each fold as fold 0 of its own ablation)."""
    from fusion.cache import atomic_write_json

    for run_dir, mode, fold, new_fold in parts:
        for path in sorted((run_dir / "runs").glob(f"{mode}-s*-f{fold}.json")):
            record = {**json.loads(path.read_text()), "fold": new_fold}
            atomic_write_json(out / "runs" / f"{mode}-s{record['seed']}-f{new_fold}.json", record)
    return out / "runs"


def head_table(pooled: dict[str, Path], labels: list[str], n_folds: int) -> dict:
    """head -> pooled run dir (audio, text and that head's fused runs) => per-mode metrics and, per head,
    fused - best unimodal (paired bootstrap over the pooled test predictions), as `fusion ablate`."""
    from fusion.runners import aggregate
    from fusion.data import Fold
    from fusion.experiment import ExperimentConfig

    cfg = ExperimentConfig(dataset="pooled", modes=("audio", "text", "fused"))
    folds = [Fold(i, (), (), ()) for i in range(n_folds)]
    results = {head: aggregate(cfg, runs, labels, folds) for head, runs in pooled.items()}

    def model(head: str, mode: str) -> dict:  # the mode's metrics without the training curves (in the run dirs)
        epochs = [json.loads(p.read_text())["best_epoch"] for p in sorted(pooled[head].glob(f"{mode}-s*-f*.json"))]
        return {**{k: v for k, v in results[head]["modes"][mode].items() if k != "curves"}, "best_epochs": epochs}

    unimodal = {m: model(DEFAULT_HEAD, m) for m in ("audio", "text")}
    best = max(unimodal, key=lambda m: unimodal[m]["ua"]["mean"])
    heads = {}
    for head, r in results.items():
        c = r["comparisons"]
        heads[head] = {**model(head, "fused"), "vs_best_unimodal": {"unimodal": best, **c[f"fused_vs_{best}"]},
                       "vs": {m: c[f"fused_vs_{m}"] for m in unimodal},
                       "meets_target": c[f"fused_vs_{best}"]["diff"] >= TARGET}
    return {"unimodal": unimodal, "best_unimodal": best, "heads": heads}


def product_runs(out: Path, unimodal_parts: list[tuple[Path, str, int, int]], labels: list[str]) -> Path:
    """The untrained reference: fused-mode records whose posterior is the normalised product
    p_audio * p_text of the unimodal runs (equal weights), beside copies of those runs."""
    import numpy as np

    from fusion.cache import atomic_write_json
    from fusion.training.metrics import classification_metrics

    runs = pool_runs(out, unimodal_parts)
    for audio_path in sorted(runs.glob("audio-*.json")):
        audio = json.loads(audio_path.read_text())
        text = json.loads((runs / audio_path.name.replace("audio", "text", 1)).read_text())
        if audio["ids"] != text["ids"]:
            raise RuntimeError(f"{audio_path}: audio and text runs were tested on different utterances")
        logp = np.log(np.asarray(audio["probs"]) + 1e-9) + np.log(np.asarray(text["probs"]) + 1e-9)  # [N, C]
        probs = np.exp(logp - logp.max(1, keepdims=True))                                             # [N, C]
        probs /= probs.sum(1, keepdims=True)
        atomic_write_json(runs / audio_path.name.replace("audio", "fused", 1), {
            **audio, "mode": "fused", "curve": [], "best_epoch": None, "probs": np.round(probs, 6).tolist(),
            "metrics": classification_metrics(audio["y_true"], probs.argmax(1), labels)})
    return runs


# ============================================================================ paired benchmark

def recipe_options(test_actors, seed: int, train_texts: int = 1) -> dict:
    """The recipe's options; ``train_texts`` only when > 1, so a one-text run's config is what it always was."""
    return {"test_actors": list(test_actors), "seed": seed, **({"train_texts": train_texts} if train_texts > 1 else {})}


def results_stem(train_texts: int, seed: int) -> str:
    """bench/results file stem: paired_fusion[_texts{K}][_seed{N}]."""
    return "paired_fusion" + (f"_texts{train_texts}" if train_texts > 1 else "") + (f"_seed{seed}" if seed else "")


def paired_title(train_texts: int, seed: int) -> str:
    return ("Fusion on real signals: pseudo-paired RAVDESS x MELD"
            + (f", {train_texts} training texts per clip" if train_texts > 1 else "")
            + (f", pairing seed {seed}" if seed else ""))


def paired_config(fold: tuple[str, ...], head: str, modes: tuple[str, ...], data_dir: Path, seed: int,
                  train_texts: int = 1):
    from fusion.experiment import ExperimentConfig

    return ExperimentConfig(dataset=DATASET, data_dir=str(data_dir), modes=modes, transcriber="gold", head=head,
                            recipe_options=recipe_options(fold, seed, train_texts), test_groups=(fold,))


def check_fold(run_dir: Path, cfg) -> dict:
    """Test ids == the clips with MELD dev texts (test actors only); text overlap with training pairs."""
    from fusion.runners import load_corpus

    utts = load_corpus(cfg)
    dev = {u.id for u in utts if u.extra["meld_split"] == "dev"}
    tested = {i for path in (run_dir / "runs").glob("*.json") for i in json.loads(path.read_text())["ids"]}
    if tested != dev or any(u.speaker not in cfg.test_groups[0] for u in utts if u.id in dev):
        raise RuntimeError(f"{run_dir}: test utterances are not exactly the MELD-dev-text clips of the test actors")
    train_texts = {u.transcript for u in utts if u.id not in dev}
    dev_utts = [u for u in utts if u.id in dev]
    return {"test_actors": list(cfg.test_groups[0]), "n_test": len(dev_utts), "n_train_val": len(utts) - len(dev),
            "test_meld_ids": len({u.extra["meld_id"] for u in dev_utts}),
            "test_texts_seen_verbatim_in_training_pairs": sum(u.transcript in train_texts for u in dev_utts)}


def pairing_stats(data_dir: Path, seed: int, train_texts: int = 1) -> dict:
    """How often each MELD utterance is used, per split (every clip's dev and train partners)."""
    stats = {}
    for split, test_actors in (("train", ()), ("dev", sorted({a for f in FOLDS for a in f}))):
        utts = prepare_dataset(DATASET, data_dir, **recipe_options(test_actors, seed, train_texts))
        uses = Counter(u.extra["meld_id"] for u in utts)
        per_label = defaultdict(set)
        for u in utts:
            per_label[u.label].add(u.extra["meld_id"])
        stats[split] = {"clips": len({u.audio for u in utts}), "pairs": len(utts),
                        "distinct_meld_utterances": len(uses), "max_uses": max(uses.values()),
                        "distinct_per_label": {label: len(ids) for label, ids in sorted(per_label.items())}}
    return stats


def compute_minutes(run_dirs) -> float:
    """Sum of the ablation runs' wall times (minutes), however many invocations they took."""
    return round(sum(json.loads((d / "results.json").read_text())["wall_time_s"] for d in run_dirs) / 60, 1)


def finished(run_dir: Path, cfg) -> bool:
    """``run_dir`` holds a finished ablation (results.json) of exactly ``cfg``."""
    path = run_dir / "results.json"
    return path.is_file() and json.loads(path.read_text())["config"] == cfg.to_dict()


def run_paired(work: Path, data_dir: Path, seed: int, log, heads: tuple[str, ...] = HEADS,
               train_texts: int = 1) -> dict:
    from fusion.runners import run_ablation

    register()
    os.environ["FUSION_CACHE"] = PAIRED_CACHE
    checks, parts = [], defaultdict(list)
    for head in heads:  # the default head (with the unimodal runs) first, on every fold
        for index, fold in enumerate(FOLDS):
            modes = ("audio", "text", "fused") if head == DEFAULT_HEAD else ("fused",)
            cfg = paired_config(fold, head, modes, data_dir, seed, train_texts)
            run_dir = work / f"f{index}-{head}"
            log(f"== paired fold {index} ({','.join(fold)}) head {head} modes {','.join(modes)} -> {run_dir}")
            if not finished(run_dir, cfg):
                run_ablation(cfg, run_dir, log=log)
            if head == DEFAULT_HEAD:
                checks.append({"fold": index, **check_fold(run_dir, cfg)})
            parts[head].append((run_dir, "fused", 0, index))
            parts["unimodal"] += [(run_dir, mode, 0, index) for mode in modes if mode != "fused"]
    pooled = {head: pool_runs(work / f"pooled-{head}", parts[head] + parts["unimodal"]) for head in heads}
    pooled[REFERENCE] = product_runs(work / "pooled-product", parts["unimodal"], sorted(LABEL_MAP))
    table = head_table(pooled, sorted(LABEL_MAP), len(FOLDS))
    table.update(folds=checks, pairing=pairing_stats(data_dir, seed, train_texts), run_dirs=str(work),
                 labels=sorted(LABEL_MAP), label_map=LABEL_MAP, seed=seed, train_texts=train_texts,
                 compute_minutes=compute_minutes(work / f"f{i}-{h}" for i in range(len(FOLDS)) for h in heads))
    return table


# ============================================================================ demo corpus

def demo_config(head: str):
    from fusion.experiment import ExperimentConfig

    default = ExperimentConfig(dataset="demo")
    return default if head == DEFAULT_HEAD else default.replace(head=head, modes=("fused",))


def demo_command(head: str, out: Path) -> list[str]:
    """`fusion ablate` with the defaults (the default head), or ``--head X --modes fused``."""
    flags = [] if head == DEFAULT_HEAD else ["--head", head, "--modes", "fused"]
    return ["fusion", "ablate", "--dataset", "demo", *flags, "--out", str(out)]


def run_demo(work: Path, log, heads: tuple[str, ...] = HEADS) -> dict:
    dirs = {h: work / h for h in heads}  # never `make demo`'s runs/demo: it may predate the current head code
    commands = {}
    for head, run_dir in dirs.items():
        commands[head] = " ".join(demo_command(head, run_dir))
        if finished(run_dir, demo_config(head)):
            log(f"== demo {head}: {run_dir} finished before, reused")
            continue
        log(f"== demo {head}: {commands[head]}")
        cmd = [str(ROOT / ".venv" / "bin" / "fusion"), *demo_command(head, run_dir)[1:], "--threads", "1"]
        subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "FUSION_CACHE": DEMO_CACHE})
    default_results = json.loads((dirs[DEFAULT_HEAD] / "results.json").read_text())
    folds = range(len(default_results["folds"]))
    unimodal = [(dirs[DEFAULT_HEAD], m, f, f) for m in ("audio", "text") for f in folds]
    pooled = {h: pool_runs(work / f"pooled-{h}", unimodal + [(d, "fused", f, f) for f in folds])
              for h, d in dirs.items()}
    pooled[REFERENCE] = product_runs(work / "pooled-product", unimodal, default_results["labels"])
    table = head_table(pooled, default_results["labels"], len(folds))
    table.update(commands=commands, run_dirs={h: str(d) for h, d in dirs.items()},
                 n_utterances=default_results["n_utterances"], excluded=len(default_results["excluded"]),
                 folds=default_results["folds"], ablation_comparisons=default_results["comparisons"],
                 labels=default_results["labels"], compute_minutes=compute_minutes(dirs.values()))
    return table


# ============================================================================ reports

def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def markdown(title: str, intro: list[str], table: dict) -> str:
    lines = [f"# {title}", "", *intro, "",
             "UA = unweighted average recall (%), mean ± std over folds. Δ = fused UA − best unimodal UA "
             "(points, pooled test predictions) with a paired bootstrap 95% CI (1000 resamples); P = P(Δ ≤ 0).", "",
             "| model | UA | WA | macro-F1 | Δ vs best unimodal [95% CI] | P(Δ ≤ 0) | Δ vs audio | Δ vs text | ≥ +5? |",
             "|---|---|---|---|---|---|---|---|---|"]
    for mode, m in table["unimodal"].items():
        best = " (best unimodal)" if mode == table["best_unimodal"] else ""
        lines.append(f"| {mode}-only{best} | {pct(m['ua']['mean'])} ± {pct(m['ua']['std'])} | {pct(m['wa']['mean'])} "
                     f"| {pct(m['macro_f1']['mean'])} | | | | | |")
    for head, m in table["heads"].items():
        c, vs = m["vs_best_unimodal"], m["vs"]
        name = (f"reference: {head}" if head == REFERENCE
                else f"fused: {head}" + (" (default)" if head == DEFAULT_HEAD else ""))
        lines.append(f"| {name} | {pct(m['ua']['mean'])} ± {pct(m['ua']['std'])} | {pct(m['wa']['mean'])} | "
                     f"{pct(m['macro_f1']['mean'])} | {100 * c['diff']:+.1f} [{100 * c['ci_low']:+.1f}, "
                     f"{100 * c['ci_high']:+.1f}] | {c['p_not_better']:.3f} | {100 * vs['audio']['diff']:+.1f} | "
                     f"{100 * vs['text']['diff']:+.1f} | {'yes' if m['meets_target'] else '**no**'} |")
    missed = [h for h, m in table["heads"].items() if h != REFERENCE and not m["meets_target"]]
    lines += ["", "Heads below the +5-point target: " + (", ".join(missed) if missed else "none") + ". The reference "
              "row is no head: the equal-weight product of the audio-only and text-only models' posteriors."]
    n_folds = len(table["folds"])
    lines += ["", "Per-fold UA (%) and the epoch early stopping kept (of at most 40; validation UA):", "",
              "| model | " + " | ".join(f"fold {i}" for i in range(n_folds)) + " | best epochs |",
              "|---|" + "---|" * (n_folds + 1)]
    for name, m in [*table["unimodal"].items(), *table["heads"].items()]:
        epochs = ", ".join("-" if e is None else str(e) for e in m["best_epochs"])
        lines.append(f"| {name} | " + " | ".join(pct(v) for v in m["ua"]["per_fold"]) + f" | {epochs} |")
    return "\n".join(lines) + "\n"


def one_text_comparison(t: dict, one: dict) -> list[str]:
    """For a several-texts run: its UAs beside the one-text run's (same folds, pairing seed, defaults)."""
    def ua(table: dict, model: str) -> float:
        row = table["unimodal"].get(model) or table["heads"][model]
        return 100 * row["ua"]["mean"]

    rows = [("audio-only", "audio"), ("text-only", "text"), (f"{DEFAULT_HEAD} (default head)", DEFAULT_HEAD)]
    best = max((ua(table, m), m, name) for table, name in ((one, "one text"), (t, f"{t['train_texts']} texts"))
               for m in ("audio", "text"))
    return [f"Against the one-text run (`{results_stem(1, one['seed'])}.md`: same folds, pairing seed and training "
            "defaults), fold-mean "
            "UA: " + ", ".join(f"{label} {ua(one, m):.1f} -> {ua(t, m):.1f}" for label, m in rows)
            + f". The default head minus the best unimodal model of either run ({best[1]}, {best[2]}, {best[0]:.1f}): "
            f"{ua(t, DEFAULT_HEAD) - best[0]:+.1f} points.", ""]


def paired_intro(t: dict, command: str, one_text: dict | None = None) -> list[str]:
    p, f = t["pairing"], t["folds"]
    return [f"Generated by `{command}` (ablation runs: {t['compute_minutes']:.0f} min wall time on a shared "
            f"2-core {platform.machine()} CPU, torch threads 1).", "",
            f"Audio: RAVDESS speech, actors 01-16, calm dropped (7 classes, {p['train']['clips']} clips), "
            "speaker-independent "
            "folds by actor group (01-04 / 05-08 / 09-12 / 13-16), validation actors carved from the training "
            "actors. Text: a MELD utterance of the paired emotion (neutral-neutral, happy-joy, sad-sadness, "
            "angry-anger, fearful-fear, disgust-disgust, surprised-surprise), transcriber `gold`; test clips "
            "carry MELD **dev** texts, training/validation clips MELD **train** texts (one ablation run per "
            "fold, recipe option `test_actors`). whisper-encoder + minilm (defaults), default training "
            f"config, seed {t['seed']}.",
            "",
            *([f"**Training texts per clip: {t['train_texts']}.** Every training/validation clip is listed "
               f"{t['train_texts']} times (same audio, {t['train_texts']} different MELD train texts): "
               f"{t['train_texts']}x the text data and {t['train_texts']}x the steps per epoch for every mode; "
               "test clips keep one MELD dev text each, as in the one-text run.", ""]
              if t.get("train_texts", 1) > 1 else []),
            *(one_text_comparison(t, one_text) if one_text and t.get("train_texts", 1) > 1 else []),
            f"Pairing: {p['train']['distinct_meld_utterances']} distinct MELD train utterances for "
            + (f"{p['train']['pairs']} training pairs of " if p["train"].get("pairs", 0) > p["train"]["clips"] else "")
            + f"{p['train']['clips']} clips (max {p['train']['max_uses']} use{'s' if p['train']['max_uses'] > 1 else ''}"
            f"{' each' if p['train']['max_uses'] == 1 else ''}); "
            f"{p['dev']['distinct_meld_utterances']} distinct MELD dev utterances for {p['dev']['clips']} clips "
            f"(max {p['dev']['max_uses']} uses: dev has only {p['dev']['distinct_per_label']['disgust']} disgust "
            f"and {p['dev']['distinct_per_label']['fearful']} fear rows). Test texts whose exact string also "
            f"occurs among the fold's training pairs (short MELD lines such as \"Okay.\"): "
            + ", ".join(f"fold {c['fold']} {c['test_texts_seen_verbatim_in_training_pairs']}/{c['n_test']}"
                        for c in f) + ".",
            "", "The two modalities are real but *independent* given the label (the text says nothing about "
            "the voice): a test of whether a head combines two complementary evidence sources, not a "
            "multimodal corpus."]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--demo-only", action="store_true", help="only the demo-corpus head table")
    only.add_argument("--paired-only", action="store_true", help="only the pseudo-paired RAVDESS x MELD benchmark")
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("FUSION_SHARED") or ROOT.parent / "shared")
                        / "data", help="folder holding ravdess/ and meld/ (default ../shared/data)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/fusion-bench-runs"), help="run directories")
    parser.add_argument("--seed", type=int, default=0, help="pairing seed (the deal of MELD texts to clips)")
    parser.add_argument("--train-texts", type=int, default=1,
                        help="MELD train texts per training clip (paired benchmark; >1 writes paired_fusion_texts{K})")
    parser.add_argument("--heads", default=",".join(HEADS),
                        help=f"comma-separated fusion heads (default: all; {DEFAULT_HEAD} is always run)")
    args = parser.parse_args(argv)
    heads = (DEFAULT_HEAD, *(h for h in args.heads.split(",") if h and h != DEFAULT_HEAD))

    import torch

    torch.set_num_threads(1)
    from fusion.runners import versions
    from fusion.cache import atomic_write_json, atomic_write_text

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    command = "python bench/accuracy/paired_fusion.py" + " ".join([""] + [a for a in (argv or sys.argv[1:])])
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.demo_only:
        k = args.train_texts
        stem = results_stem(k, args.seed)
        table = run_paired(args.work / stem.replace("_fusion", "").replace("_", "-"), args.data_dir, args.seed, log,
                           heads, train_texts=k)
        table.update(benchmark="pseudo-paired RAVDESS x MELD, 7 classes, 4 actor-group folds", command=command,
                     versions=versions(), target_points=100 * TARGET)
        atomic_write_json(RESULTS / f"{stem}.json", table)
        one_path = RESULTS / f"{results_stem(1, args.seed)}.json"
        one = json.loads(one_path.read_text()) if k > 1 and one_path.exists() else None  # one text, same deal
        md = markdown(paired_title(k, args.seed), paired_intro(table, command, one), table)
        atomic_write_text(RESULTS / f"{stem}.md", md)
        print(md)
    if not args.paired_only:
        table = run_demo(args.work / "demo", log, heads)
        table.update(benchmark="demo corpus (synthetic espeak-ng), default ablation + every fusion head",
                     command=command, versions=versions(), target_points=100 * TARGET)
        atomic_write_json(RESULTS / "demo_fusion.json", table)
        intro = [f"Generated by `{command}` (sum of the ablation runs' wall times: "
                 f"{table['compute_minutes']:.0f} min on a shared 2-core {platform.machine()} CPU, torch threads 1). "
                 f"{table['n_utterances']} utterances, {len(table['folds'])} speaker folds, default components "
                 "(faster-whisper transcripts, whisper-encoder, minilm), seed 0. Commands:", "",
                 *[f"* {h}: `{c}`" for h, c in table["commands"].items()]]
        md = markdown("Demo corpus: fused vs unimodal for every fusion head", intro, table)
        atomic_write_text(RESULTS / "demo_fusion.md", md)
        print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
