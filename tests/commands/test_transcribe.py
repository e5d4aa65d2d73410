"""`fusion transcribe`: cached speech-to-text over a manifest, JSONL output, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import fusion
from bench.asr.wer import word_errors
from fusion.cli import _register_plugin_commands, cli
from fusion.data import Utterance, write_manifest
from tests.conftest import require_shared


def run(*args: str):
    _register_plugin_commands()  # what `fusion` does before parsing (adds `transcribe`)
    return CliRunner().invoke(cli, list(args))


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def ravdess_manifest(tmp_path) -> Path:
    """3 RAVDESS clips with their gold statements."""
    root = require_shared("data", "ravdess")
    names = ["Actor_01/03-01-01-01-01-01-01.flac", "Actor_02/03-01-01-01-02-01-02.flac",
             "Actor_03/03-01-05-02-02-01-03.flac"]
    gold = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
    utts = [Utterance(Path(n).stem, root / n, "x", n[6:8], transcript=gold[Path(n).stem.split("-")[4]])
            for n in names]
    return write_manifest(utts, tmp_path / "manifest.jsonl")


def test_transcribes_three_clips_then_serves_them_from_the_cache(ravdess_manifest, tmp_path):
    checkpoint = str(require_shared("models", "whisper", "tiny.en.pt"))
    out = tmp_path / "out.jsonl"
    args = ("transcribe", str(ravdess_manifest), "--transcriber", "whisper", "--model", checkpoint,
            "--language", "en", "-o", str(out), "--batch-size", "2")
    first = run(*args)
    assert first.exit_code == 0, first.output
    assert "3 transcribed, 0 from cache, 0 errors" in first.stdout
    rows = read_rows(out)
    gold = {u.id: u.transcript for u in fusion.read_manifest(ravdess_manifest)}
    assert [r["id"] for r in rows] == list(gold)
    assert all(word_errors(r["transcript"], gold[r["id"]]) <= 1 and "error" not in r for r in rows), rows

    out.unlink()
    second = run(*args)
    assert second.exit_code == 0, second.output
    assert "0 transcribed, 3 from cache, 0 errors" in second.stdout
    assert read_rows(out) == rows


def test_cache_follows_the_transcriber_and_failed_clips_are_reported(fake_plugins, make_wav, tmp_path):
    from tests.fakes import EchoTranscriber

    clips = [make_wav(f"c{i}.wav", freq=200 + 50 * i) for i in range(3)]
    utts = [Utterance(p.stem, p, "x", "s") for p in clips]
    utts.insert(1, Utterance("gone", tmp_path / "gone.wav", "x", "s"))
    manifest = write_manifest(utts, tmp_path / "m.jsonl")
    out = tmp_path / "out.jsonl"
    EchoTranscriber.total_calls = 0

    result = run("transcribe", str(manifest), "-t", "fake-asr", "-o", str(out))
    assert result.exit_code == 1
    assert "3 transcribed, 0 from cache, 1 errors" in result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith("error: 1 of 4 utterances failed")
    rows = read_rows(out)  # the good ones are still written, in manifest order
    assert [r["id"] for r in rows] == ["c0", "gone", "c1", "c2"]
    assert rows[1]["transcript"] is None and "gone.wav" in rows[1]["error"]
    assert all(r["transcript"] == "unknown" for r in rows if r["id"] != "gone")
    assert EchoTranscriber.total_calls == 3

    again = run("transcribe", str(manifest), "-t", "fake-asr", "-o", str(out))
    assert "0 transcribed, 3 from cache, 1 errors" in again.stdout
    assert EchoTranscriber.total_calls == 3  # nothing decoded the second time

    fresh = run("transcribe", str(manifest), "-t", "fake-asr", "-o", str(out), "--no-cache")
    assert "3 transcribed, 0 from cache, 1 errors" in fresh.stdout
    assert EchoTranscriber.total_calls == 6


def test_gold_transcriber_counts_as_transcribed(make_wav, tmp_path):
    utts = [Utterance("a", make_wav("a.wav"), "x", "s", transcript="hello there")]
    out = tmp_path / "gold.jsonl"
    result = run("transcribe", str(write_manifest(utts, tmp_path / "m.jsonl")), "-t", "gold", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "1 transcribed, 0 from cache, 0 errors" in result.stdout
    assert read_rows(out) == [{"id": "a", "transcript": "hello there"}]


@pytest.mark.parametrize("args, message", [
    (("-t", "no-such-asr"), "error: unknown transcriber 'no-such-asr'; valid choices: "),
    (("-t", "gold", "--model", "x"), "error: transcriber 'gold': unknown option(s) model; valid options: missing"),
])
def test_bad_transcriber_choice_is_one_clean_line(make_wav, tmp_path, args, message):
    manifest = write_manifest([Utterance("a", make_wav("a.wav"), "x", "s")], tmp_path / "m.jsonl")
    out = tmp_path / "out.jsonl"
    result = run("transcribe", str(manifest), *args, "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [result.stderr.strip()]  # exactly one line
    assert result.stderr.startswith(message)
    if "unknown transcriber" in message:
        assert "gold" in result.stderr and "whisper" in result.stderr
    assert not out.exists()
