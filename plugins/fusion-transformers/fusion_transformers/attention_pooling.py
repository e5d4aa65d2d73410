"""Additive attention pooling over valid time steps."""

from __future__ import annotations

from torch import Tensor, nn


class AttentionPooling(nn.Module):
    """seq [B, T, D], mask [B, T] -> (pooled [B, D], weights [B, T]); padding gets weight 0."""

    def __init__(self, dim: int, attn_dim: int):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(dim, attn_dim), nn.Tanh(), nn.Linear(attn_dim, 1, bias=False))

    def forward(self, seq: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        scores = self.score(seq).squeeze(-1)                             # [B, T]
        scores = scores.masked_fill(~mask, float("-inf"))                # [B, T]
        weights = scores.softmax(dim=1)                                  # [B, T]; rows have >= 1 valid step
        return (weights.unsqueeze(-1) * seq).sum(dim=1), weights         # [B, D], [B, T]
