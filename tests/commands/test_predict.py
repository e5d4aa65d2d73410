"""`fusion predict`: files, folders, manifests, long recordings, bad inputs, JSON and CSV output."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from fusion.cli import _register_plugin_commands, cli
from fusion.data import Utterance, write_manifest
from tests.conftest import tone
from tests.fakes import LABELS
from tests.inference.helpers import registered_fakes, train_tiny_models, write_long_recording


def run(*args: str):
    _register_plugin_commands()  # what `fusion` does before parsing (adds `predict`)
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    with registered_fakes():
        yield train_tiny_models(tmp_path_factory.mktemp("models"), names=("fused", "gold"))


@pytest.fixture
def clips(tmp_path):
    """A folder with two clips at the top, one in a subfolder and a text file."""
    root = tmp_path / "clips"
    (root / "sub").mkdir(parents=True)
    sf.write(str(root / "a.wav"), tone(1.0, freq=440), 16000)
    sf.write(str(root / "b.flac"), tone(1.2, 44100, freq=165, channels=2), 44100)
    sf.write(str(root / "sub" / "c.wav"), tone(0.8, 8000, freq=330), 8000)
    (root / "notes.txt").write_text("not audio")
    return root


def predictions_of(result) -> dict:
    return json.loads(result.stdout)


def test_one_clip_prints_a_table_row(models, clips):
    result = run("predict", models["fused"], clips / "a.wav")
    assert result.exit_code == 0, result.output
    header, _, row = result.stdout.splitlines()[:3]
    assert header.split()[:4] == ["input", "label", "p", "branches"]
    assert row.split()[0].endswith("clips/a.wav") and row.split()[1] in LABELS  # long paths keep their end
    assert "audio=" in row and "text=" in row and "unknown" in row  # branches and the transcript
    assert "1 predicted, 0 failed" in result.stderr


def test_a_directory_is_searched_recursively_unless_told_not_to(models, clips):
    doc = predictions_of(run("predict", models["fused"], clips, "--json"))
    assert [p["id"] for p in doc["predictions"]] == [str(clips / n) for n in ("a.wav", "b.flac", "sub/c.wav")]
    assert doc["errors"] == [] and doc["labels"] == list(LABELS) and doc["mode"] == "fused"
    narrowband = doc["predictions"][2]
    assert any("8000 Hz" in w for w in narrowband["warnings"])
    flat = predictions_of(run("predict", models["fused"], clips, "--json", "--no-recursive"))
    assert [p["id"] for p in flat["predictions"]] == [str(clips / "a.wav"), str(clips / "b.flac")]


def test_a_manifest_gives_ids_and_its_transcripts(models, clips, tmp_path):
    utts = [Utterance("first", clips / "a.wav", "angry", "s1", transcript="i feel furious today"),
            Utterance("second", clips / "b.flac", "sad", "s2")]
    manifest = write_manifest(utts, tmp_path / "m.jsonl")
    doc = predictions_of(run("predict", models["fused"], manifest, "--json"))
    by_id = {p["id"]: p for p in doc["predictions"]}
    assert set(by_id) == {"first", "second"} and by_id["first"]["file"] == str(clips / "a.wav")
    assert by_id["first"]["transcript"] == "i feel furious today" and by_id["second"]["transcript"] == "unknown"


def test_bad_inputs_are_reported_the_good_ones_predicted_and_the_exit_status_is_1(models, clips, tmp_path):
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    sf.write(str(tmp_path / "silent.wav"), np.zeros(16000, np.float32), 16000)
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken.jsonl").write_text("{not json\n")
    result = run("predict", models["fused"], clips / "a.wav", tmp_path / "missing.wav", tmp_path / "corrupt.wav",
                 tmp_path / "silent.wav", tmp_path / "empty", tmp_path / "broken.jsonl", "--json")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == "error: 4 of 6 inputs failed (see 'errors' in the JSON output)"
    doc = predictions_of(result)  # stdout stays one JSON document
    assert [p["id"] for p in doc["predictions"]] == [str(clips / "a.wav"), str(tmp_path / "silent.wav")]
    silent = doc["predictions"][1]
    assert silent["silent"] is True and silent["label"] in LABELS and "silent" in silent["warnings"][0]
    errors = {e["id"]: e["error"] for e in doc["errors"]}
    assert "not found" in errors[str(tmp_path / "missing.wav")]
    assert "not a readable audio file" in errors[str(tmp_path / "corrupt.wav")]
    assert "no audio files" in errors[str(tmp_path / "empty")]
    assert "cannot read manifest" in errors[str(tmp_path / "broken.jsonl")]

    table = run("predict", models["fused"], clips / "a.wav", tmp_path / "missing.wav")
    assert table.exit_code == 1 and "ERROR" in table.stdout and "missing.wav: file not found" in table.stdout


def test_a_long_recording_gets_a_timeline_in_json_csv_and_table(models, clips, tmp_path):
    long = tmp_path / "long.wav"
    write_long_recording(long, 180.0)
    out = tmp_path / "out.csv"
    result = run("predict", models["fused"], long, clips / "a.wav", "--json", "--csv", out)
    assert result.exit_code == 0, result.output
    doc = predictions_of(result)
    timeline = doc["predictions"][0]["segments"]
    assert len(timeline) >= 10 and all(s["end"] - s["start"] <= 15.0 for s in timeline)
    assert "segments" not in doc["predictions"][1]
    rows = list(csv.DictReader(out.open()))
    assert [r["segment"] for r in rows[:3]] == ["", "0", "1"] and len(rows) == 1 + len(timeline) + 1
    assert rows[0]["label"] == doc["predictions"][0]["label"] and rows[1]["start"] != ""
    assert {f"p_{label}" for label in LABELS} | {"audio_label", "text_label"} <= set(rows[0])

    table = run("predict", models["fused"], long, "--set", "vad.max_segment=5").stdout
    assert sum(1 for line in table.splitlines() if line.startswith("  00:")) >= 10


def test_a_gold_transcript_model_asks_for_a_transcriber(models, clips):
    result = run("predict", models["gold"], clips / "a.wav")
    assert result.exit_code == 1
    assert "gold (corpus) transcripts" in result.stderr and "--transcriber NAME" in result.stderr
    assert "fake-asr" in result.stderr and result.stdout == ""
    ok = run("predict", models["gold"], clips / "a.wav", "--transcriber", "fake-asr", "--json")
    assert ok.exit_code == 0 and predictions_of(ok)["predictions"][0]["transcript"] == "unknown"


def test_option_errors_are_one_line(models, clips, tmp_path):
    bad_set = run("predict", models["fused"], clips / "a.wav", "--set", "vad=3")
    assert bad_set.exit_code == 1 and "SECTION.KEY=VALUE" in bad_set.stderr
    bad_key = run("predict", models["fused"], clips / "a.wav", "--set", "vad.nope=3")
    assert bad_key.exit_code == 1 and "valid options" in bad_key.stderr
    no_model = run("predict", tmp_path / "nothing", clips / "a.wav")
    assert no_model.exit_code == 1 and "nothing not found" in no_model.stderr
