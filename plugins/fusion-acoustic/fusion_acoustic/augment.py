"""Augmentation: SpecAugment on feature batches (in the encoders) and waveform perturbation (for the engine).

* :class:`SpecAugment` masks frequency bins and time frames of a zero-padded batch
  ``[B, T, F]`` with torchaudio's ``FrequencyMasking`` / ``TimeMasking``. Masks are drawn
  per clip inside its valid frames only, and their sizes are bounded so that no mask
  set can cover a whole clip (or all bins). It is a no-op in eval mode.
* :func:`augment_waveform` adds white noise at a random SNR
  (``torchaudio.functional.add_noise``) and changes speed (``torchaudio.functional.speed``),
  drawing every random choice from the caller's ``numpy`` generator so runs are reproducible.
  Augmented audio must not be cached as the clip's features: the engine calls this before
  ``featurize`` only for training copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torchaudio.functional as AF
import torchaudio.transforms as T
from torch import Tensor, nn

from fusion.errors import ConfigError

from .validation import check_fraction, check_int


@dataclass(frozen=True)
class SpecAugmentOptions:
    """SpecAugment fields shared by the encoder Configs."""

    spec_augment: bool = True      # mask features in forward() while training
    freq_masks: int = 2            # frequency masks per clip
    freq_mask_width: int = 8       # a frequency mask covers fewer than this many bins
    time_masks: int = 2            # time masks per clip
    time_mask_width: int = 40      # a time mask covers fewer than this many frames...
    time_mask_ratio: float = 0.1   # ...and less than this fraction of the clip's frames


class SpecAugment(nn.Module):
    """feats [B, T, F] zero-padded, lengths [B] -> masked copy (training) or feats itself (eval)."""

    def __init__(self, options: SpecAugmentOptions, n_features: int, where: str):
        super().__init__()
        check_int(where, 0, freq_masks=options.freq_masks, freq_mask_width=options.freq_mask_width,
                  time_masks=options.time_masks, time_mask_width=options.time_mask_width)
        check_fraction(where, time_mask_ratio=options.time_mask_ratio)
        # torchaudio masks fewer than mask_param bins/frames, so these bounds keep >= 1 of each
        if options.freq_masks * options.freq_mask_width > n_features:
            raise ConfigError(f"{where}: freq_masks * freq_mask_width = "
                              f"{options.freq_masks * options.freq_mask_width} could mask all "
                              f"{n_features} feature bins; lower freq_masks or freq_mask_width")
        if options.time_masks * options.time_mask_ratio > 1.0:
            raise ConfigError(f"{where}: time_masks * time_mask_ratio = "
                              f"{options.time_masks * options.time_mask_ratio:g} > 1 could mask a whole "
                              "clip; lower time_masks or time_mask_ratio")
        self.enabled = bool(options.spec_augment)
        self.freq_masks = options.freq_masks
        self.time_masks = options.time_masks
        self.freq_masking = T.FrequencyMasking(options.freq_mask_width)
        # p bounds each mask by a fraction of the clip it is applied to, whatever its length
        self.time_masking = T.TimeMasking(options.time_mask_width, p=options.time_mask_ratio)

    def forward(self, feats: Tensor, lengths: Tensor) -> Tensor:
        if not (self.training and self.enabled):
            return feats
        out = feats.clone()
        for row, length in enumerate(lengths.tolist()):
            clip = out[row, :length].T          # [F, L] view: torchaudio's (freq, time) layout
            for _ in range(self.freq_masks):
                clip = self.freq_masking(clip)  # [F, L]
            for _ in range(self.time_masks):
                clip = self.time_masking(clip)  # [F, L]
            out[row, :length] = clip.T          # [L, F]
        return out


@dataclass(frozen=True)
class WaveformAugmentConfig:
    """What :func:`augment_waveform` may do to a training clip."""

    noise_prob: float = 0.5                       # probability of adding white noise
    snr_db: tuple[float, float] = (10.0, 30.0)    # noise SNR range (dB), drawn uniformly
    speed_prob: float = 0.5                       # probability of a speed change
    speeds: tuple[float, ...] = (0.9, 1.1)        # speed factors, one drawn uniformly

    def __post_init__(self):
        where = "waveform augmentation"
        for option in ("noise_prob", "speed_prob"):
            value = getattr(self, option)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{where}: {option} must be in [0, 1], got {value!r}")
        if len(self.snr_db) != 2 or self.snr_db[0] > self.snr_db[1]:
            raise ConfigError(f"{where}: snr_db must be (low, high) with low <= high, got {self.snr_db!r}")
        if not self.speeds or any(not s > 0 for s in self.speeds):
            raise ConfigError(f"{where}: speeds must be a non-empty list of factors > 0, got {self.speeds!r}")


def augment_waveform(wav: Tensor | np.ndarray, sr: int, rng: np.random.Generator | int | None = None,
                     config: WaveformAugmentConfig | None = None) -> Tensor | np.ndarray:
    """wav [S] float32 -> perturbed wav [S'] (speed, then noise), same type as the input.

    ``rng`` is a ``numpy.random.Generator`` (or a seed): the same generator state gives
    the same output. A silent clip stays silent (its SNR-scaled noise is zero).
    """
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
