"""Tensor head: Tensor Fusion Network (TFN) outer product, with a low-rank (LMF) option.

Both pooled embeddings are projected to ``proj_dim`` (small, e.g. 32) and extended with a
constant 1, so the outer product ``[a; 1] ⊗ [t; 1]`` holds the unimodal terms as well as the
bimodal interactions. ``rank == 0`` flattens the full (P+1)² product into ``base.mlp``;
``rank > 0`` computes the same multilinear map through ``rank`` modality-specific factors
(Low-rank Multimodal Fusion) with output width ``hidden``, never materialising the product.
Missing-modality rule: the missing projection is zeros, the appended 1 remains, so the fused
vector reduces to the present modality's unimodal terms. Optional modality dropout trains it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from fusion.components import Encoded, HeadOutput, LossConfig

from .base import FusionHead, Presence, check_config, mlp, project_pair, projection


def with_one(x: Tensor) -> Tensor:
    """[B, P] -> [B, P + 1] with a trailing constant 1."""
    return torch.cat([x, x.new_ones(x.shape[0], 1)], dim=-1)  # [B, P+1]


class TensorHead(FusionHead):
    """Outer-product fusion of the projected pooled embeddings -> MLP."""

    name: ClassVar[str] = "tensor"

    @dataclass(frozen=True)
    class Config:
        proj_dim: int = 32             # width each pooled embedding is projected to before the product
        rank: int = 0                  # 0 = full TFN outer product; > 0 = low-rank (LMF) with this rank
        hidden: int = 128              # MLP hidden width (and LMF output width)
        dropout: float = 0.3           # dropout inside the MLP classifier
        modality_dropout: float = 0.0  # training only: fraction of samples with one modality zeroed

    def __init__(self, config: Config, audio_dim: int | None, text_dim: int | None, num_classes: int, *,
                 loss: LossConfig | None = None):
        super().__init__(config, audio_dim, text_dim, num_classes, loss=loss)
        check_config(self.name, config, positive=("proj_dim", "hidden"), non_negative=("rank",),
                     fractions=("dropout", "modality_dropout"))
        p1 = config.proj_dim + 1
        self.audio_proj = projection(audio_dim, config.proj_dim)
        self.text_proj = projection(text_dim, config.proj_dim)
        if config.rank > 0:
            self.audio_factors = nn.Parameter(torch.empty(config.rank, p1, config.hidden))  # [R, P+1, H]
            self.text_factors = nn.Parameter(torch.empty(config.rank, p1, config.hidden))   # [R, P+1, H]
            self.fusion_bias = nn.Parameter(torch.zeros(config.hidden))                     # [H]
            for factor in (self.audio_factors, self.text_factors):
                nn.init.xavier_normal_(factor)
            fused_dim = config.hidden
        else:
            fused_dim = p1 * p1
        self.classifier = mlp(fused_dim, config.hidden, num_classes, config.dropout)

    def fuse(self, a1: Tensor, t1: Tensor) -> Tensor:
        """a1, t1 [B, P+1] -> fused [B, (P+1)²] (TFN) or [B, H] (LMF)."""
        if self.config.rank == 0:
            return torch.einsum("bi,bj->bij", a1, t1).flatten(1)  # [B, (P+1)²]
        fa = torch.einsum("bi,rih->rbh", a1, self.audio_factors)  # [R, B, H]
        ft = torch.einsum("bi,rih->rbh", t1, self.text_factors)   # [R, B, H]
        return (fa * ft).sum(dim=0) + self.fusion_bias            # [B, H]

    def forward(self, audio: Encoded | None, text: Encoded | None,
                targets: Tensor | None = None) -> HeadOutput:
        presence = Presence.of(audio, text, self.config.modality_dropout, self.training)
        a, t = project_pair(audio, text, self.audio_proj, self.text_proj, self.config.proj_dim,
                            presence)  # [B, P], [B, P]
        logits = self.classifier(self.fuse(with_one(a), with_one(t)))  # [B, C]
        loss = None if targets is None else self.loss(logits, targets)
        return HeadOutput(logits, loss)
