"""bench/accuracy/meld_text.py (+ meld_support, meld_report, meld_ensembles): ensembles chosen on validation only, class
offsets, the markdown table, re-rendering the committed results."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

from bench.accuracy import meld_ensembles, meld_text as mt
from bench.accuracy import meld_report as mr
from bench.accuracy import meld_support as ms

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"

LABELS = np.array(["a", "b", "c"])


def _finished_run(work, name: str, val: np.ndarray, dev: np.ndarray, y_val, y_dev) -> ms.Run:
    """A run whose model directory, clean result and cached probabilities exist in ``work``."""
    (work / name).mkdir()
    (work / name / "model.pt").write_bytes(b"")
    (work / f"{name}.clean.json").write_text("{}")
    np.savez(work / f"{name}.clean.probs.npz", labels=LABELS, val=val, dev=dev,
             y_val=np.array(y_val), y_dev=np.array(y_dev))
    return ms.Run(name, "test run")


def _probs(pred: list[int], sharp: float = 0.8, unsure: dict | None = None) -> np.ndarray:
    """Probabilities [N, 3]: ``sharp`` on ``pred``; rows in ``unsure`` {row: class} get 0.5 / 0.4 on that class."""
    p = np.full((len(pred), 3), (1 - sharp) / 2)
    p[np.arange(len(pred)), pred] = sharp
    for row, c in (unsure or {}).items():
        p[row] = 0.1
        p[row, pred[row]], p[row, c] = 0.5, 0.4
    return p  # [N, 3]


def test_class_offsets_fix_a_biased_classifier_on_the_data_they_are_fitted_on():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    logits = np.eye(3)[y] * 2.0 + rng.normal(0, 0.5, (300, 3))
    logits[:, 1] += 3.0  # every row pushed towards class 1
    before = f1_score(y, logits.argmax(1), average="weighted")
    offsets = meld_ensembles.class_offsets(logits, y)
    assert offsets[1] < min(offsets[0], offsets[2])
    assert f1_score(y, (logits + offsets).argmax(1), average="weighted") > before + 0.2


def test_ensemble_members_are_chosen_on_validation_and_dev_never_moves_the_choice(tmp_path):
    y_val, y_dev = [0, 1, 2, 0, 1, 2], [0, 1, 2, 2]
    # each of good/also is wrong once on validation, unsure where the other is sure: together they are right
    good = _finished_run(tmp_path, "good", _probs([0, 1, 2, 0, 1, 1], unsure={5: 2}),
                         _probs([0, 0, 0, 0]), y_val, y_dev)
    also = _finished_run(tmp_path, "also", _probs([0, 1, 2, 0, 2, 2], unsure={4: 1}),
                         _probs([1, 1, 1, 1]), y_val, y_dev)
    bad = _finished_run(tmp_path, "bad", _probs([2, 0, 1, 2, 0, 1], 0.99), _probs([0, 1, 2, 2]), y_val, y_dev)
    unfinished = ms.Run("unfinished", "no model directory")
    rows = {r["name"]: r for r in mt.ensembles([good, also, bad, unfinished], tmp_path, tmp_path)}
    assert rows["ensemble-all"]["members"] == ["also", "bad", "good"]
    assert rows["ensemble-val"]["members"] == ["also", "good"]  # `bad` is perfect on dev only
    assert rows["ensemble-val"]["clean"]["val"]["weighted_f1"] == pytest.approx(100.0)
    assert rows["ensemble-val"]["clean"]["dev"]["weighted_f1"] < 100.0


def test_ensembles_need_two_finished_runs(tmp_path):
    one = _finished_run(tmp_path, "one", _probs([0, 1, 2]), _probs([0]), [0, 1, 2], [0])
    assert mt.ensembles([one, ms.Run("other", "unfinished")], tmp_path, tmp_path) == []


def test_markdown_headline_is_the_validation_choice_not_the_best_dev_row():
    run = {"name": "top2", "note": "n", "commands": ["fusion train X", "fusion evaluate Y"],
           "clean": {"val": {"weighted_f1": 61.0}, "dev": {"weighted_f1": 56.0, "ua": 38.0}, "best_epoch": 3,
                     "epochs_run": 5, "train_seconds": 1000},
           "dev_selected": {"dev": {"weighted_f1": 58.0, "ua": 41.0}, "best_epoch": 6, "epochs_run": 6}}
    ensemble = {"name": "ensemble-val", "note": "e", "clean": {"val": {"weighted_f1": 63.0},
                                                             "dev": {"weighted_f1": 57.0, "ua": 40.0}}}
    results = {"command": "c", "run_minutes": 10.0, "machine": "m", "n_dev": 1109, "baselines": [],
               "runs": [run], "ensembles": [ensemble], "notes": ["a note"],
               "selection": {"clean": {"run": "ensemble-val", "dev_weighted_f1": 57.0}}}
    md = mr.markdown(results)
    assert "not reached" in md and "`ensemble-val`, dev wF1 **57.0**" in md
    assert "Highest dev wF1 of any row: 58.0 (`top2`, dev-selected;" in md
    # the goal is judged on the validation choice, never on the best dev row
    results["runs"][0]["dev_selected"]["dev"]["weighted_f1"] = 61.0
    assert "Goal dev wF1 >= 60 (judged on the headline): not reached" in mr.markdown(results)
    results["selection"]["clean"]["dev_weighted_f1"] = 60.2
    assert "Goal dev wF1 >= 60 (judged on the headline): reached" in mr.markdown(results)
    rows = {line.split(" | ")[0].strip("| `"): line for line in md.splitlines() if line.startswith("| `")}
    assert rows["top2"].endswith("| 3/5; 6/6 | 200 |")
    assert "`fusion train X` ; `fusion evaluate Y`" in md


def test_a_saved_run_is_reused_for_its_configuration_only(tmp_path):
    run = ms.Run("r", "n", {"finetune_layers": 2}, {"epochs": 3, "lr": 1e-4})
    cfg = ms.experiment(run, tmp_path)
    path = tmp_path / "r.clean.json"
    ms.save(path, cfg, {"dev": 1})
    assert ms.finished(path, cfg) == {"dev": 1}
    older = json.loads(path.read_text())
    del older["config"]["train"]["label_smoothing"]  # written before an option existed: its default applies
    path.write_text(json.dumps(older))
    assert ms.finished(path, cfg) == {"dev": 1}
    assert ms.finished(path, ms.experiment(ms.Run("r", "n", {"finetune_layers": 2}, {"epochs": 3}), tmp_path)) is None
    assert ms.finished(tmp_path / "missing.json", cfg) is None


def test_cached_probabilities_older_than_the_model_are_recomputed(tmp_path):
    from fusion.errors import CheckpointError

    run = _finished_run(tmp_path, "r", _probs([0, 1, 2]), _probs([0]), [0, 1, 2], [0])
    cfg, cache = ms.experiment(run, tmp_path), tmp_path / "r.clean.probs.npz"
    assert meld_ensembles.probabilities(cfg, tmp_path / "r", cache, 0.1)["y_val"].tolist() == [0, 1, 2]
    model = tmp_path / "r" / "model.pt"
    os.utime(model, (cache.stat().st_mtime + 10, cache.stat().st_mtime + 10))  # retrained after the cache
    with pytest.raises(CheckpointError):  # the (fake, empty) model is loaded instead of the stale cache
        meld_ensembles.probabilities(cfg, tmp_path / "r", cache, 0.1)

def test_offsets_row_is_scored_on_validation_out_of_sample():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 400)
    logits = np.eye(3)[y] * 2.0 + rng.normal(0, 0.5, (400, 3))
    logits[:200, 1] += 3.0  # only the first half is biased: offsets fitted on the second half cannot fix it
    crossed = meld_ensembles.cross_fitted_predictions(logits, y)
    second_half_offsets = meld_ensembles.class_offsets(logits[200:], y[200:])
    assert crossed[:200].tolist() == (logits[:200] + second_half_offsets).argmax(1).tolist()
    in_sample = (logits + meld_ensembles.class_offsets(logits, y)).argmax(1)
    assert f1_score(y, crossed, average="weighted") < f1_score(y, in_sample, average="weighted") - 0.05


def test_rendering_the_committed_json_reproduces_the_committed_markdown(tmp_path):
    shutil.copy(RESULTS / "meld_text.json", tmp_path)
    assert mt.main(["--render-only", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "meld_text.md").read_bytes() == (RESULTS / "meld_text.md").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meld_text.json", "meld_text.md"]


def test_a_new_run_writes_the_notes_and_protocols_of_the_committed_results():
    committed = json.loads((RESULTS / "meld_text.json").read_text())
    assert mr.notes() == committed["notes"] and ms.PROTOCOL_NOTES == committed["protocols"]
    assert [r["name"] for r in committed["runs"]] == [r.name for r in ms.RUNS]
    for run, row in zip(ms.RUNS, committed["runs"]):
        assert (run.text, run.train, run.head, run.encoder) == (row["text_config"], row["train"], row["head"],
                                                                row["text_encoder"])
        assert row.get("commands", ms.cli_commands(run)) == ms.cli_commands(run)


def test_a_report_without_commands_or_notes_keeps_its_layout():
    results = {"command": "c", "run_minutes": 1.0, "machine": "m", "n_dev": 3, "baselines": [], "runs": [],
               "selection": {}}
    md = mr.markdown(results)
    assert "Highest dev wF1 of any row: nan (`-`, -;" in md
    assert md.endswith("instead of 0.1):\n\n\nNotes:\n\n") and "|---:|\n\n- **clean**" in md


def test_dev_selected_gives_the_numbers_of_the_hand_written_loop(fake_plugins, synthetic_corpus, tmp_path,
                                                                 monkeypatch):
    """run_dev_selected on fit_and_score == the loop meld_text.py wrote out before (on a synthetic corpus)."""
    import dataclasses

    import fusion.runners
    from fusion.experiment import ExperimentConfig, prepare_inputs
    from fusion.model import EmotionModel
    from fusion.recipes import Corpus
    from fusion.training.metrics import classification_metrics
    from fusion.training.trainer import TrainConfig, predict_proba, seed_everything, train

    cfg = ExperimentConfig(dataset="synthetic", data_dir=str(synthetic_corpus), modes=("text",),
                           text_encoder="fake-bag", transcriber="gold",
                           train=TrainConfig(epochs=4, batch_size=16, lr=3e-3, seed=3))
    corpus = fusion.runners.load_corpus(cfg)
    with_splits = Corpus([dataclasses.replace(u, split="dev" if u.speaker in ("spk0", "spk1") else "train")
                          for u in corpus], corpus.skipped)
    monkeypatch.setattr(fusion.runners, "load_corpus", lambda c: with_splits)
    monkeypatch.setattr(ms, "experiment", lambda run, data_dir: cfg)
    got = mt.run_dev_selected(ms.Run("r", "n"), tmp_path, tmp_path)
    assert mt.run_dev_selected(ms.Run("r", "n"), tmp_path, tmp_path) == got  # saved, reused

    labels = tuple(sorted({u.label for u in with_splits}))
    inputs = prepare_inputs(cfg, with_splits, labels)
    train_idx = [n for n, u in enumerate(inputs.utterances) if u.split == "train"]
    dev_idx = [n for n, u in enumerate(inputs.utterances) if u.split == "dev"]
    seed_everything(cfg.train.seed)
    model = EmotionModel(cfg.model_config("text", labels))
    result = train(model, inputs.items(train_idx, "text"), inputs.items(dev_idx, "text"), cfg.train)
    probs = predict_proba(model, inputs.items(dev_idx, "text"))
    y = [labels.index(inputs.utterances[n].label) for n in dev_idx]
    assert got["dev"] == ms.scores(classification_metrics(y, probs.argmax(1), labels))
    assert got["curve_dev_ua"] == [round(100 * r["val_ua"], 2) for r in result.curve]
    assert (got["best_epoch"], got["n_train"], got["n_dev"]) == (result.best_epoch, len(train_idx), len(dev_idx))
