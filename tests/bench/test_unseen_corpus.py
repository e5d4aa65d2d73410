"""bench/accuracy/unseen_corpus.py on a fake EmoDB (the real naming scheme, synthetic tones)."""

from __future__ import annotations

import json

import pytest

from bench.accuracy import unseen_corpus as uc

EMOTIONS = {"W": 180.0, "T": 320.0, "N": 500.0}  # angry, sad, neutral: one pitch each, so it is learnable


@pytest.fixture
def fake_emodb(make_wav, tmp_path):
    for speaker in ("03", "08", "09", "10"):
        for code, freq in EMOTIONS.items():
            for text in ("a01", "a02"):
                make_wav(f"emodb/wav/{speaker}{text}{code}a.wav", duration=0.4, freq=freq + int(speaker),
                         seed=int(speaker))
    return tmp_path / "emodb"


def test_runs_model_probe_old_defaults_and_baseline_on_the_same_speaker_folds(fake_emodb, fake_plugins, tmp_path,
                                                                             capsys):
    out = tmp_path / "out"
    code = uc.main(["--dataset", "emodb", "--data-dir", str(fake_emodb), "--folds", "2", "--seeds", "0",
                    "--acoustic-encoder", "fake-frames", "--epochs", "2", "--out", str(out), "--baseline",
                    "--compare-defaults-of-before", "--work-dir", str(tmp_path / "runs")])
    assert code == 0
    r = json.loads((out / "unseen_emodb.json").read_text())
    assert r["labels"] == ["angry", "neutral", "sad"] and r["n_utterances"] == 24 and r["n_speakers"] == 4
    assert sorted(s for fold in r["folds"] for s in fold) == ["03", "08", "09", "10"] and len(r["folds"]) == 2
    assert set(r["rows"]) == {"audio", "probe", "before", "baseline"}
    for row in r["rows"].values():
        assert len(row["ua"]["per_fold"]) == 2 and 0.0 <= row["ua"]["mean"] <= 1.0
    assert r["rows"]["baseline"]["ua"]["mean"] > 0.9  # one pitch per class: the baseline reads the right labels
    assert r["config"]["speaker_norm"]["enabled"] is True and -1 <= r["audio_vs_probe"]["diff"] <= 1
    run_dirs = sorted((tmp_path / "runs").glob("unseen_emodb-s0-*"))  # one folder per configuration
    assert len(run_dirs) == 2
    for run_dir in run_dirs:  # the defaults and the defaults of before: the same folds
        assert [f["test"] for f in json.loads((run_dir / "folds.json").read_text())] == r["folds"]
    before = [d for d in run_dirs if not json.loads((d / "config.json").read_text())["config"]["speaker_norm"]["enabled"]]
    assert len(before) == 1 and json.loads((before[0] / "config.json").read_text())["config"]["train"]["patience"] == 10
    assert r["defaults"] is False and r["changed"] == ["acoustic encoder", "epochs"]
    md = (out / "unseen_emodb.md").read_text()
    assert "**Not the defaults** (changed: acoustic encoder, epochs)" in md
    assert "MFCC functionals + logistic regression" in md and "linear probe, same features" in md


def test_a_missing_corpus_is_one_clear_error(tmp_path, capsys):
    code = uc.main(["--dataset", "emodb", "--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"),
                    "--work-dir", str(tmp_path / "runs")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and "nowhere" in err
    assert not (tmp_path / "out").exists()


def test_an_unknown_dataset_names_the_valid_ones(tmp_path, capsys):
    assert uc.main(["--dataset", "emodbx", "--data-dir", str(tmp_path), "--work-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "emodbx" in err and "emodb" in err.replace("emodbx", "")
