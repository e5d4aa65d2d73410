"""Pooling for the acoustic encoders: the shared implementation in :mod:`fusion.pooling`."""

from __future__ import annotations

from torch import nn

from fusion.pooling import POOLINGS, AttentionPooling, MeanPooling
from fusion.pooling import make_pooling as _make_pooling

from .validation import check_choice

__all__ = ["POOLINGS", "AttentionPooling", "MeanPooling", "make_pooling"]


def make_pooling(kind: str, dim: int, where: str) -> nn.Module:
    """``"mean"`` or ``"attention"`` over frames of size ``dim`` (errors name the encoder)."""
    check_choice(where, "pooling", kind, POOLINGS)
    return _make_pooling(kind, dim, where)
