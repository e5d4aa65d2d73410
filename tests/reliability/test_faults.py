"""Faults: corrupt cache entries, a kill during transcription, a component that raises, non-finite
losses, and writes that fail half-way (results.json, model directories).

The kill during training is tests/test_ablation.py::test_sigkill_mid_ablation_then_resume_matches_uninterrupted.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import soundfile as sf
import torch

from fusion.data import Utterance, write_manifest
from tests.conftest import ROOT, tone
from tests.fakes import make_synthetic_corpus
from tests.reliability.entry_points import invoke
from tests.reliability.faulty_plugins import FLAKY_MESSAGE, LOG_VARIABLE, PLUGIN_NAME, RUNNER, FaultyPlugin, calls

FAKES = ("--acoustic-encoder", "fake-frames", "--text-encoder", "fake-bag", "--head", "concat", "--epochs", "2")


@pytest.fixture
def plugins(fake_plugins):
    from fusion.plugins import register_plugin, unregister_plugin

    name = register_plugin(FaultyPlugin(), name=PLUGIN_NAME)
    yield
    unregister_plugin(name)


@pytest.fixture
def corpus(tmp_path) -> Path:
    return make_synthetic_corpus(tmp_path / "corpus", speakers=6, per_label=2)


def ablate(corpus: Path, out: Path, *more: str):
    return invoke("ablate", "--dataset", "synthetic", "--data-dir", corpus, *FAKES, "--folds", "2", "--out", out, *more)


def train(corpus: Path, out: Path, *more: str):
    return invoke("train", "--dataset", "synthetic", "--data-dir", corpus, *FAKES, "--transcriber", "gold",
                  "--out", out, *more)


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def one_error_line(result) -> str:
    """The single `error:` line a failing command prints last (no traceback anywhere)."""
    assert "Traceback" not in result.output
    lines = error_lines(result)
    assert lines == [result.stderr.strip().splitlines()[-1]], result.stderr
    return lines[0]


# ----------------------------------------------------------------------------- (a) corrupt cache


def test_corrupt_cache_entries_are_detected_and_recomputed_by_an_ablation_rerun(plugins, corpus, tmp_path):
    out = tmp_path / "run"
    args = ("--transcriber", "fake-asr", "--modes", "audio,text")
    first = ablate(corpus, out, *args)
    assert first.exit_code == 0, first.output
    modes = json.loads((out / "results.json").read_text())["modes"]
    cache = Path(os.environ["FUSION_CACHE"])
    tensors = {p: torch.load(p, weights_only=True) for p in sorted((cache / "features").rglob("*.pt"))}
    texts = {p: p.read_bytes() for p in sorted((cache / "transcripts").rglob("*.json"))}
    audio = [p for p, t in tensors.items() if t.is_floating_point()]  # fake-frames [T, 8]; fake-bag ids [T]
    words = [p for p, t in tensors.items() if not t.is_floating_point()]
    assert len(audio) == 48 and len(texts) == 48 and len(words) == 1  # every transcript is "unknown"
    broken = {audio[0]: audio[0].read_bytes()[:100], audio[1]: b"", audio[2]: b"garbage" * 10,
              words[0]: words[0].read_bytes()[:-1]}
    broken.update({p: texts[p][: len(texts[p]) // 2] for p in list(texts)[:3]})
    for path, data in broken.items():
        path.write_bytes(data)

    with pytest.warns(UserWarning, match="is corrupt") as caught:
        again = ablate(corpus, out, *args)
    assert again.exit_code == 0, again.output
    assert {str(path) for path in broken} <= {str(w.message).split()[2] for w in caught}
    results = json.loads((out / "results.json").read_text())
    assert results["cache"] == {"audio": {"cached": 45, "computed": 3}, "transcripts": {"cached": 45, "computed": 3},
                                "text": {"cached": 47, "computed": 1}}
    for path in broken:  # rewritten whole, with the same content
        if path.suffix == ".pt":
            assert torch.equal(torch.load(path, weights_only=True), tensors[path])
        else:
            assert json.loads(path.read_bytes()) == json.loads(texts[path])
    assert results["modes"] == modes


# ----------------------------------------------------------------------------- (b) kill mid-transcription


@pytest.mark.slow
def test_sigkill_during_transcription_then_rerun_recomputes_nothing_finished(tmp_path):
    clips = []
    for n in range(16):
        sf.write(str(tmp_path / f"c{n}.wav"), tone(0.5, freq=150.0 + 20 * n), 16000)
        clips.append(Utterance(f"c{n}", tmp_path / f"c{n}.wav", "x", "s"))
    manifest = write_manifest(clips, tmp_path / "m.jsonl")
    log = tmp_path / "calls.log"
    env = {**os.environ, "FUSION_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT), LOG_VARIABLE: str(log)}
    args = [sys.executable, "-c", RUNNER, "transcribe", str(manifest), "-t", "fake-slow-asr",
            "-o", str(tmp_path / "out.jsonl"), "--batch-size", "1"]
    entries = tmp_path / "cache" / "transcripts"
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(entries.rglob("*.json"))) < 5 and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = len(list(entries.rglob("*.json")))
    before = calls(log)
    assert 5 <= finished < 16 and not (tmp_path / "out.jsonl").exists()

    rerun = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{16 - finished} transcribed, {finished} from cache, 0 errors" in rerun.stdout
    assert calls(log) - before == 16 - finished  # nothing finished was transcribed again
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [u.id for u in clips]
    assert {r["transcript"] for r in rows} == {"slowly transcribed"}


# ----------------------------------------------------------------------------- (c) a component raises


def _durations(corpus: Path) -> dict[str, float]:
    return {p.stem: sf.info(str(p)).duration for p in corpus.glob("*.wav")}


def test_a_component_that_raises_is_reported_with_its_plugin_and_the_rest_goes_on(plugins, corpus, tmp_path):
    long = {u for u, d in _durations(corpus).items() if d > 1.0}
    assert 0 < len(long) < 48
    flaky = ablate(corpus, tmp_path / "flaky", "--transcriber", "gold", "--modes", "audio",
                   "--acoustic-encoder", "fake-flaky", "--set", "acoustic.fail_longer_than=1.0")
    assert flaky.exit_code == 0, flaky.output
    results = json.loads((tmp_path / "flaky" / "results.json").read_text())
    assert set(results["excluded"]) == long and results["modes"]["audio"]["n"] == 48 - len(long)
    for uid, reason in results["excluded"].items():
        assert reason == (f"acoustic encoder 'fake-flaky' from plugin '{PLUGIN_NAME}' failed on "
                          f"{corpus / uid}.wav: RuntimeError: {FLAKY_MESSAGE}")

    text = ablate(corpus, tmp_path / "text", "--transcriber", "gold", "--modes", "text",
                  "--text-encoder", "fake-flaky-text", "--set", "text.max_chars=18")  # "i feel furious today"
    assert text.exit_code == 0, text.output
    excluded = json.loads((tmp_path / "text" / "results.json").read_text())["excluded"]
    assert excluded and all(r.startswith(f"text encoder 'fake-flaky-text' from plugin '{PLUGIN_NAME}' failed on "
                                         f"the transcript of {u!r}: ValueError") for u, r in excluded.items())

    broken = ablate(corpus, tmp_path / "broken", "--transcriber", "gold", "--modes", "audio",
                    "--acoustic-encoder", "fake-flaky")  # fails on every clip
    assert broken.exit_code == 1
    line = one_error_line(broken)
    assert line.startswith("error: dataset 'synthetic': every utterance was excluded (48 of 48); the first "
                           f"reason: acoustic encoder 'fake-flaky' from plugin '{PLUGIN_NAME}' failed on ")

    listing = invoke("plugins", "--json")  # the CLI keeps working for everything else
    assert listing.exit_code == 0 and any(r["name"] == PLUGIN_NAME for r in json.loads(listing.stdout)["plugins"])
    assert ablate(corpus, tmp_path / "fine", "--transcriber", "gold", "--modes", "audio").exit_code == 0


def test_predict_names_the_plugin_of_a_component_that_raises(plugins, corpus, tmp_path):
    model = tmp_path / "model"
    trained = train(corpus, model, "--mode", "audio", "--acoustic-encoder", "fake-flaky",
                    "--set", "acoustic.fail_longer_than=1.0")
    assert trained.exit_code == 0, trained.output
    sf.write(str(tmp_path / "short.wav"), tone(0.8), 16000)
    sf.write(str(tmp_path / "long.wav"), tone(1.5), 16000)
    result = invoke("predict", model, tmp_path / "short.wav", tmp_path / "long.wav", "--json")
    assert result.exit_code == 1 and one_error_line(result).startswith("error: 1 of 2 inputs failed")
    doc = json.loads(result.stdout)
    assert [p["id"] for p in doc["predictions"]] == [str(tmp_path / "short.wav")]
    assert doc["errors"][0]["error"] == (f"acoustic encoder 'fake-flaky' from plugin '{PLUGIN_NAME}' failed on "
                                         f"this input: RuntimeError: {FLAKY_MESSAGE}")


# ----------------------------------------------------------------------------- (d) non-finite losses


def test_train_cli_stops_with_one_error_line_after_repeated_non_finite_losses(plugins, corpus, tmp_path):
    result = train(corpus, tmp_path / "model", "--mode", "audio", "--acoustic-encoder", "fake-nan")
    assert result.exit_code == 1
    line = one_error_line(result)
    assert re.match(r"error: training stopped: 3 consecutive non-finite losses at epoch \d", line)
    assert "check the inputs for NaN" in line and not (tmp_path / "model").exists()


# ----------------------------------------------------------------------------- (e) failed writes


@contextmanager
def failing_replace(name: str):
    """The first os.replace onto a path called ``name`` fails (a full disk at the last moment)."""
    real, failed = os.replace, []

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == name and not failed:
            failed.append(dst)
            raise OSError(28, "No space left on device (injected)")
        return real(src, dst, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "replace", replace)
        yield failed
    assert failed, f"nothing was written to {name}"


def test_no_partial_results_json_when_its_write_fails(plugins, corpus, tmp_path):
    out = tmp_path / "run"
    with failing_replace("results.json"):
        failed = ablate(corpus, out, "--transcriber", "gold", "--modes", "audio")
    assert failed.exit_code == 2 and "No space left on device (injected)" in one_error_line(failed)
    assert not (out / "results.json").exists()
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    runs = sorted((out / "runs").glob("*.json"))
    assert len(runs) == 2 and all(json.loads(p.read_text())["metrics"] for p in runs)  # finished runs kept
    again = ablate(corpus, out, "--transcriber", "gold", "--modes", "audio")
    assert again.exit_code == 0 and again.stderr.count("done before, skipped") == 2
    assert json.loads((out / "results.json").read_text())["modes"]["audio"]["n"] == 48


def test_a_failed_model_write_leaves_no_partial_directory_and_keeps_the_previous_one(plugins, corpus, tmp_path):
    models = tmp_path / "models"
    out = models / "m"
    with failing_replace("metrics.json"):
        first = train(corpus, out, "--mode", "audio")
    assert first.exit_code == 2 and "injected" in one_error_line(first)
    assert not models.exists() or list(models.iterdir()) == []

    assert train(corpus, out, "--mode", "audio").exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for name in ("model.json", "m"):  # a file inside the new directory; the swap into place
        with failing_replace(name):
            retrain = train(corpus, out, "--mode", "audio", "--seed", "5")
        assert retrain.exit_code == 2 and "injected" in one_error_line(retrain)
        assert sorted(models.iterdir()) == [out]
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
