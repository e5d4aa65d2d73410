"""End-to-end ablation on a synthetic corpus with in-process fake plugins."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fusion.runners import run_ablation
from fusion.errors import ConfigError
from fusion.experiment import ExperimentConfig
from fusion.training.trainer import TrainConfig

ROOT = Path(__file__).resolve().parents[2]


def _cfg(data_dir, **kw):
    base = dict(dataset="synthetic", data_dir=str(data_dir), acoustic_encoder="fake-frames",
                text_encoder="fake-bag", transcriber="gold", head="concat", folds=3,
                train=TrainConfig(epochs=6, batch_size=16, lr=3e-3, patience=3))
    base.update(kw)
    return ExperimentConfig(**base)


def test_ablation_end_to_end_and_resume(fake_plugins, synthetic_corpus, tmp_path):
    out = tmp_path / "run"
    logs = []
    res = run_ablation(_cfg(synthetic_corpus), out, log=logs.append)
    assert set(res["modes"]) == {"audio", "text", "fused"}
    for mode, m in res["modes"].items():
        for metric in ("ua", "wa", "macro_f1", "weighted_f1"):
            assert 0 <= m[metric]["mean"] <= 1 and len(m[metric]["per_fold"]) == 3
        assert m["n"] == 96  # every utterance tested exactly once
    assert res["modes"]["fused"]["ua"]["mean"] > 0.25  # above chance on a learnable corpus
    assert set(res["comparisons"]) == {"fused_vs_audio", "fused_vs_text"}
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["modes"]["fused"]["ua"]["mean"] == pytest.approx(res["modes"]["fused"]["ua"]["mean"])
    assert on_disk["versions"]["torch"] and on_disk["manifest_hash"]
    report = (out / "report.md").read_text()
    assert "| fused |" in report and "bootstrap" in report
    for name in ("modes.png", "confusion_audio.png", "confusion_text.png", "confusion_fused.png",
                 "training_curves.png"):
        assert (out / "plots" / name).stat().st_size > 1000
    # folds: no speaker in two of train/val/test, every speaker tested once
    folds = json.loads((out / "folds.json").read_text())
    tested = [s for f in folds for s in f["test"]]
    assert sorted(tested) == sorted(set(tested)) and len(tested) == 6
    # resume: a rerun trains nothing and recomputes no feature
    logs2 = []
    res2 = run_ablation(_cfg(synthetic_corpus), out, log=logs2.append)
    assert sum("skipped" in line for line in logs2) == 9
    assert res2["cache"]["audio"]["computed"] == 0 and res2["cache"]["text"]["computed"] == 0
    assert res2["modes"]["fused"]["ua"] == res["modes"]["fused"]["ua"]
    # a deleted run file (a crash mid-fold) is recomputed alone, with the same numbers
    (out / "runs" / "fused-s0-f1.json").unlink()
    logs3 = []
    res3 = run_ablation(_cfg(synthetic_corpus), out, log=logs3.append)
    assert sum("skipped" in line for line in logs3) == 8
    assert res3["modes"]["fused"]["ua"] == res["modes"]["fused"]["ua"]


def test_refit_ablation_records_the_refit_epochs_per_run(fake_plugins, synthetic_corpus, tmp_path):
    cfg = _cfg(synthetic_corpus, modes=("audio",), folds=2,
               train=TrainConfig(epochs=4, batch_size=16, lr=3e-3, patience=2, refit=True))
    run_ablation(cfg, tmp_path / "run", log=lambda s: None)
    runs = [json.loads(p.read_text()) for p in sorted((tmp_path / "run" / "runs").glob("audio-*.json"))]
    assert len(runs) == 2
    assert all(r["refit_epochs"] == r["best_epoch"] >= 1 for r in runs)


def test_changed_config_refuses_to_mix_runs(fake_plugins, synthetic_corpus, tmp_path):
    from fusion.errors import ConfigError

    out = tmp_path / "run"
    run_ablation(_cfg(synthetic_corpus, modes=("audio",), folds=2), out, log=lambda s: None)
    with pytest.raises(ConfigError, match="different configuration"):
        run_ablation(_cfg(synthetic_corpus, modes=("audio",), folds=3), out, log=lambda s: None)


def test_config_toml_round_trip(synthetic_corpus):
    cfg = _cfg(synthetic_corpus, head_config={"hidden": 64}, seeds=(1, 2))
    from fusion.experiment import ExperimentConfig as EC

    path = Path(synthetic_corpus) / "c.toml"
    path.write_text(cfg.to_toml())
    assert EC.from_toml(path) == cfg


RUNNER = """
import sys
from fusion.plugins import register_plugin
from tests.fakes import FakePlugin
register_plugin(FakePlugin(), name="fakes")
from fusion.cli import main
main(sys.argv[1:])
"""


def _cli(args, env, **kw):
    return subprocess.Popen([sys.executable, "-c", RUNNER, *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.mark.slow
def test_sigkill_mid_ablation_then_resume_matches_uninterrupted(synthetic_corpus, tmp_path):
    env = {**os.environ, "FUSION_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    common = ["ablate", "--dataset", "synthetic", "--data-dir", str(synthetic_corpus),
              "--acoustic-encoder", "fake-frames", "--text-encoder", "fake-bag", "--transcriber", "gold",
              "--head", "concat", "--folds", "3", "--epochs", "6"]
    ref = _cli([*common, "--out", str(tmp_path / "ref")], env)
    assert ref.wait(600) == 0, ref.stderr.read()
    killed = tmp_path / "killed"
    proc = _cli([*common, "--out", str(killed)], env)
    deadline = time.time() + 300
    while time.time() < deadline and len(list((killed / "runs").glob("*.json"))) < 2 if (killed / "runs").exists() \
            else time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list((killed / "runs").glob("*.json")))
    assert 0 < done_before < 9 and not (killed / "results.json").exists()
    again = _cli([*common, "--out", str(killed)], env)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert err.count("skipped") == done_before
    a = json.loads((tmp_path / "ref" / "results.json").read_text())
    b = json.loads((killed / "results.json").read_text())
    assert a["modes"] == b["modes"]


def test_seed_ensemble_averages_probabilities_per_utterance():
    """Two seeds that each get one of two utterances wrong, confidently right on the other: the
    averaged probabilities get both right, so the ensemble beats every member."""
    from types import SimpleNamespace

    import dataclasses

    from fusion.runners import RunRecord
    from fusion.runners.aggregate import seed_ensemble

    labels = ("a", "b")
    folds = [SimpleNamespace(index=0)]

    def run(seed, probs):
        return RunRecord(mode="audio", seed=seed, fold=0, ids=["u1", "u2"], y_true=[0, 1], probs=probs)

    runs = [run(0, [[0.9, 0.1], [0.6, 0.4]]), run(1, [[0.4, 0.6], [0.1, 0.9]])]
    ens = seed_ensemble(runs, labels, folds)
    assert ens["ua"]["per_fold"] == [1.0] and ens["seeds"] == [0, 1]
    assert ens["wa"]["mean"] == 1.0

    swapped = [runs[0], dataclasses.replace(runs[1], ids=["u2", "u1"])]
    with pytest.raises(ConfigError, match="fold 0.*different test utterances"):
        seed_ensemble(swapped, labels, folds)


def test_ablation_with_two_seeds_reports_their_ensemble(fake_plugins, synthetic_corpus, tmp_path):
    cfg = _cfg(synthetic_corpus, modes=("audio",), seeds=(0, 1))
    res = run_ablation(cfg, tmp_path / "run")
    ens = res["modes"]["audio"]["seed_ensemble"]
    assert ens["seeds"] == [0, 1] and len(ens["ua"]["per_fold"]) == 3
    assert 0 <= ens["ua"]["mean"] <= 1
    assert "audio-only, ensemble of 2 seeds" in (tmp_path / "run" / "report.md").read_text()
    single = run_ablation(_cfg(synthetic_corpus, modes=("audio",)), tmp_path / "one")
    assert "seed_ensemble" not in single["modes"]["audio"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are forked (Linux only)")
def test_two_worker_processes_give_the_numbers_of_one(fake_plugins, synthetic_corpus, tmp_path):
    cfg = _cfg(synthetic_corpus, folds=2)
    logs = []
    one = run_ablation(cfg, tmp_path / "one", log=lambda s: None, jobs=1)
    two = run_ablation(cfg, tmp_path / "two", log=logs.append, jobs=2)
    assert any("6 trainings in 2 worker processes" in line for line in logs)
    assert sum("test UA" in line for line in logs) == 6  # every run logged (from its worker)
    for mode in ("audio", "text", "fused"):
        assert two["modes"][mode]["ua"] == one["modes"][mode]["ua"]
        assert two["modes"][mode]["confusion"] == one["modes"][mode]["confusion"]
    for path in (tmp_path / "one" / "runs").glob("*.json"):
        a, b = json.loads(path.read_text()), json.loads((tmp_path / "two" / "runs" / path.name).read_text())
        assert a["probs"] == b["probs"] and a["curve"] == b["curve"]


# ----------------------------------------------------------------------------- augment.copies
def _recorded(monkeypatch):
    """Records run_ablation's Inputs, its folds, every train() call (mode, train items, val items) and
    the number of featurize calls of the fake acoustic encoder (this process only)."""
    import fusion.runners.ablate as ablation
    import fusion.runners.fit as fit
    from tests.fakes import FrameEnergyEncoder

    seen = {"train": [], "featurize": 0}
    real_prepare, real_folds, real_train = ablation.prepare_inputs, ablation.make_folds, fit.train
    real_featurize = FrameEnergyEncoder.featurize

    def prepare_inputs(*args, **kwargs):
        seen["inputs"] = real_prepare(*args, **kwargs)
        return seen["inputs"]

    def make_folds(*args, **kwargs):
        seen["folds"] = real_folds(*args, **kwargs)
        return seen["folds"]

    def train(model, train_items, val_items, cfg, **kwargs):
        seen["train"].append((model.config.mode, train_items, val_items))
        return real_train(model, train_items, val_items, cfg, **kwargs)

    def featurize(self, wav):
        seen["featurize"] += 1
        return real_featurize(self, wav)

    monkeypatch.setattr(ablation, "prepare_inputs", prepare_inputs)
    monkeypatch.setattr(ablation, "make_folds", make_folds)
    monkeypatch.setattr(fit, "train", train)
    monkeypatch.setattr(FrameEnergyEncoder, "featurize", featurize)
    return seen


def _run_files(out: Path) -> dict:
    return {p.name: json.loads(p.read_text()) for p in sorted((out / "runs").glob("*.json"))}


def test_augmented_ablation_trains_on_copies_of_each_folds_training_clips_only(fake_plugins, synthetic_corpus,
                                                                                tmp_path, monkeypatch):
    import torch

    from fusion.augment import AugmentConfig

    modes = ("audio", "text", "fused")
    cfg = _cfg(synthetic_corpus, modes=modes, folds=2, train=TrainConfig(epochs=2, batch_size=16, lr=3e-3),
               augment=AugmentConfig(copies=2))
    seen = _recorded(monkeypatch)
    res = run_ablation(cfg, tmp_path / "run", log=lambda s: None, jobs=1)
    inputs, folds = seen["inputs"], seen["folds"]
    utts = inputs.utterances
    ids = lambda indices: [utts[n].id for n in indices]  # noqa: E731
    training_clips = sorted({n for f in folds for n in f.train})
    assert res["cache"]["augment"] == {"computed": 2 * len(training_clips), "cached": 0, "failed": 0}
    assert seen["featurize"] == len(utts) + 2 * len(training_clips)
    assert len(seen["train"]) == len(folds) * len(modes)  # one process: seed, fold, mode order
    runs = _run_files(tmp_path / "run")
    calls = iter(seen["train"])
    for fold in folds:
        train_ids, held_out = ids(fold.train), set(ids(fold.val)) | set(ids(fold.test))
        for mode in modes:
            called_mode, train_items, val_items = next(calls)
            assert called_mode == mode
            # validation and test items: exactly the clips, never a copy
            assert len(val_items) == len(fold.val) and not any("copy_of" in it for it in val_items)
            run = runs[f"{mode}-s0-f{fold.index}.json"]
            assert run["ids"] == ids(fold.test)
            if mode == "text":
                assert len(train_items) == len(fold.train) and "n_augmented" not in run
                continue
            assert len(train_items) == 3 * len(fold.train) and run["n_augmented"] == 2 * len(fold.train)
            copies = train_items[len(fold.train):]
            assert sorted(it["copy_of"] for it in copies) == sorted(train_ids * 2)
            assert not {it["copy_of"] for it in copies} & held_out
            for it, clip in zip(copies, train_items[:len(fold.train)] * 2):  # copy c, in the clips' order
                assert not (it["audio"].shape == clip["audio"].shape and torch.equal(it["audio"], clip["audio"]))
                assert it["label"] == clip["label"]
                if mode == "fused":
                    assert it["text"] is inputs.text[it["copy_of"]]
    # the property is not vacuous: a clip tested in one fold has copies in another fold's training
    tested_first = set(ids(folds[0].test))
    assert any(tested_first & set(ids(f.train)) for f in folds[1:])

    # a second run (new run dir, same cache) featurizes nothing and gives the same numbers
    seen["featurize"] = 0
    again = run_ablation(cfg.replace(modes=("fused",)), tmp_path / "again", log=lambda s: None, jobs=1)
    assert seen["featurize"] == 0
    assert again["cache"]["augment"] == {"computed": 0, "cached": 2 * len(training_clips), "failed": 0}
    assert again["modes"]["fused"] == res["modes"]["fused"]
    for name, run in _run_files(tmp_path / "again").items():
        assert run["probs"] == runs[name]["probs"] and run["curve"] == runs[name]["curve"]


def test_text_copies_in_an_ablation_are_of_each_folds_training_clips_only(fake_plugins, synthetic_corpus, tmp_path,
                                                                          monkeypatch):
    from fusion.augment import AugmentConfig

    modes = ("audio", "text", "fused")
    cfg = _cfg(synthetic_corpus, modes=modes, folds=2, train=TrainConfig(epochs=1, batch_size=16),
               augment=AugmentConfig(text_copies=1))
    seen = _recorded(monkeypatch)
    res = run_ablation(cfg, tmp_path / "run", log=lambda s: None, jobs=1)
    inputs, folds = seen["inputs"], seen["folds"]
    utts = inputs.utterances
    training_clips = {utts[n].id for f in folds for n in f.train}
    assert set(inputs.noisy_transcripts[0]) == training_clips
    assert res["cache"]["text_augment"]["failed"] == 0 and 0 < res["cache"]["text_augment"]["wer"] < 1
    assert "augment" not in res["cache"]  # no perturbed-audio copies
    calls = iter(seen["train"])
    for fold in folds:
        for mode in modes:
            _, train_items, val_items = next(calls)
            assert not any("copy_of" in it for it in val_items)
            if mode == "audio":
                assert len(train_items) == len(fold.train)
                continue
            copies = train_items[len(fold.train):]
            assert [it["copy_of"] for it in copies] == [utts[n].id for n in fold.train]
            for it, clip in zip(copies, train_items[:len(fold.train)], strict=True):
                assert it["text"] is inputs.text_augmented[0][it["copy_of"]] and it["label"] == clip["label"]
                assert it["audio"] is clip["audio"]  # fused: the clip's own (speaker-normalised) audio; text: None
    # a resumed ablation (one text run left) draws the same noisy copies and gives the same numbers
    first = _run_files(tmp_path / "run")
    (tmp_path / "run" / "runs" / "text-s0-f1.json").unlink()
    seen = _recorded(monkeypatch)
    run_ablation(cfg, tmp_path / "run", log=lambda s: None, jobs=1)
    assert seen["inputs"].noisy_transcripts == inputs.noisy_transcripts and len(seen["train"]) == 1
    assert _run_files(tmp_path / "run")["text-s0-f1.json"]["probs"] == first["text-s0-f1.json"]["probs"]


def test_default_ablation_is_the_plain_training_loop(fake_plugins, synthetic_corpus, tmp_path, monkeypatch):
    """augment off (the default) and no speaker normalisation: what run_ablation trains and predicts is the
    loop of before, item for item."""
    import numpy as np

    from fusion.runners import load_corpus
    from fusion.data import make_folds
    from fusion.experiment import prepare_inputs
    from fusion.model import EmotionModel
    from fusion.training.trainer import predict_proba, seed_everything, train

    from fusion.speaker_norm import SpeakerNormConfig

    cfg = _cfg(synthetic_corpus, modes=("audio", "fused"), folds=2,
               train=TrainConfig(epochs=3, batch_size=16, lr=3e-3), speaker_norm=SpeakerNormConfig(enabled=False))
    assert "augment" not in cfg.to_dict()
    seen = _recorded(monkeypatch)
    run_ablation(cfg, tmp_path / "run", log=lambda s: None, jobs=1)
    assert "augment" not in (tmp_path / "run" / "config.toml").read_text()
    runs = _run_files(tmp_path / "run")
    monkeypatch.undo()
    utts = load_corpus(cfg)
    labels = tuple(sorted({u.label for u in utts}))
    inputs = prepare_inputs(cfg, utts, labels)
    folds = make_folds(inputs.utterances, cfg.folds, "speaker", seed=0, val_fraction=cfg.val_fraction)
    calls = iter(seen["train"])
    for fold in folds:
        for mode in cfg.modes:
            _, train_items, _ = next(calls)
            assert len(train_items) == len(fold.train) and not any("copy_of" in it for it in train_items)
            seed_everything(0)
            model = EmotionModel(cfg.model_config(mode, labels))
            train(model, inputs.items(fold.train, mode), inputs.items(fold.val, mode), cfg.train)
            probs = predict_proba(model, inputs.items(fold.test, mode))
            run = runs[f"{mode}-s0-f{fold.index}.json"]
            assert run["probs"] == np.round(probs, 6).tolist() and "n_augmented" not in run


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are forked (Linux only)")
def test_augmented_ablation_in_two_workers_gives_the_numbers_of_one(fake_plugins, synthetic_corpus, tmp_path,
                                                                    monkeypatch):
    from fusion.augment import AugmentConfig

    cfg = _cfg(synthetic_corpus, modes=("audio",), folds=2, train=TrainConfig(epochs=3, batch_size=16, lr=3e-3),
               augment=AugmentConfig(copies=1, seed=4))
    seen = _recorded(monkeypatch)
    results, calls = {}, {}
    for jobs in (1, 2):
        monkeypatch.setenv("FUSION_CACHE", str(tmp_path / f"cache-{jobs}"))  # every copy featurized again
        seen["featurize"] = 0
        results[jobs] = run_ablation(cfg, tmp_path / f"jobs{jobs}", log=lambda s: None, jobs=jobs)
        calls[jobs] = seen["featurize"]
    n_train_clips = len({n for f in seen["folds"] for n in f.train})
    # the copies were featurized in the parent, before the workers forked
    assert calls[2] == calls[1] == len(seen["inputs"].utterances) + n_train_clips
    assert results[2]["cache"]["augment"]["computed"] == n_train_clips
    assert results[2]["modes"]["audio"]["ua"] == results[1]["modes"]["audio"]["ua"]
    one, two = _run_files(tmp_path / "jobs1"), _run_files(tmp_path / "jobs2")
    assert len(one) == 2 and all(r["n_augmented"] > 0 for r in one.values())
    for name, run in one.items():
        assert two[name]["probs"] == run["probs"] and two[name]["curve"] == run["curve"]
