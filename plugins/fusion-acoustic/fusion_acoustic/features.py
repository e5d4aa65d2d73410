"""Frame features for the acoustic encoders: log-mel and MFCC (+ deltas), with torchaudio transforms.

A featurizer is built once per encoder (the transforms hold their window and filter
bank) and called on one utterance at a time: ``wav [S] float32 16 kHz -> [T, F]``.
Its output is deterministic and cached by the engine under :meth:`key`, which names
only what changes the features, so encoders sharing a front end share the cache.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import torch
import torchaudio.transforms as T
from torch import Tensor

from fusion.errors import AudioError, ConfigError, EmptyAudioError

from .validation import check_int, check_positive

FEATURES_VERSION = 1  # bump when the computation changes so stale cache entries are not reused
NORM_EPS = 1e-5       # added to the variance in per-utterance normalisation


@dataclass(frozen=True)
class FrameOptions:
    """Framing fields shared by the feature Configs."""

    win_ms: float = 25.0    # analysis window length (ms)
    hop_ms: float = 10.0    # hop between frames (ms); one frame per hop
    normalize: bool = True  # per-utterance mean/variance normalisation of each feature over time


@dataclass(frozen=True)
class LogMelOptions(FrameOptions):
    """Log-mel fields of an encoder Config."""

    n_mels: int = 64           # mel bins = feature size F
    log_floor: float = 1e-6    # mel power is clamped to at least this before the log


@dataclass(frozen=True)
class MFCCOptions(FrameOptions):
    """MFCC fields of an encoder Config."""

    n_mfcc: int = 20      # cepstral coefficients kept
    n_mels: int = 40      # mel bins the MFCC are computed from (>= n_mfcc)
    deltas: bool = True   # append deltas and delta-deltas (F = 3 * n_mfcc)


def normalize_utterance(feats: Tensor) -> Tensor:
    """feats [T, F] -> zero mean, unit variance per feature over time (a constant feature -> 0)."""
    var, mean = torch.var_mean(feats, dim=0, keepdim=True, correction=0)  # [1, F] each
    return (feats - mean) * torch.rsqrt(var + NORM_EPS)                   # [T, F]


def as_waveform(wav: Tensor | np.ndarray, min_samples: int) -> Tensor:
    """wav [S] (or [1, S]) -> float32 CPU [S'], zero-padded to ``min_samples`` if shorter."""
    wav = torch.as_tensor(wav).detach().to("cpu", torch.float32)
    if wav.dim() == 2 and wav.shape[0] == 1:
        wav = wav[0]
    if wav.dim() != 1:
        raise AudioError(f"featurize expects a mono waveform [S], got shape {tuple(wav.shape)}")
    if wav.numel() == 0:
        raise EmptyAudioError("audio has no samples")
    if wav.numel() < min_samples:  # the centred STFT reflects at the edges; too short to reflect
        wav = torch.nn.functional.pad(wav, (0, min_samples - wav.numel()))
    return wav


class _Featurizer:
    """Shared framing: window / hop in samples, FFT size, and the cache key."""

    kind = ""

    def __init__(self, options: FrameOptions, where: str, sample_rate: int):
        check_positive(where, win_ms=options.win_ms, hop_ms=options.hop_ms)
        self.options = options
        self.sample_rate = sample_rate
        self.win_length = round(sample_rate * options.win_ms / 1000)
        self.hop_length = round(sample_rate * options.hop_ms / 1000)
        if self.win_length < 2 or self.hop_length < 1:
            raise ConfigError(f"{where}: win_ms={options.win_ms} / hop_ms={options.hop_ms} give "
                              f"{self.win_length} / {self.hop_length} samples at {sample_rate} Hz; "
                              "need a window of >= 2 samples and a hop of >= 1")
        self.n_fft = 2 ** math.ceil(math.log2(self.win_length))

    def key(self) -> dict:
        """What identifies these features in the cache (independent of the model's own fields)."""
        names = [f.name for f in fields(type(self).options_type)]
        return {"features": self.kind, "version": FEATURES_VERSION, "sample_rate": self.sample_rate,
                **{name: getattr(self.options, name) for name in names}}

    def __call__(self, wav: Tensor | np.ndarray) -> Tensor:
        """wav [S] float32 -> features [T, F] with T = 1 + S // hop (float32, contiguous)."""
        wav = as_waveform(wav, self.n_fft)
        with torch.no_grad():
            feats = self.compute(wav)  # [T, F]
            if self.options.normalize:
                feats = normalize_utterance(feats)
        return feats.contiguous()

    def compute(self, wav: Tensor) -> Tensor:
        raise NotImplementedError


class LogMel(_Featurizer):
    """wav [S] -> log mel power [T, n_mels]."""

    kind = "log-mel"
    options_type = LogMelOptions

    def __init__(self, options: LogMelOptions, where: str, sample_rate: int = 16000):
        super().__init__(options, where, sample_rate)
        check_int(where, 1, n_mels=options.n_mels)
        check_positive(where, log_floor=options.log_floor)
        self.dim = options.n_mels
        self.mel = T.MelSpectrogram(sample_rate, n_fft=self.n_fft, win_length=self.win_length,
                                    hop_length=self.hop_length, n_mels=options.n_mels, power=2.0)

    def compute(self, wav: Tensor) -> Tensor:
        mel = self.mel(wav)                                          # [n_mels, T]
        return torch.log(mel.clamp(min=self.options.log_floor)).T   # [T, n_mels]


class MFCC(_Featurizer):
    """wav [S] -> MFCC [T, n_mfcc], or [T, 3 * n_mfcc] with deltas and delta-deltas."""

    kind = "mfcc"
    options_type = MFCCOptions

    def __init__(self, options: MFCCOptions, where: str, sample_rate: int = 16000):
        super().__init__(options, where, sample_rate)
        check_int(where, 1, n_mfcc=options.n_mfcc)
        check_int(where, options.n_mfcc, n_mels=options.n_mels)
        self.dim = options.n_mfcc * (3 if options.deltas else 1)
        melkwargs = {"n_fft": self.n_fft, "win_length": self.win_length, "hop_length": self.hop_length,
                     "n_mels": options.n_mels}
        self.mfcc = T.MFCC(sample_rate, n_mfcc=options.n_mfcc, log_mels=True, melkwargs=melkwargs)
        self.delta = T.ComputeDeltas()

    def compute(self, wav: Tensor) -> Tensor:
        coeffs = self.mfcc(wav)                      # [n_mfcc, T]
        if self.options.deltas:
            delta = self.delta(coeffs)               # [n_mfcc, T]
            coeffs = torch.cat([coeffs, delta, self.delta(delta)], dim=0)  # [3 * n_mfcc, T]
        return coeffs.T                              # [T, F]
