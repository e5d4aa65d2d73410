"""Training-time augmentation of cached encoder frames (the featurize output is never changed).

Frozen states are cached once per clip, so waveform augmentation cannot be redrawn every epoch;
these perturbations act on the cached frames inside ``forward`` instead, and only in training:

* ``feature_noise``: Gaussian noise of this standard deviation added to every frame (the cached
  layers are layer-normed, so the scale is comparable across checkpoints);
* ``frame_dropout``: each valid frame is left out of the mask (and zeroed) with this probability;
* ``time_mask_ratio``: one contiguous span of up to this fraction of each clip is left out.

A clip always keeps at least one valid frame. In eval mode the inputs are returned unchanged.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from fusion.errors import ConfigError


class FrameAugment(nn.Module):
    """(x [B, T, ...], mask [B, T]) -> perturbed x and a mask that drops frames, while training."""

    def __init__(self, feature_noise: float, frame_dropout: float, time_mask_ratio: float, where: str):
        super().__init__()
        if feature_noise < 0:
            raise ConfigError(f"{where}: feature_noise must be >= 0, got {feature_noise!r}")
        for option, value in (("frame_dropout", frame_dropout), ("time_mask_ratio", time_mask_ratio)):
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"{where}: {option} must be in [0, 1), got {value!r}")
        self.feature_noise, self.frame_dropout, self.time_mask_ratio = feature_noise, frame_dropout, time_mask_ratio

    @property
    def active(self) -> bool:
        return self.training and bool(self.feature_noise or self.frame_dropout or self.time_mask_ratio)

    def forward(self, x: Tensor, mask: Tensor, noise_scale: Tensor | float = 1.0) -> tuple[Tensor, Tensor]:
        """``noise_scale`` multiplies ``feature_noise`` (e.g. the norm of layer weights when x is already
        their weighted average: noise on each layer, then averaged, has exactly that distribution)."""
        if not self.active:
            return x, mask
        keep = mask
        if self.frame_dropout:
            keep = keep & (torch.rand(mask.shape, device=mask.device) >= self.frame_dropout)  # [B, T]
        if self.time_mask_ratio:
            keep = keep & ~self._span(mask)                                                  # [B, T]
        emptied = ~keep.any(dim=1, keepdim=True)                                             # [B, 1]
        keep = torch.where(emptied, mask, keep)  # a clip that lost every frame keeps them all
        if self.feature_noise:
            x = x + self.feature_noise * noise_scale * torch.randn_like(x)                   # [B, T, ...]
        shape = keep.shape + (1,) * (x.dim() - 2)
        return x * keep.reshape(shape).to(x.dtype), keep                                     # dropped -> 0

    def _span(self, mask: Tensor) -> Tensor:
        """One random contiguous span per clip [B, T], shorter than the clip and than ratio * length."""
        lengths = mask.sum(dim=1)                                                            # [B]
        width = (torch.rand(lengths.shape, device=mask.device) * self.time_mask_ratio * lengths).long()
        width = torch.minimum(width, lengths - 1).clamp(min=0)                               # [B]
        start = (torch.rand(lengths.shape, device=mask.device) * (lengths - width + 1)).long()
        start = torch.minimum(start, lengths - width)                                        # [B]
        steps = torch.arange(mask.shape[1], device=mask.device)                              # [T]
        return (steps >= start[:, None]) & (steps < (start + width)[:, None])               # [B, T]
