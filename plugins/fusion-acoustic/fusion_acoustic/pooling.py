"""Pooling a masked frame sequence into one vector: masked mean or masked attention.

Both return ``(pooled [B, D], weights [B, T])``; padded frames get weight exactly 0, so
a clip pools to the same vector alone or padded in a batch.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from fusion.components import masked_mean

from .validation import check_choice


class MeanPooling(nn.Module):
    """Masked mean: every valid frame weighs 1 / length."""

    def forward(self, seq: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        weights = mask.to(seq.dtype)                                      # [B, T]
        weights = weights / weights.sum(1, keepdim=True).clamp(min=1.0)   # [B, T]
        return masked_mean(seq, mask), weights                            # [B, D], [B, T]


class AttentionPooling(nn.Module):
    """Additive attention: score_t = v . tanh(W x_t); softmax over valid frames only."""

    def __init__(self, dim: int, hidden: int | None = None):
        super().__init__()
        hidden = hidden or max(1, dim // 2)
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, seq: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        scores = self.score(seq).squeeze(-1)                                # [B, T]
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)   # [B, T]
        weights = torch.softmax(scores, dim=1) * mask                       # [B, T]; a row without
        weights = weights / weights.sum(1, keepdim=True).clamp(min=1e-12)   # valid frames -> zeros
        pooled = torch.bmm(weights.unsqueeze(1), seq).squeeze(1)           # [B, D]
        return pooled, weights


POOLINGS = ("attention", "mean")


def make_pooling(kind: str, dim: int, where: str) -> nn.Module:
    """``"mean"`` or ``"attention"`` over frames of size ``dim``."""
    check_choice(where, "pooling", kind, POOLINGS)
    return AttentionPooling(dim) if kind == "attention" else MeanPooling()
