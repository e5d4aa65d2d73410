"""Lengths of padded frame batches: clamping to the padded size and downsampling with time pooling."""

from __future__ import annotations

import torch
from torch import Tensor


def clamp_lengths(lengths: Tensor, max_len: int) -> Tensor:
    """lengths [B] -> long [B] in [1, max_len]: every row keeps at least one valid frame."""
    return torch.as_tensor(lengths).long().clamp(min=1, max=max_len)


def downsample_lengths(lengths: Tensor, factor: int) -> Tensor:
    """Valid frames after pooling time by ``factor`` with ``ceil_mode=True``: ceil(length / factor)."""
    return torch.div(lengths + factor - 1, factor, rounding_mode="floor")  # [B]
