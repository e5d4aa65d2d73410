"""fusion.audio: decoding, mix-down, resampling, sample types, and every kind of bad input.

Each bad input must raise the right fusion.errors subclass with a message naming the file.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings, strategies as st

from fusion import audio
from fusion.errors import (
    AudioDecodeError,
    AudioError,
    AudioFileNotFoundError,
    AudioTooShortError,
    EmptyAudioError,
    NonFiniteAudioError,
    SilentAudioError,
)
from tests.conftest import require_shared, tone


def peak_frequency(wav: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(wav * np.hanning(wav.size)))
    return float(np.fft.rfftfreq(wav.size, 1 / sr)[np.argmax(spectrum)])


def sine(freq: float, duration: float, sr: int, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq * np.arange(int(duration * sr)) / sr)).astype(np.float32)


# ----------------------------------------------------------------------------- good input


@pytest.mark.parametrize("ext, subtype", [("wav", "PCM_16"), ("flac", "PCM_16"), ("ogg", "VORBIS")])
def test_reads_wav_flac_ogg(tmp_path, ext, subtype):
    original = sine(440.0, 1.0, 16000)
    path = tmp_path / f"clip.{ext}"
    sf.write(path, original, 16000, subtype=subtype)
    wav = audio.load(path)
    assert wav.dtype == np.float32 and wav.ndim == 1 and wav.flags["C_CONTIGUOUS"]
    assert wav.size == original.size
    assert peak_frequency(wav, 16000) == pytest.approx(440.0, abs=2.0)
    if ext != "ogg":  # lossless
        np.testing.assert_allclose(wav, original, atol=1e-4)
    assert audio.load(str(path)).size == wav.size  # str paths too


@pytest.mark.parametrize("orig_sr, freq", [(48000, 1000.0), (44100, 440.0), (22050, 3000.0), (8000, 300.0)])
def test_resampling_keeps_length_and_frequency(tmp_path, orig_sr, freq):
    path = tmp_path / f"tone_{orig_sr}.wav"
    sf.write(path, sine(freq, 2.0, orig_sr), orig_sr)
    wav = audio.load(path)
    assert wav.size == 32000  # 2 s at 16 kHz
    assert peak_frequency(wav, 16000) == pytest.approx(freq, abs=1.0)
    assert 0.3 < np.abs(wav).max() < 0.6  # amplitude preserved (0.5)


def test_resampling_removes_content_above_the_new_nyquist():
    wav = audio.load(sine(12000.0, 1.0, 48000) + sine(500.0, 1.0, 48000), sr=48000)
    spectrum = np.abs(np.fft.rfft(wav))
    freqs = np.fft.rfftfreq(wav.size, 1 / 16000)
    assert spectrum[np.abs(freqs - 500) < 5].max() > 100 * spectrum[freqs > 7000].max()


def test_resampling_unusual_rate_is_fast_and_accurate():
    """A rate coprime with 16 kHz must not build a gigantic exact-ratio kernel."""
    start = time.perf_counter()
    wav = audio.load(sine(1000.0, 1.0, 37813), sr=37813)
    assert time.perf_counter() - start < 10
    assert abs(wav.size - 16000) <= 2
    assert peak_frequency(wav, 16000) == pytest.approx(1000.0, abs=1.0)


@pytest.mark.parametrize("channels", [2, 6])
def test_multichannel_files_are_averaged(tmp_path, channels):
    base = sine(440.0, 1.0, 48000, amp=0.1)
    data = np.stack([base * (k + 1) for k in range(channels)], axis=1)  # [S, C], different gains
    path = tmp_path / f"{channels}ch.wav"
    sf.write(path, data, 48000, subtype="PCM_24")
    assert audio.info(path).channels == channels
    wav = audio.load(path)
    expected = audio.load(base * (channels + 1) / 2, sr=48000)  # the channel mean
    np.testing.assert_allclose(wav, expected, atol=1e-4)


@pytest.mark.parametrize("layout", ["samples_channels", "channels_samples"])
def test_multichannel_arrays_are_averaged(layout):
    data = np.stack([sine(440.0, 0.5, 16000) * g for g in (0.2, 0.4, 0.6, 0.8, 1.0, 1.2)], axis=1)  # [S, 6]
    wav = audio.load(data if layout == "samples_channels" else data.T, sr=16000)
    np.testing.assert_allclose(wav, data.mean(axis=1), atol=1e-6)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_sample_types_in_files(tmp_path, subtype):
    original = sine(440.0, 0.5, 16000, amp=0.7)
    path = tmp_path / f"{subtype}.wav"
    sf.write(path, original, 16000, subtype=subtype)
    np.testing.assert_allclose(audio.load(path), original, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.float64, np.float32])
def test_sample_types_in_arrays(dtype):
    original = sine(440.0, 0.5, 16000, amp=0.7).astype(np.float64)
    data = (original * np.iinfo(dtype).max).astype(dtype) if np.issubdtype(dtype, np.integer) \
        else original.astype(dtype)
    wav = audio.load(data, sr=16000)
    assert wav.dtype == np.float32
    np.testing.assert_allclose(wav, original, atol=1e-4)


def test_torch_tensor_input():
    torch = pytest.importorskip("torch")
    wav = audio.load(torch.from_numpy(sine(440.0, 0.5, 48000)), sr=48000)
    assert wav.dtype == np.float32 and wav.size == 8000


@pytest.mark.parametrize("name", ["dür ü/émotion clip 1.wav", "日本語 テスト.flac", "a b/c  d.ogg"])
def test_unicode_and_spaces_in_paths(tmp_path, name):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(0.5), 16000)
    assert audio.load(path).size == 8000
    assert audio.info(path).frames == 8000
    assert audio.find_audio_files(tmp_path) == [path]


def test_find_audio_files_recursive_sorted_filtered(tmp_path):
    for rel in ["b/2.WAV", "a/1.flac", "a/notes.txt", "c.ogg", "d.csv"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    found = [p.relative_to(tmp_path).as_posix() for p in audio.find_audio_files(tmp_path)]
    assert found == ["a/1.flac", "b/2.WAV", "c.ogg"]


def test_info_reads_the_header(make_wav):
    path = make_wav("x.wav", duration=1.5, sr=22050, channels=2)
    i = audio.info(path)
    assert (i.sample_rate, i.channels, i.frames) == (22050, 2, int(1.5 * 22050))
    assert i.duration == pytest.approx(1.5)


# ----------------------------------------------------------------------------- bad input


def write_truncated(tmp_path, ext: str, keep: float) -> Path:
    full = tmp_path / f"full.{ext}"
    sf.write(full, tone(1.0), 16000)
    data = full.read_bytes()
    cut = tmp_path / f"cut_{keep}.{ext}"
    cut.write_bytes(data[: int(len(data) * keep)] if keep < 1 else data[: int(keep)])
    return cut


def make_bad(tmp_path: Path, kind: str) -> Path:
    """A file (or path) of the given kind of bad input."""
    if kind == "missing":
        return tmp_path / "nope" / "missing.wav"
    if kind == "directory":
        (tmp_path / "folder.wav").mkdir()
        return tmp_path / "folder.wav"
    if kind == "text":
        path = tmp_path / "notes.wav"
        path.write_text("this is not audio, just text pretending to be a wav\n" * 20)
        return path
    if kind == "zero_bytes":
        path = tmp_path / "empty.wav"
        path.write_bytes(b"")
        return path
    if kind == "header_only":
        path = tmp_path / "header_only.wav"
        sf.write(path, np.zeros((0, 1), np.float32), 16000)
        return path
    if kind == "truncated_wav":
        return write_truncated(tmp_path, "wav", 0.5)
    if kind == "truncated_wav_header":
        return write_truncated(tmp_path, "wav", 30)  # cut inside the header
    if kind == "truncated_flac":
        return write_truncated(tmp_path, "flac", 0.5)
    if kind == "truncated_flac_header":
        return write_truncated(tmp_path, "flac", 20)
    if kind in ("nan", "inf"):
        data = tone(1.0)
        data[1000:1010] = np.nan if kind == "nan" else np.inf
        path = tmp_path / f"{kind}.wav"
        sf.write(path, data, 16000, subtype="FLOAT")
        return path
    if kind == "too_short":
        path = tmp_path / "short.wav"
        sf.write(path, tone(0.05), 16000)
        return path
    raise ValueError(kind)


BAD_INPUTS = {
    "missing": (AudioFileNotFoundError, "not found"),
    "directory": (AudioDecodeError, "directory"),
    "text": (AudioDecodeError, "not a readable audio file"),
    "zero_bytes": (EmptyAudioError, "0 bytes"),
    "header_only": (EmptyAudioError, "no samples"),
    "truncated_wav": (AudioDecodeError, "truncated"),
    "truncated_wav_header": (AudioDecodeError, "not a readable audio file"),
    "truncated_flac": (AudioDecodeError, "not a readable audio file"),
    "truncated_flac_header": (AudioDecodeError, "not a readable audio file"),
    "nan": (NonFiniteAudioError, "10 NaN/Inf"),
    "inf": (NonFiniteAudioError, "10 NaN/Inf"),
    "too_short": (AudioTooShortError, "0.050 s"),
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_raises_the_right_error_naming_the_file(tmp_path, kind):
    error, reason = BAD_INPUTS[kind]
    path = make_bad(tmp_path, kind)
    with pytest.raises(error) as info:
        audio.load(path)
    assert type(info.value) is error
    assert str(path) in str(info.value) and info.value.path == str(path)
    assert reason in str(info.value)


def test_missing_file_is_also_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        audio.load(tmp_path / "missing.flac")
    with pytest.raises(AudioFileNotFoundError):
        audio.info(tmp_path / "missing.flac")


def test_truncated_wav_is_not_confused_with_a_streamed_wav(tmp_path):
    """A data chunk size of 0 (written by some streaming recorders) means "unknown", not truncated."""
    path = tmp_path / "streamed.wav"
    sf.write(path, tone(0.5), 16000)
    data = bytearray(path.read_bytes())
    offset = data.index(b"data") + 4
    data[offset:offset + 4] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(data))
    assert audio.load(path).size == 8000


def test_info_of_non_audio(tmp_path):
    path = make_bad(tmp_path, "text")
    with pytest.raises(AudioDecodeError, match="notes.wav"):
        audio.info(path)


def test_array_errors():
    with pytest.raises(AudioError, match=r"sample rate: load\(array, sr=...\)"):
        audio.load(tone(1.0))
    with pytest.raises(EmptyAudioError, match="no samples"):
        audio.load(np.zeros(0, np.float32), sr=16000)
    with pytest.raises(AudioTooShortError, match="0.050 s"):
        audio.load(tone(0.05), sr=16000)
    with pytest.raises(AudioTooShortError):
        audio.load(tone(0.5), sr=16000, min_duration=1.0)
    with pytest.raises(NonFiniteAudioError):
        audio.load(np.full(16000, np.inf, np.float32), sr=16000)
    with pytest.raises(AudioError, match="1-D or 2-D"):
        audio.load(np.zeros((2, 2, 8000), np.float32), sr=16000)
    with pytest.raises(ValueError, match="on_silence"):
        audio.load(tone(1.0), sr=16000, on_silence="shout")


def test_silence_warns_by_default_errors_on_request(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(16000, np.float32), 16000)
    with pytest.warns(audio.SilentAudioWarning, match="silence.wav"):
        wav = audio.load(path)
    assert wav.size == 16000 and not wav.any()
    with pytest.raises(SilentAudioError) as info:
        audio.load(path, on_silence="error")
    assert str(path) in str(info.value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        audio.load(path, on_silence="ignore")
        audio.load(tone(1.0), sr=16000)  # a real signal does not warn


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root bypasses file permissions")
def test_unreadable_file(make_wav):
    path = make_wav("locked.wav")
    path.chmod(0)
    try:
        with pytest.raises(AudioDecodeError) as info:
            audio.load(path)
        assert str(path) in str(info.value) and "permission denied" in str(info.value)
    finally:
        path.chmod(0o644)


# ----------------------------------------------------------------------------- real files


def test_real_ravdess_originals_48k_mono_and_stereo():
    root = require_shared("data", "ravdess-original")
    files = sorted(root.glob("Actor_*/*.wav"))
    assert len(files) == 5
    stereo = {"03-01-02-01-01-02-01.wav", "03-01-08-01-02-02-01.wav", "03-01-02-01-02-02-05.wav"}
    for path in files:
        i = audio.info(path)
        assert i.sample_rate == 48000
        assert i.channels == (2 if path.name in stereo else 1), path.name
        wav = audio.load(path)
        assert wav.dtype == np.float32 and wav.ndim == 1
        assert abs(wav.size - i.frames / 3) <= 1
        assert np.isfinite(wav).all() and 0.01 < np.abs(wav).max() <= 1.0


def test_real_ravdess_16k_flac_is_not_resampled():
    path = require_shared("data", "ravdess", "Actor_01", "03-01-05-02-01-01-01.flac")
    raw, sr = sf.read(path, dtype="float32")
    assert sr == 16000
    np.testing.assert_array_equal(audio.load(path), raw)


# ----------------------------------------------------------------------------- properties


@settings(max_examples=30, deadline=None)
@given(
    sr=st.integers(8000, 96000),
    channels=st.integers(1, 8),
    duration=st.floats(0.1, 1.0),
    amplitude=st.floats(1e-3, 1.0),
    dtype=st.sampled_from(["float32", "float64", "int16", "int32"]),
    seed=st.integers(0, 2**16),
)
def test_any_rate_channels_and_type_gives_float32_mono_16k(sr, channels, duration, amplitude, dtype, seed):
    rng = np.random.default_rng(seed)
    frames = max(int(np.ceil(audio.MIN_DURATION * sr)), int(duration * sr))
    data = amplitude * np.clip(rng.standard_normal((frames, channels)), -1, 1)  # [S, C]
    if dtype.startswith("int"):
        data = np.round(data * np.iinfo(dtype).max).astype(dtype)
    else:
        data = data.astype(dtype)
    if channels == 1:
        data = data[:, 0]
    wav = audio.load(data, sr=sr, on_silence="ignore")
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert np.isfinite(wav).all()
    assert abs(wav.size - frames * audio.TARGET_SR / sr) <= 0.01 * frames * audio.TARGET_SR / sr
    assert np.abs(wav).max() <= 2.0 * amplitude + 1e-3  # no blow-up (sinc overshoot is small)
