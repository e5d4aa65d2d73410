"""bench/accuracy/tune_ravdess.py: --inner folds, the search loop on fit_and_score, the tuning report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from fusion.data import Utterance, folds_from_groups

from bench.accuracy import ravdess_support as rs
from bench.accuracy import tune_ravdess as tr

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


def test_inner_folds_test_on_the_validation_speakers_and_never_touch_the_test_speakers():
    speakers = [f"{i:02d}" for i in range(1, 17)]
    utts = [Utterance(id=f"{s}-{k}", audio=None, label="ab"[k % 2], speaker=s) for s in speakers for k in range(4)]
    test_groups = [speakers[i:i + 4] for i in range(0, 16, 4)]
    outer = folds_from_groups(utts, test_groups, "speaker", seed=0, val_fraction=0.15)
    inner = rs.inner_folds(utts, outer, "speaker", 0.15)
    for o, f in zip(outer, inner):
        spk = lambda idx: {utts[n].speaker for n in idx}  # noqa: E731
        assert f.test == o.val and set(f.test_groups) == spk(o.val)
        assert set(f.train) | set(f.val) == set(o.train)              # carved from the training speakers
        assert not spk(f.train) & spk(f.val) and len(spk(f.val)) == 2  # speaker-disjoint, 10 -> 8 + 2
        assert not (set(f.train) | set(f.val) | set(f.test)) & set(o.test)


def _hand_written_search(cfg, inputs, folds, labels, seeds):
    """The search loop as tune_ravdess.py wrote it out before fusion.runners.fit_and_score."""
    from fusion.model import EmotionModel
    from fusion.training.metrics import classification_metrics
    from fusion.training.trainer import predict_proba, seed_everything, train

    rows = []
    for fold in folds:
        y = [labels.index(inputs.utterances[n].label) for n in fold.test]
        tr_items, va, te = (inputs.items(ix, "audio") for ix in (fold.train, fold.val, fold.test))
        probs, vals, tests, epochs = [], [], [], []
        for seed in seeds:
            seed_everything(seed)
            model = EmotionModel(cfg.model_config("audio", labels))
            result = train(model, tr_items, va, cfg.train.__class__(**{**cfg.train.to_dict(), "seed": seed}))
            p = predict_proba(model, te)
            probs.append(p)
            vals.append(result.best_val_ua)
            tests.append(classification_metrics(y, p.argmax(1), labels)["ua"])
            epochs.append(result.best_epoch)
        ens = classification_metrics(y, np.mean(probs, 0).argmax(1), labels)["ua"]
        rows.append({"val_ua": float(np.mean(vals)), "test_ua": float(np.mean(tests)), "ensemble_test_ua": ens,
                     "best_epochs": epochs})
    return rows


def test_the_search_gives_the_numbers_of_the_hand_written_loop(fake_plugins, synthetic_corpus):
    from fusion.data import make_folds
    from fusion.experiment import ExperimentConfig, prepare_inputs
    from fusion.runners import load_corpus
    from fusion.training.trainer import TrainConfig

    from fusion.speaker_norm import SpeakerNormConfig

    base = ExperimentConfig(dataset="synthetic", data_dir=str(synthetic_corpus), modes=("audio",),
                            acoustic_encoder="fake-frames", speaker_norm=SpeakerNormConfig(enabled=False))
    utts = load_corpus(base)
    labels = tuple(sorted({u.label for u in utts}))
    inputs = prepare_inputs(base, utts, labels)
    folds = make_folds(inputs.utterances, 2, "speaker", seed=0, val_fraction=base.val_fraction)
    spec = {"name": "x", "head": {"dropout": 0.2}, "train": {"epochs": 3, "batch_size": 16, "lr": 3e-3},
            "seeds": [0, 1]}
    res = tr.evaluate(base, inputs, folds, labels, spec)
    cfg = base.replace(unimodal_config={"dropout": 0.2}, train=TrainConfig(epochs=3, batch_size=16, lr=3e-3))
    assert res["folds"] == _hand_written_search(cfg, inputs, folds, labels, [0, 1])
    assert res["test_ua"] == float(np.mean([r["test_ua"] for r in res["folds"]]))
    one_seed = tr.evaluate(base, inputs, folds, labels, {**spec, "seeds": [1]})
    assert [r["best_epochs"] for r in one_seed["folds"]] == [r["best_epochs"][1:] for r in res["folds"]]


def test_rendering_the_committed_json_reproduces_the_committed_markdown(tmp_path):
    shutil.copy(RESULTS / "ravdess_tuning.json", tmp_path)
    assert tr.main(["--render-only", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "ravdess_tuning.md").read_bytes() == (RESULTS / "ravdess_tuning.md").read_bytes()


def test_export_of_the_search_log_writes_the_committed_json_and_markdown(tmp_path):
    committed = json.loads((RESULTS / "ravdess_tuning.json").read_text())
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in committed["inner_runs"] + committed["runs"]))
    assert tr.main(["--export", str(log), "--out", str(tmp_path / "out")]) == 0
    for name in ("ravdess_tuning.json", "ravdess_tuning.md"):
        assert (tmp_path / "out" / name).read_bytes() == (RESULTS / name).read_bytes()
