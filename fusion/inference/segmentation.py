"""Energy-based voice activity detection: where the speech is in a long recording.

Input is a low-rate level envelope (frame RMS in dBFS, one value per ``hop`` seconds, see
:mod:`fusion.inference.sources`), so a one-hour file costs 360,000 floats, not its samples.
The detector:

1. measures each frame relative to the recording's *robust peak* (a high percentile of the
   frame levels, so one click does not set the scale) and to its *noise floor* (a low
   percentile), and ignores frames below an absolute floor (digital silence / hiss);
2. applies hysteresis: a speech region is a run of frames above the *release* level that
   contains at least one frame above the *start* level (enter high, leave low), where
   start = max(peak + threshold_db, noise + min_snr_db, floor) and
   release = max(peak + release_db, noise + min_snr_db / 2, floor);
3. bridges pauses shorter than ``min_silence``, drops bursts shorter than ``min_speech``, pads
   each region with ``pad`` seconds of context;
4. splits regions longer than ``max_segment`` at their quietest point (smoothed level), so
   every segment fits the encoders and the speech-to-text window.

Why not silero VAD (the usual choice, and inside faster-whisper): its weights would have to
be shipped or downloaded; fusion runs offline with no hub access, must work when the
faster-whisper plugin is not installed, and needs segment boundaries for *emotion* (whole
utterances with their pauses), not word-tight speech islands. An energy detector on a
streamed envelope needs no weights, is deterministic, and keeps memory flat with length;
its known limit is steady loud background noise (music, babble), which it counts as speech.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import ConfigError
from ..registry import make_config

WHERE = "voice activity detector 'energy'"
DIGITAL_ZERO_DB = -120.0  # level given to digital zero (log of 0 is -inf)


def frame_levels_db(frames: np.ndarray) -> np.ndarray:
    """frames [F, N] float -> RMS level of each frame in dBFS [F] (-inf for digital zero)."""
    power = np.mean(np.square(frames), axis=1, dtype=np.float64)  # [F]
    with np.errstate(divide="ignore"):
        return (10.0 * np.log10(power)).astype(np.float32)       # [F]


def _runs(active: np.ndarray) -> np.ndarray:
    """bool [F] -> [R, 2] (start, end) frame indices of the True runs, end exclusive."""
    edges = np.diff(np.concatenate([[0], active.astype(np.int8), [0]]))  # [F + 1]
    return np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)], axis=1)  # [R, 2]


class EnergyVAD:
    """Speech regions of a level envelope (see the module docstring for the rules)."""

    name: ClassVar[str] = "energy"

    @dataclass(frozen=True)
    class Config:
        threshold_db: float = -40.0    # a region starts where a frame exceeds robust peak + this (dB)
        release_db: float = -50.0      # ... and extends while frames stay above robust peak + this
        min_snr_db: float = 10.0       # ... and above noise floor + this to start (+ half of it to extend)
        floor_dbfs: float = -60.0      # frames below this absolute level are never speech
        peak_percentile: float = 99.5  # robust peak = this percentile of the audible frame levels
        noise_percentile: float = 10.0  # noise floor = this percentile of all frame levels
        min_speech: float = 0.25       # seconds; shorter regions are dropped as clicks
        min_silence: float = 0.4       # seconds; shorter pauses do not split a region
        pad: float = 0.15              # seconds of context added before and after each region
        max_segment: float = 15.0      # seconds; longer regions are split at their quietest point
        split_smoothing: float = 0.2   # seconds; box average of the level before looking for that point

    def __init__(self, config: "EnergyVAD.Config | dict | None" = None):
        self.config = c = make_config(type(self), config, WHERE)
        if not c.release_db <= c.threshold_db <= 0:
            raise ConfigError(f"{WHERE}: need release_db <= threshold_db <= 0, got {c.release_db}, "
                              f"{c.threshold_db}")
        if not 0 <= c.noise_percentile < c.peak_percentile <= 100:
            raise ConfigError(f"{WHERE}: need 0 <= noise_percentile < peak_percentile <= 100, got "
                              f"{c.noise_percentile}, {c.peak_percentile}")
        if c.min_snr_db < 0:
            raise ConfigError(f"{WHERE}: min_snr_db must be >= 0, got {c.min_snr_db}")
        if min(c.min_speech, c.min_silence, c.pad, c.split_smoothing) < 0:
            raise ConfigError(f"{WHERE}: min_speech, min_silence, pad and split_smoothing must be >= 0")
        if c.max_segment < max(1.0, 2 * c.min_speech):
            raise ConfigError(f"{WHERE}: max_segment must be >= 1 s and >= 2 * min_speech, got {c.max_segment}")

    def detect(self, levels_db: np.ndarray, hop: float) -> list[tuple[float, float]]:
        """levels_db [F] (dBFS per ``hop`` seconds) -> speech segments [(start, end)] in seconds,
        sorted, non-overlapping, each at most ``max_segment`` long. [] when nothing is speech."""
        c = self.config
        levels = np.maximum(np.asarray(levels_db, dtype=np.float32), DIGITAL_ZERO_DB)  # [F], no -inf
        audible = levels > c.floor_dbfs                    # [F]
        if not audible.any():
            return []
        peak = float(np.percentile(levels[audible], c.peak_percentile))
        noise = float(np.percentile(levels, c.noise_percentile))
        start = max(peak + c.threshold_db, noise + c.min_snr_db, c.floor_dbfs)
        release = max(peak + c.release_db, noise + c.min_snr_db / 2, c.floor_dbfs)
        loose = levels > release                           # [F] may continue a region
        strict = levels > start                            # [F] may start a region
        runs = [(a, b) for a, b in _runs(loose) if strict[a:b].any()]
        runs = self._bridge(runs, round(c.min_silence / hop))
        min_len, pad = round(c.min_speech / hop), round(c.pad / hop)
        total = len(levels)
        padded = [(max(0, a - pad), min(total, b + pad)) for a, b in runs if b - a >= min_len]
        padded = self._bridge(padded, 0)  # padding may make neighbours touch
        max_len = max(1, int(c.max_segment / hop))
        smooth = self._smoothed(levels, max(1, round(c.split_smoothing / hop)))
        pieces = [p for a, b in padded for p in self._split(a, b, max_len, smooth, max(1, min_len))]
        return [(a * hop, b * hop) for a, b in pieces]

    @staticmethod
    def _bridge(runs: list[tuple[int, int]], max_gap: int) -> list[tuple[int, int]]:
        """Merge runs separated by at most ``max_gap`` frames."""
        merged: list[tuple[int, int]] = []
        for a, b in runs:
            if merged and a - merged[-1][1] <= max_gap:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((int(a), int(b)))
        return merged

    @staticmethod
    def _smoothed(levels: np.ndarray, width: int) -> np.ndarray:
        """Box average of the level [F] (finite: digital zero was clipped to DIGITAL_ZERO_DB)."""
        return np.convolve(levels, np.full(width, 1.0 / width), mode="same")  # [F]

    def _split(self, a: int, b: int, max_len: int, smooth: np.ndarray, min_len: int) -> list[tuple[int, int]]:
        """Cut [a, b) at its quietest frames until every piece is at most ``max_len`` frames."""
        pieces = []
        while b - a > max_len:
            length = b - a
            if length <= 2 * max_len:  # one cut: both halves must fit
                lo, hi = length - max_len, max_len
            else:                      # cut a first piece of at most max_len, continue with the rest
                lo, hi = max_len // 2, max_len
            lo, hi = max(lo, min_len), min(hi, length - min_len)
            cut = a + lo + int(np.argmin(smooth[a + lo:a + hi + 1])) if hi >= lo else a + max_len
            pieces.append((a, cut))
            a = cut
        pieces.append((a, b))
        return pieces
