"""Streamed reading of long files: the envelope in blocks, segments by seeking; memory stays flat."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from fusion import audio as audio_io
from fusion.errors import AudioDecodeError, AudioFileNotFoundError, EmptyAudioError
from fusion.inference import sources
from fusion.inference.sources import ArraySource, FileSource
from tests.conftest import tone


def test_streamed_envelope_equals_the_envelope_of_the_decoded_file(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "BLOCK_SECONDS", 0.37)  # many blocks, none a whole number of hops
    wav = np.concatenate([tone(1.234, 44100, channels=2), np.zeros((4410, 2), np.float32),
                          tone(0.5, 44100, freq=440, channels=2)])
    path = tmp_path / "stereo.wav"
    sf.write(str(path), wav, 44100, subtype="FLOAT")
    streamed = FileSource(path).levels(0.01)
    whole = ArraySource(wav.mean(axis=1), 44100).levels(0.01)
    assert len(streamed) == len(whole) == int(np.ceil(len(wav) / 441))
    finite = np.isfinite(whole)
    np.testing.assert_allclose(streamed[finite], whole[finite], atol=1e-3)
    assert (streamed[~finite] == -np.inf).all()


def test_read_decodes_only_the_segment_and_resamples_it(tmp_path):
    sr = 44100
    t = np.arange(10 * sr) / sr
    ramp = (t / 10).astype(np.float32)  # the value says where in the file a sample is
    path = tmp_path / "ramp.wav"
    sf.write(str(path), np.stack([ramp, ramp], axis=1), sr, subtype="FLOAT")
    piece = FileSource(path).read(4.0, 6.5)
    assert len(piece) == pytest.approx(2.5 * audio_io.TARGET_SR, abs=2)
    assert piece[len(piece) // 2] == pytest.approx(0.525, abs=2e-3)  # middle of 4.0-6.5 s
    assert FileSource(path).read(9.5, 12.0).shape[0] == pytest.approx(0.5 * audio_io.TARGET_SR, abs=2)


def test_array_source_reads_the_same_samples():
    wav = tone(3.0)
    src = ArraySource(wav)
    np.testing.assert_array_equal(src.read(1.0, 2.0), wav[16000:32000])
    assert src.duration == pytest.approx(3.0) and src.segment_key(0, 1) is None


def test_segment_keys_depend_on_content_and_range(tmp_path, make_wav):
    a, b = FileSource(make_wav("a.wav", 2.0)), FileSource(make_wav("b.wav", 2.0, freq=300))
    assert a.segment_key(0, 1) != a.segment_key(0, 1.5)
    assert a.segment_key(0, 1) != b.segment_key(0, 1)
    assert a.segment_key(0, 1) == FileSource(tmp_path / "a.wav").segment_key(0, 1)


def _peak_bytes(path) -> tuple[int, int]:
    """(traced peak of the envelope pass + one 15 s segment, number of envelope frames)."""
    source = FileSource(path)
    tracemalloc.start()
    levels = source.levels(0.01)
    segment = source.read(100.0, 115.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(segment) == 15 * 16000
    return peak, len(levels)


def test_memory_of_long_file_reading_does_not_grow_with_length(tmp_path):
    """10 minutes at 16 kHz is 38 MB as float32; streaming stays near one block whatever the length."""
    peaks = {}
    for minutes in (2.5, 10):
        path = tmp_path / f"{minutes}min.wav"
        with sf.SoundFile(str(path), "w", samplerate=16000, channels=1, subtype="PCM_16") as f:
            for _ in range(int(minutes * 2)):
                f.write(tone(30.0))
        peaks[minutes], frames = _peak_bytes(path)
        assert frames == minutes * 6000
    assert peaks[10] < 8e6, f"peak {peaks[10] / 1e6:.1f} MB"
    assert peaks[10] < 1.3 * peaks[2.5], peaks  # 4x the length, about the same memory


def test_bad_files_raise_audio_errors_naming_them(tmp_path):
    with pytest.raises(AudioFileNotFoundError, match="missing.wav"):
        FileSource(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"RIFF not really a wav file at all")
    with pytest.raises(AudioDecodeError, match="junk.wav"):
        FileSource(tmp_path / "junk.wav")
    sf.write(str(tmp_path / "empty.wav"), np.zeros(0, np.float32), 16000)
    with pytest.raises(EmptyAudioError, match="empty.wav"):
        FileSource(tmp_path / "empty.wav")
