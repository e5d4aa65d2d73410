"""The `whisper` transcriber: real tiny.en on RAVDESS, silence, no-speech rule, cache identity, errors."""

from __future__ import annotations

import urllib.error

import numpy as np
import pytest
import soundfile as sf

import fusion
from bench.asr.wer import word_errors
from fusion.errors import ConfigError, TranscriptionError
from fusion.transcripts import is_silent, speech_text
from tests.conftest import require_shared, tone

CLIP = "Actor_01/03-01-01-01-01-01-01.flac"  # statement 01
GOLD = "Kids are talking by the door"


@pytest.fixture(scope="module")
def checkpoint():
    return str(require_shared("models", "whisper", "tiny.en.pt"))


@pytest.fixture(scope="module")
def transcriber(checkpoint):
    return fusion.get_transcriber("whisper").build({"model": checkpoint})


def ravdess_2s() -> np.ndarray:
    """0.8-2.8 s of a RAVDESS clip: the spoken sentence without the leading/trailing silence."""
    wav, sr = sf.read(require_shared("data", "ravdess", CLIP), dtype="float32")
    assert sr == 16000
    return wav[int(0.8 * sr): int(2.8 * sr)]


def test_registered_with_alias():
    assert fusion.get_transcriber("openai-whisper").name == "whisper"
    assert fusion.get_transcriber("whisper").load().__name__ == "WhisperTranscriber"


def test_two_second_ravdess_clip_gives_the_gold_sentence(transcriber):
    text = transcriber.transcribe(ravdess_2s(), 16000)
    assert word_errors(text, GOLD) <= 1, text


def test_digital_silence_gives_empty_without_decoding(transcriber, monkeypatch):
    monkeypatch.setattr(transcriber, "loaded_model", lambda: pytest.fail("silence must not be decoded"))
    assert transcriber.transcribe(np.zeros(32000, np.float32), 16000) == ""
    quiet = (1e-5 * np.random.default_rng(0).standard_normal(32000)).astype(np.float32)  # -100 dBFS
    assert transcriber.transcribe(quiet, 16000) == ""


def test_noise_without_speech_gives_empty_through_the_no_speech_rule(checkpoint):
    # energy check off: the decoder's own no-speech probability must reject the noise
    t = fusion.get_transcriber("whisper").build({"model": checkpoint, "silence_dbfs": -200.0})
    noise = (0.01 * np.random.default_rng(0).standard_normal(32000)).astype(np.float32)
    assert not is_silent(noise, -200.0)
    assert t.transcribe(noise, 16000) == ""


def test_speech_text_applies_whispers_no_speech_rule():
    segments = [(" um", 0.9, -1.5),        # likely no speech and unsure decode: dropped
                (" Kids are", 0.9, -0.3),  # confident decode overrides the no-speech vote
                (" talking.", 0.1, -2.0)]  # speech, even if unsure
    assert speech_text(segments, no_speech_threshold=0.6, logprob_threshold=-1.0) == "Kids are talking."
    assert speech_text([], 0.6, -1.0) == ""


def test_featurize_key_follows_weights_and_decoding_options(tmp_path, checkpoint):
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    a.write_bytes(b"weights A")
    b.write_bytes(b"weights B")
    build = fusion.get_transcriber("whisper").build
    key = build({"model": str(a)}).featurize_key()
    assert build({"model": str(a)}).featurize_key() == key
    assert build({"model": str(b)}).featurize_key() != key  # other file content
    assert build({"model": str(a), "language": "en"}).featurize_key() != key
    assert build({"model": str(a), "beam_size": 5}).featurize_key() != key
    assert build({"model": str(a), "no_speech_threshold": 0.5}).featurize_key() != key
    assert build({"model": "tiny.en"}).featurize_key() != key
    copy = tmp_path / "copy.pt"
    copy.write_bytes(a.read_bytes())  # same weights elsewhere: same transcripts, same key
    assert build({"model": str(copy)}).featurize_key() == key
    assert "sha256:" in build({"model": checkpoint}).featurize_key()["model"]


def test_default_model_comes_from_the_environment(monkeypatch, checkpoint):
    monkeypatch.setenv("FUSION_WHISPER_MODEL", checkpoint)
    assert fusion.get_transcriber("whisper").build().config.model == checkpoint
    monkeypatch.delenv("FUSION_WHISPER_MODEL")
    assert fusion.get_transcriber("whisper").build().config.model == "tiny.en"


def test_offline_download_failure_says_how_to_pass_a_checkpoint(monkeypatch):
    import whisper

    calls = []

    def offline(name, **kw):
        calls.append(name)
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(whisper, "load_model", offline)
    t = fusion.get_transcriber("whisper").build({"model": "small"})
    for _ in range(2):
        with pytest.raises(TranscriptionError, match=r"--model PATH.*tiny\.en\.pt"):
            t.transcribe(tone(1.0), 16000)
    assert calls == ["small"]  # the failure is remembered, not retried for every batch


def test_bad_model_and_input_errors_name_the_problem(tmp_path):
    build = fusion.get_transcriber("whisper").build
    with pytest.raises(TranscriptionError, match="unknown model 'huge'.*tiny.en"):
        build({"model": "huge"})
    with pytest.raises(TranscriptionError, match="not found"):
        build({"model": str(tmp_path / "missing.pt")})
    with pytest.raises(ConfigError, match="'whisper'.*beam_size must be >= 1"):
        build({"model": "tiny.en", "beam_size": 0})
    t = build({"model": "tiny.en"})
    with pytest.raises(TranscriptionError, match="16000 Hz"):
        t.transcribe(np.zeros(8000, np.float32), 8000)
