"""Concat head: early fusion of the pooled embeddings.

Each modality's ``pooled`` embedding is projected to ``proj_dim``; the two projections are
concatenated and classified by ``base.mlp``. Missing-modality rule: the missing modality's
*projected* embedding is zeros (so its projection bias does not leak in); optional modality
dropout trains the head on exactly that input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from fusion.components import Encoded, HeadOutput, LossConfig

from .base import FusionHead, Presence, check_config, mlp, project_pair, projection


class ConcatHead(FusionHead):
    """[proj(audio.pooled); proj(text.pooled)] -> MLP."""

    name: ClassVar[str] = "concat"

    @dataclass(frozen=True)
    class Config:
        proj_dim: int = 128            # common width each pooled embedding is projected to
        hidden: int = 256              # hidden width of the MLP classifier
        dropout: float = 0.3           # dropout inside the MLP classifier
        modality_dropout: float = 0.0  # training only: fraction of samples with one modality zeroed

    def __init__(self, config: Config, audio_dim: int | None, text_dim: int | None, num_classes: int, *,
                 loss: LossConfig | None = None):
        super().__init__(config, audio_dim, text_dim, num_classes, loss=loss)
        check_config(self.name, config, positive=("proj_dim", "hidden"),
                     fractions=("dropout", "modality_dropout"))
        self.audio_proj = projection(audio_dim, config.proj_dim)
        self.text_proj = projection(text_dim, config.proj_dim)
        self.classifier = mlp(2 * config.proj_dim, config.hidden, num_classes, config.dropout)

    def forward(self, audio: Encoded | None, text: Encoded | None,
                targets: Tensor | None = None) -> HeadOutput:
        presence = Presence.of(audio, text, self.config.modality_dropout, self.training)
        a, t = project_pair(audio, text, self.audio_proj, self.text_proj, self.config.proj_dim,
                            presence)  # [B, P], [B, P]
        logits = self.classifier(torch.cat([a, t], dim=-1))  # [B, C]
        loss = None if targets is None else self.loss(logits, targets)
        return HeadOutput(logits, loss)
