"""Augmentation: SpecAugment on feature batches (in the encoders) and waveform perturbation (for the engine).

* :class:`SpecAugment` masks frequency bins and time frames of a zero-padded batch
  ``[B, T, F]`` with torchaudio's ``FrequencyMasking`` / ``TimeMasking``. Masks are drawn
  per clip inside its valid frames only, and their sizes are bounded so that no mask
  set can cover a whole clip (or all bins). It is a no-op in eval mode.
* :func:`augment_waveform` / :class:`WaveformAugmentConfig` (white noise at a random SNR, speed
  change, reproducible from a ``numpy`` generator) are defined in the core, :mod:`fusion.augment`,
  which also turns them into a training option (``--set augment.copies=1``); they are re-exported
  here. Augmented audio is never cached as the clip's features: the engine featurizes perturbed
  copies under their own keys, for training items only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torchaudio.transforms as T
from torch import Tensor, nn

from fusion.augment import WaveformAugmentConfig, augment_waveform  # noqa: F401 - re-exported
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
