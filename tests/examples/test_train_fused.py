"""examples/train_fused.py: split the demo corpus by speaker, train, score held-out speakers,
reload with fusion.load and predict. Fast: gold transcripts, cnn + gru, 4 clips per speaker;
slow: the default (pretrained) components."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys

import numpy as np
import pytest

import fusion
from fusion.errors import UnknownComponentError
from tests.conftest import ROOT

SCRIPT = ROOT / "examples" / "train_fused.py"
DEMO_LABELS = ("angry", "happy", "neutral", "sad")
CHEAP = ["--transcriber", "gold", "--acoustic-encoder", "cnn", "--text-encoder", "gru", "--epochs", "2",
         "--limit", "4"]


def run_example(argv):
    return runpy.run_path(str(SCRIPT))["main"](argv)


def speakers_of(manifest) -> set[str]:
    return {json.loads(line)["speaker"] for line in manifest.read_text().splitlines()}


def check_run(result, out, limit: int) -> None:
    """What every run must deliver: a disjoint split, a saved model, held-out scores, a prediction."""
    held_out = set(result["held_out"])
    train_speakers = speakers_of(out / "train.jsonl")
    assert held_out and train_speakers and not held_out & train_speakers
    assert speakers_of(out / "test.jsonl") == held_out
    assert held_out | train_speakers == {u.speaker for u in fusion.prepare("demo")}
    assert result["n_train"] == limit * len(train_speakers)
    trained = result["train_metrics"]
    assert trained["n_train"] + trained["n_val"] == result["n_train"] and trained["n_val"] > 0
    test = result["test_metrics"]
    assert test["n"] == limit * len(held_out) and not test["excluded"]
    assert 0.0 <= test["ua"] <= 1.0 and np.sum(test["confusion_counts"]) == test["n"]

    model_dir = result["model_dir"]
    assert {"model.pt", "config.toml", "model.json"} <= {p.name for p in model_dir.iterdir()}
    predictor = fusion.load(model_dir)
    assert predictor.mode == "fused" and predictor.labels == DEMO_LABELS
    p = result["prediction"]
    clip = result["clip"]
    assert clip.speaker in held_out
    assert p.ok and p.label in DEMO_LABELS
    assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    assert set(p.branches) == {"audio", "text"}  # cross-attention has unimodal branches
    again = predictor.predict(clip.audio, transcript=p.transcript)  # the reloaded model gives the same answer
    assert again.probabilities == pytest.approx(p.probabilities, abs=1e-5)


def test_trains_scores_saves_reloads_and_predicts(tmp_path, capsys):
    out = tmp_path / "fused"
    result = run_example(["--out", str(out), *CHEAP])
    check_run(result, out, limit=4)
    assert result["prediction"].transcript == result["clip"].transcript  # gold: the corpus transcript
    printed = capsys.readouterr().out
    assert f"held-out speakers {', '.join(result['held_out'])}: n={result['test_metrics']['n']}" in printed
    assert f"{result['clip'].audio.name} (true {result['clip'].label}): {result['prediction'].label}" in printed


def test_unknown_component_fails_before_any_work(tmp_path):
    out = tmp_path / "never"
    with pytest.raises(UnknownComponentError, match="unknown fusion head 'nope'; valid choices: .*cross-attention"):
        run_example(["--out", str(out), *CHEAP, "--head", "nope"])
    assert not out.exists()


def test_command_line_error_is_one_line(tmp_path):
    run = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "x"), "--text-encoder", "nope"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown text encoder 'nope'; valid choices: ")
    assert "gru" in lines[0].split("valid choices: ")[1].split(", ")
    assert "Traceback" not in run.stderr and not (tmp_path / "x").exists()


@pytest.mark.slow
def test_default_components(tmp_path):
    """whisper-encoder + minilm + faster-whisper (offline weights), fewer clips and epochs."""
    pytest.importorskip("faster_whisper")
    out = tmp_path / "fused"
    result = run_example(["--out", str(out), "--epochs", "2", "--limit", "4"])
    check_run(result, out, limit=4)
    config = (result["model_dir"] / "model.json").read_text()
    for name in ("whisper-encoder", "minilm", "faster-whisper", "cross-attention"):
        assert f'"{name}"' in config
    assert result["prediction"].transcript  # transcribed by faster-whisper, not given
