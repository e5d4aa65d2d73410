"""bench/accuracy/meld_text.py: ensembles chosen on validation only, class offsets, the markdown table."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from sklearn.metrics import f1_score

from bench.accuracy import meld_text as mt

LABELS = np.array(["a", "b", "c"])


def _finished_run(work, name: str, val: np.ndarray, dev: np.ndarray, y_val, y_dev) -> mt.Run:
    """A run whose model directory, clean result and cached probabilities exist in ``work``."""
    (work / name).mkdir()
    (work / name / "model.pt").write_bytes(b"")
    (work / f"{name}.clean.json").write_text("{}")
    np.savez(work / f"{name}.clean.probs.npz", labels=LABELS, val=val, dev=dev,
             y_val=np.array(y_val), y_dev=np.array(y_dev))
    return mt.Run(name, "test run")


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
    offsets = mt.meld_ensembles.class_offsets(logits, y)
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
    unfinished = mt.Run("unfinished", "no model directory")
    rows = {r["name"]: r for r in mt.ensembles([good, also, bad, unfinished], tmp_path, tmp_path)}
    assert rows["ensemble-all"]["members"] == ["also", "bad", "good"]
    assert rows["ensemble-val"]["members"] == ["also", "good"]  # `bad` is perfect on dev only
    assert rows["ensemble-val"]["clean"]["val"]["weighted_f1"] == pytest.approx(100.0)
    assert rows["ensemble-val"]["clean"]["dev"]["weighted_f1"] < 100.0


def test_ensembles_need_two_finished_runs(tmp_path):
    one = _finished_run(tmp_path, "one", _probs([0, 1, 2]), _probs([0]), [0, 1, 2], [0])
    assert mt.ensembles([one, mt.Run("other", "unfinished")], tmp_path, tmp_path) == []


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
    md = mt.markdown(results)
    assert "not reached" in md and "`ensemble-val`, dev wF1 **57.0**" in md
    assert "Highest dev wF1 of any row: 58.0 (`top2`, dev-selected;" in md
    # the goal is judged on the validation choice, never on the best dev row
    results["runs"][0]["dev_selected"]["dev"]["weighted_f1"] = 61.0
    assert "Goal dev wF1 >= 60 (judged on the headline): not reached" in mt.markdown(results)
    results["selection"]["clean"]["dev_weighted_f1"] = 60.2
    assert "Goal dev wF1 >= 60 (judged on the headline): reached" in mt.markdown(results)
    rows = {line.split(" | ")[0].strip("| `"): line for line in md.splitlines() if line.startswith("| `")}
    assert rows["top2"].endswith("| 3/5; 6/6 | 200 |")
    assert "`fusion train X` ; `fusion evaluate Y`" in md


def test_a_saved_run_is_reused_for_its_configuration_only(tmp_path):
    run = mt.Run("r", "n", {"finetune_layers": 2}, {"epochs": 3, "lr": 1e-4})
    cfg = mt.experiment(run, tmp_path)
    path = tmp_path / "r.clean.json"
    mt.save(path, cfg, {"dev": 1})
    assert mt.finished(path, cfg) == {"dev": 1}
    older = json.loads(path.read_text())
    del older["config"]["train"]["label_smoothing"]  # written before an option existed: its default applies
    path.write_text(json.dumps(older))
    assert mt.finished(path, cfg) == {"dev": 1}
    assert mt.finished(path, mt.experiment(mt.Run("r", "n", {"finetune_layers": 2}, {"epochs": 3}), tmp_path)) is None
    assert mt.finished(tmp_path / "missing.json", cfg) is None


def test_cached_probabilities_older_than_the_model_are_recomputed(tmp_path):
    from fusion.errors import CheckpointError

    run = _finished_run(tmp_path, "r", _probs([0, 1, 2]), _probs([0]), [0, 1, 2], [0])
    cfg, cache = mt.experiment(run, tmp_path), tmp_path / "r.clean.probs.npz"
    assert mt.meld_ensembles.probabilities(cfg, tmp_path / "r", cache, 0.1)["y_val"].tolist() == [0, 1, 2]
    model = tmp_path / "r" / "model.pt"
    os.utime(model, (cache.stat().st_mtime + 10, cache.stat().st_mtime + 10))  # retrained after the cache
    with pytest.raises(CheckpointError):  # the (fake, empty) model is loaded instead of the stale cache
        mt.meld_ensembles.probabilities(cfg, tmp_path / "r", cache, 0.1)

def test_offsets_row_is_scored_on_validation_out_of_sample():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 400)
    logits = np.eye(3)[y] * 2.0 + rng.normal(0, 0.5, (400, 3))
    logits[:200, 1] += 3.0  # only the first half is biased: offsets fitted on the second half cannot fix it
    crossed = mt.meld_ensembles.cross_fitted_predictions(logits, y)
    second_half_offsets = mt.meld_ensembles.class_offsets(logits[200:], y[200:])
    assert crossed[:200].tolist() == (logits[:200] + second_half_offsets).argmax(1).tolist()
    in_sample = (logits + mt.meld_ensembles.class_offsets(logits, y)).argmax(1)
    assert f1_score(y, crossed, average="weighted") < f1_score(y, in_sample, average="weighted") - 0.05
