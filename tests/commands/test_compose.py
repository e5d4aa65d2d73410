"""`fusion compose`, and `fusion predict` / `evaluate` / `serve` on the composed directory it writes."""

from __future__ import annotations

import json

import pytest

from tests.commands.test_predict import run
from tests.fakes import LABELS
from tests.inference.helpers import registered_fakes, train_members, train_tiny_models


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The members, the fused model of the inference tests, and `fusion compose` run on the members
    (once plain, once calibrated on the corpus' manifest)."""
    root = tmp_path_factory.mktemp("compose-cli")
    with registered_fakes():
        dirs = train_members(root / "members", epochs=3)
        dirs["fused"] = train_tiny_models(root / "tiny", names=("fused",))["fused"]
        dirs["manifest"] = dirs["corpus"] / "manifest.csv"
        dirs["plain"] = dict(result=run("compose", "--audio", dirs["audio"], "--text", dirs["text"], "--out",
                                        root / "plain"), dir=root / "plain")
        dirs["calibrated"] = dict(result=run("compose", "--audio", dirs["audio"], "--text", dirs["text"], "--out",
                                             root / "calibrated", "--calibrate", dirs["manifest"]),
                                  dir=root / "calibrated")
        yield dirs


def test_compose_writes_a_model_directory(models):
    plain, calibrated = models["plain"]["result"], models["calibrated"]["result"]
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.startswith(f"saved {models['plain']['dir']} (labels angry, happy, neutral, sad; weights audio "
                                   "1.00 text 1.00") and "equal, uncalibrated" in plain.stdout
    assert calibrated.exit_code == 0, calibrated.output
    assert "calibrated on 96 clips" in calibrated.stderr and calibrated.stdout.rstrip().endswith(": calibrated)")
    assert json.loads((models["calibrated"]["dir"] / "compose.json").read_text())["calibration"]["n"] == 96


def test_compose_adapt_reports_the_adaptation(models, tmp_path):
    result = run("compose", "--audio", models["audio"], "--text", models["text"], "--out", tmp_path / "adapted",
                 "--adapt", models["manifest"])
    assert result.exit_code == 0, result.output
    assert "adapted on 96 unlabelled clips: the audio member's average output" in result.stderr
    assert result.stdout.rstrip().endswith("equal, uncalibrated; label biases adapted on 96 unlabelled clips)")
    out = run("evaluate", tmp_path / "adapted", "--dataset", "manifest", "--data-dir", models["manifest"]).stdout
    assert "(equal, uncalibrated; label biases adapted on these clips, labels unread)" in out


def test_predict_on_a_composed_model(models):
    result = run("predict", models["plain"]["dir"], models["corpus"] / "spk0_happy_0.wav", "--json",
                 "--transcriber", "fake-asr")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["mode"] == "composed" and doc["labels"] == list(LABELS)
    (p,) = doc["predictions"]
    assert set(p["branches"]) == {"audio", "text"} and p["transcript"] == "unknown"


def test_evaluate_a_calibrated_model_on_its_own_manifest_cross_fits(models):
    args = ("evaluate", models["calibrated"]["dir"], "--dataset", "manifest", "--data-dir", models["manifest"])
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    m = json.loads(result.stdout)
    assert set(m["branches"]) == {"audio", "text", "fused"} and m["branches"]["fused"]["ua"] == m["ua"]
    assert m["composition"]["cross_fitted"] and m["transcriber"] == "gold"
    assert m["fused_vs_best_branch"]["best_branch"] in ("audio", "text")
    text = run(*args, "--transcriber", "fake-asr")
    assert text.exit_code == 0, text.output
    out = text.stdout
    assert "(transcripts: fake-asr)" in out and "composition: weights audio" in out and "(calibrated)" in out
    assert "cross-fitted: it is the calibration manifest" in out
    assert "branch-wise (the same clips):" in out and "fused - best branch (" in out


def test_evaluate_a_fused_model_branch_by_branch(models):
    result = run("evaluate", models["fused"], "--dataset", "synthetic", "--data-dir", models["corpus"],
                 "--transcriber", "gold")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    table = lines.index("branch-wise (the same clips):")
    assert [line.split()[0] for line in lines[table + 2:table + 5]] == ["audio", "text", "fused"]
    assert "(transcripts: gold)" in lines[0]


def test_serve_accepts_a_composed_model(models):
    from fusion.commands.options import build_predictor
    from fusion.web import Demo

    demo = Demo(build_predictor(models["plain"]["dir"], "fake-asr", ()), Demo.Config(warmup=False))
    assert demo.info()["mode"] == "composed" and demo.info()["transcriber"] == "fake-asr"
    reply = demo.predict((models["corpus"] / "spk1_sad_0.wav").read_bytes(), "clip.wav")
    assert reply.status == 200 and set(reply.body["prediction"]["branches"]) == {"audio", "text"}


@pytest.mark.parametrize("args, message", [
    (("--audio", "{text}", "--text", "{text}"), "--audio {text} is a text model"),
    (("--audio", "{audio}", "--text", "{text}", "--label-map", "{map}"), "give --calibrate MANIFEST too"),
    (("--audio", "{audio}", "--text", "{text}", "--set", "transcriber.model=x"), "name the transcriber too"),
    (("--audio", "{audio}", "--text", "{text}", "--labels", "happy,joyful"), "unknown label(s) joyful"),
    (("--audio", "{audio}", "--text", "{text}", "--transcriber", "nope"), "nope"),
    (("--audio", "{audio}", "--text", "{text}", "--adapt", "{map}", "--calibrate", "{map}"), "choose one"),
])
def test_compose_errors_are_one_line(models, tmp_path, args, message):
    (tmp_path / "map.toml").write_text('[map]\njoy = "happy"\n')
    values = dict(audio=models["audio"], text=models["text"], map=tmp_path / "map.toml")
    result = run("compose", *[a.format(**values) for a in args], "--out", tmp_path / "out")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith("error: ") and message.format(**values) in result.stderr
    assert not (tmp_path / "out").exists()


def test_evaluate_rejects_a_transcriber_an_audio_model_cannot_use(models):
    result = run("evaluate", models["audio"], "--dataset", "synthetic", "--data-dir", models["corpus"],
                 "--transcriber", "gold")
    assert result.exit_code == 1 and "audio-only and reads no transcripts" in result.stderr


@pytest.mark.parametrize("which", ["plain", "fused"])
def test_evaluate_passes_transcriber_options_to_the_transcriber(models, which):
    model = models["plain"]["dir"] if which == "plain" else models["fused"]
    args = ("evaluate", model, "--dataset", "manifest", "--data-dir", models["manifest"])
    result = run(*args, "--transcriber", "fake-asr", "--set", "transcriber.bogus=1")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith("error: transcriber 'fake-asr': unknown option(s) bogus")  # before any work
    alone = run(*args, "--set", "transcriber.bogus=1")
    assert alone.exit_code == 1 and "name the transcriber too" in alone.stderr
