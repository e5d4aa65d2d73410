"""Pooling a masked sequence into one vector, shared by encoders and heads.

Both poolers map ``seq [B, T, D], mask [B, T]`` to ``(pooled [B, D], weights [B, T])``;
padded steps get weight exactly 0, so a sequence pools to the same vector alone or padded
in a batch.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .components import masked_mean
from .errors import ConfigError

POOLINGS = ("attention", "mean")


class MeanPooling(nn.Module):
    """Masked mean: every valid step weighs 1 / length."""

    def forward(self, seq: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        weights = mask.to(seq.dtype)                                      # [B, T]
        weights = weights / weights.sum(1, keepdim=True).clamp(min=1.0)   # [B, T]
        return masked_mean(seq, mask), weights                            # [B, D], [B, T]


class AttentionPooling(nn.Module):
    """Additive attention: score_t = v . tanh(W x_t); softmax over valid steps only."""

    def __init__(self, dim: int, hidden: int | None = None):
        super().__init__()
        hidden = hidden or max(1, dim // 2)
        self.score = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, seq: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        seq = seq.masked_fill(~mask.unsqueeze(-1), 0.0)                     # [B, T, D] padding -> 0
        scores = self.score(seq).squeeze(-1)                                # [B, T]
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)   # [B, T]
        weights = torch.softmax(scores, dim=1) * mask                       # [B, T]; a row without
        weights = weights / weights.sum(1, keepdim=True).clamp(min=1e-12)   # valid steps -> zeros
        pooled = torch.bmm(weights.unsqueeze(1), seq).squeeze(1)           # [B, D]
        return pooled, weights


def make_pooling(kind: str, dim: int, where: str = "pooling") -> nn.Module:
    """``"mean"`` or ``"attention"`` over steps of size ``dim``."""
    if kind not in POOLINGS:
        raise ConfigError(f"{where}: unknown pooling {kind!r}; valid choices: {', '.join(POOLINGS)}")
    return AttentionPooling(dim) if kind == "attention" else MeanPooling()
