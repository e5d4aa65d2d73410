"""Waveform augmentation: perturbed copies of training clips as extra training items.

* :func:`augment_waveform` changes speed (``torchaudio.functional.speed``) and adds white noise
  at a random SNR (``torchaudio.functional.add_noise``), drawing every random choice from the
  caller's ``numpy`` generator so runs are reproducible.
* :class:`AugmentConfig` is the ``augment`` section of an experiment (``--set augment.copies=1``):
  ``copies`` perturbed copies of every *training* clip are featurized through the acoustic encoder
  (:func:`fusion.features.augmented_acoustic_features`, cached under their own keys, never as the
  clip's features) and added to the training items of the audio and fused modes; validation and
  test items are never augmented. Copy ``c`` of clip ``id`` is drawn from :func:`copy_rng`
  ``(seed, id, c)`` alone, so it is the same in every fold, process and rerun.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from .errors import ConfigError
from .registry import check_options


def _number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float))


@dataclass(frozen=True)
class WaveformAugmentConfig:
    """What :func:`augment_waveform` may do to a training clip."""

    where: ClassVar[str] = "waveform augmentation"  # names the config in errors

    noise_prob: float = 0.5                       # probability of adding white noise
    snr_db: tuple[float, float] = (10.0, 30.0)    # noise SNR range (dB), drawn uniformly
    speed_prob: float = 0.5                       # probability of a speed change
    speeds: tuple[float, ...] = (0.9, 1.1)        # speed factors, one drawn uniformly

    def __post_init__(self):
        where = self.where
        for option in ("noise_prob", "speed_prob"):
            value = getattr(self, option)
            if not _number(value) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"{where}: {option} must be in [0, 1], got {value!r}")
        for option in ("snr_db", "speeds"):  # lists (TOML, --set) are stored as tuples
            if isinstance(getattr(self, option), list):
                object.__setattr__(self, option, tuple(getattr(self, option)))
        snr = self.snr_db
        if not isinstance(snr, tuple) or len(snr) != 2 or not all(_number(x) for x in snr) or not snr[0] <= snr[1]:
            raise ConfigError(f"{where}: snr_db must be (low, high) with low <= high, got {snr!r}")
        speeds = self.speeds
        if not isinstance(speeds, tuple) or not speeds or any(not _number(s) or not s > 0 for s in speeds):
            raise ConfigError(f"{where}: speeds must be a non-empty list of factors > 0, got {speeds!r}")
        # floats throughout: equal configs give equal cache keys (JSON writes 20 and 20.0 differently)
        for option in ("noise_prob", "speed_prob"):
            object.__setattr__(self, option, float(getattr(self, option)))
        object.__setattr__(self, "snr_db", tuple(float(x) for x in snr))
        object.__setattr__(self, "speeds", tuple(float(x) for x in speeds))


def augment_waveform(wav: Tensor | np.ndarray, sr: int, rng: np.random.Generator | int | None = None,
                     config: WaveformAugmentConfig | None = None) -> Tensor | np.ndarray:
    """wav [S] float32 -> perturbed wav [S'] (speed, then noise), same type as the input.

    ``rng`` is a ``numpy.random.Generator`` (or a seed): the same generator state gives
    the same output. A silent clip stays silent (its SNR-scaled noise is zero).
    """
    import torchaudio.functional as AF

    config = config or WaveformAugmentConfig()
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    is_numpy = isinstance(wav, np.ndarray)
    out = torch.as_tensor(wav, dtype=torch.float32).reshape(1, -1)  # [1, S]
    if rng.random() < config.speed_prob:
        factor = float(rng.choice(np.asarray(config.speeds, dtype=np.float64)))
        if factor != 1.0:
            out, _ = AF.speed(out, sr, factor)  # [1, S']
    if rng.random() < config.noise_prob:
        snr = torch.tensor([rng.uniform(*config.snr_db)], dtype=torch.float32)  # [1]
        noise = torch.from_numpy(rng.standard_normal(out.shape[-1]).astype(np.float32))[None]  # [1, S']
        out = AF.add_noise(out, noise, snr)  # [1, S']
    out = out[0]
    return out.numpy() if is_numpy else out


@dataclass(frozen=True)
class AugmentConfig(WaveformAugmentConfig):
    """The ``augment`` section of an experiment: perturbed copies of the training clips.

    Off by default (``copies = 0``). The perturbation defaults are those measured by
    bench/accuracy/noise_robustness.py (white noise at 0-20 dB on every copy, speed 0.9/1.1 half
    the time)."""

    where: ClassVar[str] = "augment"

    noise_prob: float = 1.0                       # probability of adding white noise to a copy
    snr_db: tuple[float, float] = (0.0, 20.0)     # noise SNR range (dB), drawn uniformly per copy
    speed_prob: float = 0.5                       # probability of a speed change of a copy
    speeds: tuple[float, ...] = (0.9, 1.1)        # speed factors, one drawn uniformly
    copies: int = 0                               # perturbed copies per training clip (0 = off)
    seed: int = 0                                 # seeds the perturbations (not the training seed: every
                                                  # training seed of an ablation shares the featurized copies)

    def __post_init__(self):
        super().__post_init__()
        for option in ("copies", "seed"):
            value = getattr(self, option)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{self.where}: {option} must be an integer >= 0, got {value!r}")

    @property
    def waveform(self) -> WaveformAugmentConfig:
        """The perturbation alone (what a copy's cache key and :func:`augment_waveform` need)."""
        return WaveformAugmentConfig(noise_prob=self.noise_prob, snr_db=self.snr_db, speed_prob=self.speed_prob,
                                     speeds=self.speeds)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        return {**d, "snr_db": list(self.snr_db), "speeds": list(self.speeds)}

    @classmethod
    def from_dict(cls, d: dict) -> "AugmentConfig":
        check_options(cls, d, cls.where)
        return cls(**d)


def copy_rng(seed: int, clip_id: str, copy: int) -> np.random.Generator:
    """The generator of copy ``copy`` of clip ``clip_id``: a function of the three alone."""
    digest = hashlib.sha256(str(clip_id).encode("utf-8")).digest()
    words = np.frombuffer(digest, dtype="<u4")[:4].tolist()  # 128 bits of the id
    return np.random.default_rng([seed, copy, *words])
