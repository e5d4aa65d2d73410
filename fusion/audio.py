"""Audio input: decode (soundfile, no ffmpeg), mix to mono, resample (torchaudio), validate.

Handling of bad input (also the README's table):

=====================  =====================================================
input                  outcome
=====================  =====================================================
missing file           ``AudioFileNotFoundError``
not audio / corrupt    ``AudioDecodeError`` (soundfile's reason included)
zero samples           ``EmptyAudioError``
shorter than minimum   ``AudioTooShortError`` (``min_duration``, 0.1 s default)
NaN / Inf samples      ``NonFiniteAudioError``
samples beyond 1e10    ``AudioDecodeError`` (garbage float data: features would overflow)
all digital silence    warning (``on_silence="warn"``, default), or
                       ``SilentAudioError`` (``"error"``), or nothing (``"ignore"``)
stereo / 5.1           averaged to mono
other sample rate      resampled to ``target_sr`` (16 kHz default)
int16/int32/float64    converted to float32 in [-1, 1]
=====================  =====================================================
"""

from __future__ import annotations

import os
import struct
import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

from .errors import (
    AudioDecodeError,
    AudioError,
    AudioFileNotFoundError,
    AudioTooShortError,
    EmptyAudioError,
    NonFiniteAudioError,
    SilentAudioError,
)

TARGET_SR = 16000
MIN_DURATION = 0.1        # seconds; shorter clips carry too little for any encoder
SILENCE_PEAK = 1e-5       # peak |amplitude| at or below which a clip counts as digital silence
# Peak |amplitude| above which samples are garbage, not audio (float audio is nominally in [-1, 1];
# even raw int32 values passed as floats stay below it). Spectral features of larger values
# overflow float32 to Inf/NaN.
MAX_PEAK = 1e10
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".mp3")
# Largest denominator of the resampling ratio: torchaudio's sinc kernel grows with the reduced
# ratio, so a rate coprime with 16 kHz (e.g. 37813 Hz) would take minutes and gigabytes. The
# closest ratio p/q with q <= this is off by ~1e-4 at most (far below an audible pitch change);
# the usual rates (8k, 11.025k, 22.05k, 44.1k, 48k, 96k...) are resampled exactly.
MAX_RATIO_DENOMINATOR = 1000


class SilentAudioWarning(UserWarning):
    """A clip is all silence; predictions on it are not meaningful."""


@dataclass(frozen=True)
class AudioInfo:
    path: str
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def info(path: str | os.PathLike) -> AudioInfo:
    """Header information without decoding the samples."""
    path = Path(path)
    _check_exists(path)
    try:
        i = sf.info(str(path))
    except Exception as exc:
        if path.stat().st_size == 0:
            raise EmptyAudioError("empty file (0 bytes)", path) from exc
        raise AudioDecodeError(f"not a readable audio file ({_short(exc)})", path) from exc
    return AudioInfo(str(path), int(i.samplerate), int(i.channels), int(i.frames))


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise AudioFileNotFoundError("file not found", path)
    if path.is_dir():
        raise AudioDecodeError("is a directory, not an audio file", path)
    if not os.access(path, os.R_OK):
        raise AudioDecodeError("permission denied", path)


def _to_float32(data: np.ndarray) -> np.ndarray:
    if np.issubdtype(data.dtype, np.integer):
        scale = float(np.iinfo(data.dtype).max) + 1.0
        if data.dtype == np.uint8:  # 8-bit PCM is offset binary
            return ((data.astype(np.float32) - 128.0) / 128.0)
        return (data.astype(np.float64) / scale).astype(np.float32)
    if np.issubdtype(data.dtype, np.floating):
        return data.astype(np.float32, copy=False)
    raise AudioError(f"unsupported sample type {data.dtype}; expected integer or floating point")


def to_mono(data: np.ndarray) -> np.ndarray:
    """[S] or [S, C] (soundfile layout) or [C, S] with C <= 8 -> [S] (channel mean)."""
    if data.ndim == 1:
        return data
    if data.ndim != 2:
        raise AudioError(f"audio array must be 1-D or 2-D, got shape {tuple(data.shape)}")
    if data.shape[0] <= 8 and data.shape[0] < data.shape[1]:
        data = data.T  # [C, S] -> [S, C]
    return data.mean(axis=1)  # [S]


def resample(wav: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """[S] float32 -> [S'] float32 with torchaudio's band-limited sinc resampler."""
    if orig_sr == target_sr:
        return wav
    if orig_sr <= 0:
        raise AudioError(f"invalid sample rate {orig_sr}")
    import torch
    import torchaudio.functional as AF

    ratio = Fraction(int(target_sr), int(orig_sr)).limit_denominator(MAX_RATIO_DENOMINATOR)
    out = AF.resample(torch.from_numpy(np.ascontiguousarray(wav)), ratio.denominator, ratio.numerator)
    return out.numpy().astype(np.float32, copy=False)


def load(
    source: str | os.PathLike | np.ndarray,
    sr: int | None = None,
    *,
    target_sr: int = TARGET_SR,
    min_duration: float = MIN_DURATION,
    on_silence: str = "warn",
) -> np.ndarray:
    """Decode a file (or take an array recorded at ``sr``) -> float32 mono [S] at ``target_sr``.

    Raises a subclass of :class:`fusion.errors.AudioError` that names the file and the problem.
    """
    if on_silence not in ("warn", "error", "ignore"):
        raise ValueError(f"on_silence must be 'warn', 'error' or 'ignore', got {on_silence!r}")
    if isinstance(source, np.ndarray) or _is_tensor(source):
        path = None
        data = source.detach().cpu().numpy() if _is_tensor(source) else source
        if sr is None:
            raise AudioError("an audio array needs its sample rate: load(array, sr=...)")
        orig_sr = int(sr)
    else:
        path = Path(source)
        _check_exists(path)
        try:
            data, orig_sr = sf.read(str(path), dtype="float32", always_2d=True)  # [S, C]
        except Exception as exc:
            if path.stat().st_size == 0:
                raise EmptyAudioError("empty file (0 bytes)", path) from exc
            raise AudioDecodeError(f"not a readable audio file ({_short(exc)})", path) from exc
        declared = _wav_declared_frames(path)
        if declared is not None and declared > len(data):
            raise AudioDecodeError(f"truncated WAV: the header declares {declared} frames, "
                                   f"the file holds {len(data)}", path)
    return validate(data, orig_sr, path=path, target_sr=target_sr, min_duration=min_duration,
                    on_silence=on_silence)


def _wav_declared_frames(path: Path) -> int | None:
    """Frames a RIFF/WAVE header declares (None: not a WAV, or a streamed WAV without a size).

    libsndfile silently decodes the part of a truncated WAV that is present; comparing with
    the ``data`` chunk size is how a cut-off file is told apart from a short one.
    """
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = 0
        while len(header := f.read(8)) == 8:
            chunk, size = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk == b"fmt ":
                body = f.read(size + (size & 1))
                block_align = struct.unpack("<H", body[12:14])[0] if len(body) >= 14 else 0
            elif chunk == b"data":
                streamed = size in (0, 0xFFFFFFFF)
                return None if streamed or not block_align else size // block_align
            else:
                f.seek(size + (size & 1), os.SEEK_CUR)
    return None


def _is_tensor(x: object) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def validate(
    data: np.ndarray,
    orig_sr: int,
    *,
    path: Path | None = None,
    target_sr: int = TARGET_SR,
    min_duration: float = MIN_DURATION,
    on_silence: str = "warn",
) -> np.ndarray:
    """Checks + conversion shared by file and array input; returns float32 mono [S] at target_sr."""
    where = path
    data = np.asarray(data)
    if data.size == 0:  # before to_mono: a [0, C] array has no channel mean
        raise EmptyAudioError("audio has no samples", where)
    wav = to_mono(_to_float32(data))
    if not np.isfinite(wav).all():
        bad = int((~np.isfinite(wav)).sum())
        raise NonFiniteAudioError(f"audio contains {bad} NaN/Inf samples", where)
    peak = float(np.abs(wav).max())
    if peak > MAX_PEAK:
        raise AudioDecodeError(f"sample magnitude {peak:.3g} is far outside [-1, 1] (garbage float data)", where)
    duration = wav.size / orig_sr
    if duration < min_duration:
        raise AudioTooShortError(
            f"audio is {duration:.3f} s long, shorter than the minimum {min_duration} s", where
        )
    if peak <= SILENCE_PEAK:
        if on_silence == "error":
            raise SilentAudioError("audio is silent (all samples ~0)", where)
        if on_silence == "warn":
            warnings.warn(f"{where or 'audio array'}: audio is silent (all samples ~0)",
                          SilentAudioWarning, stacklevel=3)
    wav = resample(wav, orig_sr, target_sr)
    return np.ascontiguousarray(wav, dtype=np.float32)


def find_audio_files(root: str | os.PathLike, extensions: tuple[str, ...] = AUDIO_EXTENSIONS) -> list[Path]:
    """Every audio file below ``root`` (recursive, sorted)."""
    root = Path(root)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in extensions)
