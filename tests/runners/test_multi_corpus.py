"""One model on several corpora: speaker folds over all of them, per-corpus scores in the ablation results,
the report and evaluation (fake plugins, two synthetic corpora)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fusion.experiment import ExperimentConfig
from fusion.runners import compose_model_dir, evaluate_model_dir, load_run_records, run_ablation, train_model_dir
from fusion.runners.per_corpus import per_corpus_results, per_corpus_scores
from fusion.runners.fit import RunRecord
from fusion.training.trainer import TrainConfig
from tests.fakes import make_synthetic_corpus


@pytest.fixture
def two_corpora(tmp_path):
    """Two synthetic corpora with the same speaker names: one read by the synthetic recipe, one as a manifest."""
    a = make_synthetic_corpus(tmp_path / "a", speakers=4, per_label=3, seed=0)
    b = make_synthetic_corpus(tmp_path / "b", speakers=4, per_label=2, seed=1)
    return [f"synthetic={a}", f"manifest={b / 'manifest.csv'}"]


def _cfg(parts, **kw):
    base = dict(dataset="multi", recipe_options={"parts": parts}, acoustic_encoder="fake-frames",
                text_encoder="fake-bag", transcriber="gold", folds=2,
                train=TrainConfig(epochs=3, batch_size=16, lr=3e-3, patience=2))
    return ExperimentConfig(**{**base, **kw})


def test_per_corpus_scores_split_predictions_by_corpus():
    corpus_of = {"a/1": "a", "a/2": "a", "b/1": "b", "c/1": "c"}
    scores = per_corpus_scores(corpus_of, ["a/1", "b/1", "a/2", "x"], [0, 1, 1, 0], [0, 0, 1, 1], ["p", "q"])
    assert list(scores) == ["a", "b"]  # corpora in order; none for a corpus without predictions (c) or id (x)
    assert scores["a"] == {"ua": 1.0, "wa": 1.0, "macro_f1": 1.0, "n": 2}
    assert scores["b"]["wa"] == 0.0 and scores["b"]["n"] == 1
    records = [RunRecord("audio", 0, 0, ids=["a/1", "b/1"], y_true=[0, 1], probs=[[0.9, 0.1], [0.2, 0.8]]),
               RunRecord("audio", 0, 1, ids=["a/2"], y_true=[1], probs=[[0.6, 0.4]]),
               RunRecord("text", 0, 0, ids=["a/1"], y_true=[0], probs=[[0.1, 0.9]])]
    out = per_corpus_results(records, ["audio", "text"], ["p", "q"], corpus_of)
    assert out["a"]["audio"]["n"] == 2 and out["a"]["audio"]["wa"] == 0.5 and out["a"]["text"]["wa"] == 0.0
    assert out["b"] == {"audio": {"ua": 1.0, "wa": 1.0, "macro_f1": 1.0, "n": 1}}


def test_ablation_on_two_corpora_reports_each(fake_plugins, two_corpora, tmp_path):
    out = tmp_path / "run"
    logs = []
    res = run_ablation(_cfg(two_corpora, modes=("audio", "text")), out, log=logs.append)
    assert any(line == "corpora: synthetic 48, manifest 32" for line in logs)
    folds = json.loads((out / "folds.json").read_text())
    tested = sorted(s for f in folds for s in f["test"])
    assert tested == sorted([f"synthetic/spk{i}" for i in range(4)] + [f"manifest/spk{i}" for i in range(4)])
    per_corpus = res["per_corpus"]
    assert list(per_corpus) == ["synthetic", "manifest"]
    records = load_run_records(out / "runs")
    for mode in ("audio", "text"):
        assert per_corpus["synthetic"][mode]["n"] == 48 and per_corpus["manifest"][mode]["n"] == 32
        for scores in per_corpus.values():
            assert set(scores[mode]) == {"ua", "wa", "macro_f1", "n"} and 0 <= scores[mode]["ua"] <= 1
        # the corpora's accuracies, weighted by their sizes, are the pooled accuracy of the mode
        pooled = np.trace(np.asarray(res["modes"][mode]["confusion"])) / res["modes"][mode]["n"]
        weighted = sum(s[mode]["wa"] * s[mode]["n"] for s in per_corpus.values()) / 80
        assert weighted == pytest.approx(pooled)
        # and each corpus' share is read from the run records' test ids
        ids = [uid for r in records if r.mode == mode for uid in r.ids]
        assert sum(uid.startswith("manifest/") for uid in ids) == per_corpus["manifest"][mode]["n"]
    assert json.loads((out / "results.json").read_text())["per_corpus"] == per_corpus
    report = (out / "report.md").read_text()
    assert "## Per corpus" in report
    row = next(line for line in report.splitlines() if line.startswith("| manifest |"))
    assert row.endswith("| 32 |") and f"{100 * per_corpus['manifest']['text']['ua']:.1f}" in row


def test_a_single_corpus_ablation_has_no_per_corpus_section(fake_plugins, synthetic_corpus, tmp_path):
    cfg = _cfg([], dataset="synthetic", data_dir=str(synthetic_corpus), recipe_options={}, modes=("text",))
    res = run_ablation(cfg, tmp_path / "run", log=lambda s: None)
    assert "per_corpus" not in res and "Per corpus" not in (tmp_path / "run" / "report.md").read_text()


def test_evaluate_on_a_multi_dataset_scores_each_corpus(fake_plugins, two_corpora, tmp_path):
    audio, text = tmp_path / "audio", tmp_path / "text"
    train_model_dir(_cfg(two_corpora, modes=("audio",)), audio, log=lambda s: None)
    train_model_dir(_cfg(two_corpora, modes=("text",)), text, log=lambda s: None)
    m = evaluate_model_dir(text, "multi", recipe_options={"parts": two_corpora}, log=lambda s: None)
    assert list(m["per_corpus"]) == ["synthetic", "manifest"]
    assert m["per_corpus"]["synthetic"]["n"] == 48 and m["per_corpus"]["manifest"]["n"] == 32 and m["n"] == 80
    # a composed model too, on its pooled output
    compose_model_dir(audio, text, tmp_path / "composed", log=lambda s: None)
    c = evaluate_model_dir(tmp_path / "composed", "multi", recipe_options={"parts": two_corpora[1:]},
                           log=lambda s: None)
    assert list(c["per_corpus"]) == ["manifest"] and c["per_corpus"]["manifest"]["n"] == c["n"] == 32
    assert c["per_corpus"]["manifest"]["wa"] == pytest.approx(c["wa"])
    # a single corpus: no per-corpus scores
    assert "per_corpus" not in evaluate_model_dir(text, "synthetic", two_corpora[0].partition("=")[2],
                                                  log=lambda s: None)
