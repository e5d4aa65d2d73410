"""Progress and --quiet of the long-running commands: bars only on a terminal, --quiet leaves
warnings, errors and the result, a log file never holds a carriage return."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest

from fusion.data import write_manifest
from tests.fakes import prepare_synthetic
from tests.reliability.entry_points import FAKES, invoke

LONG_COMMANDS = ("train", "evaluate", "ablate", "transcribe", "predict")


@pytest.mark.parametrize("command", LONG_COMMANDS)
def test_quiet_is_documented_in_each_long_command(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "-q, --quiet" in flat and "only warnings, errors and the result" in flat


def _train(corpus, out, *extra, mode="fused"):
    return invoke("train", "--dataset", "synthetic", "--data-dir", corpus, *FAKES, "--mode", mode,
                  "--out", out, *extra)


def test_train_and_evaluate_quiet_print_only_the_result(fake_plugins, synthetic_corpus, tmp_path):
    loud = _train(synthetic_corpus, tmp_path / "loud")
    assert loud.exit_code == 0, loud.output
    assert "training fused model" in loud.stderr and "  epoch   1  loss" in loud.stderr
    quiet = _train(synthetic_corpus, tmp_path / "quiet", "--quiet")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == "" and quiet.stdout.startswith(f"saved {tmp_path / 'quiet'} (validation UA ")
    assert "\r" not in loud.output + quiet.output  # not a terminal: no bars

    evaluated = invoke("evaluate", tmp_path / "quiet", "--dataset", "synthetic", "--data-dir", synthetic_corpus,
                       "--json", "-q")
    assert evaluated.exit_code == 0, evaluated.output
    assert evaluated.stderr == "" and json.loads(evaluated.stdout)["n"] > 0


def test_ablate_quiet_prints_the_table_only(fake_plugins, synthetic_corpus, tmp_path):
    result = invoke("ablate", "--dataset", "synthetic", "--data-dir", synthetic_corpus, *FAKES, "--modes", "audio",
                    "--folds", "2", "--seeds", "0", "--jobs", "1", "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stderr == "", result.stderr
    assert "| audio-only |" in result.stdout and "report: " in result.stdout


def test_transcribe_quiet_keeps_the_summary_and_the_failures(fake_plugins, synthetic_corpus, tmp_path):
    utts = list(prepare_synthetic(synthetic_corpus))[:3]
    utts[1] = utts[1].__class__(**{**utts[1].__dict__, "transcript": None})  # the gold transcriber fails on it
    manifest = write_manifest(utts, tmp_path / "m.jsonl")
    result = invoke("transcribe", manifest, "-t", "gold", "-o", tmp_path / "out.jsonl", "--quiet")
    assert result.exit_code == 1
    assert result.stdout.startswith("2 transcribed, 0 from cache, 1 errors")
    assert "has no gold transcript" in result.stderr and result.stderr.count("error: ") == 1


def test_predict_quiet_drops_the_count_line_unless_an_input_failed(fake_plugins, synthetic_corpus, tmp_path):
    assert _train(synthetic_corpus, tmp_path / "model", "--quiet", mode="audio").exit_code == 0
    clips = sorted(synthetic_corpus.glob("*.wav"))[:3]
    loud = invoke("predict", tmp_path / "model", *clips, "--json")
    assert loud.exit_code == 0, loud.output
    assert loud.stderr.strip() == "3 predicted, 0 failed"
    quiet = invoke("predict", tmp_path / "model", *clips, "--json", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == "" and len(json.loads(quiet.stdout)["predictions"]) == 3
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    failed = invoke("predict", tmp_path / "model", clips[0], broken, "--json", "-q")
    assert failed.exit_code == 1 and "1 predicted, 1 failed" in failed.stderr


# ------------------------------------------------------------------ the real entry point, in a subprocess
def _real_train_args(tmp_path, manifest) -> list[str]:
    return [sys.executable, "-m", "fusion.cli", "train", "--dataset", "manifest", "--data-dir", str(manifest),
            "--acoustic-encoder", "cnn", "--mode", "audio", "--epochs", "1", "--out", str(tmp_path / "model")]


@pytest.fixture
def manifest_csv(synthetic_corpus):
    """The synthetic corpus through the `manifest` recipe and the `cnn` encoder (installed plugins, no fakes)."""
    listed = subprocess.run([sys.executable, "-m", "fusion.cli", "plugins", "--json"], capture_output=True,
                            text=True, timeout=120)
    components = [row["components"] for row in json.loads(listed.stdout)["plugins"]]
    if not any("manifest" in c.get("dataset", ()) for c in components) \
            or not any("cnn" in c.get("acoustic_encoder", ()) for c in components):
        pytest.skip("the fusion-corpora `manifest` recipe or the fusion-acoustic `cnn` encoder is not installed")
    return synthetic_corpus / "manifest.csv"


def test_a_log_file_holds_lines_only_and_a_terminal_gets_a_bar(manifest_csv, tmp_path):
    with open(tmp_path / "log", "w") as log:
        result = subprocess.run(_real_train_args(tmp_path, manifest_csv), stdout=subprocess.PIPE, stderr=log,
                                text=True, timeout=300)
    text = (tmp_path / "log").read_text()
    assert result.returncode == 0, text
    assert "\r" not in text and "acoustic features (cnn): " in text and "  epoch   1  loss" in text

    master, slave = pty.openpty()  # stderr on a terminal (one reporting 0 x 0, as `script` makes)
    try:
        proc = subprocess.Popen(_real_train_args(tmp_path, manifest_csv),
                                stdout=subprocess.PIPE, stderr=slave, text=True)
        os.close(slave)
        received = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            received += chunk
        assert proc.wait(timeout=300) == 0, received.decode(errors="replace")
    finally:
        os.close(master)
    drawn = received.decode("utf-8", "replace")
    assert "\rfeatures (cnn):   0%" in drawn and "| 0/96 " in drawn  # the featurization bar
