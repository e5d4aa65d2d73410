"""Gated head: a gated multimodal unit (GMU-style) over the pooled embeddings.

    h_a = tanh(W_a a),  h_t = tanh(W_t t),  z = sigmoid(W_z [a; t]),  h = z * h_a + (1 - z) * h_t

``z`` is one gate per dimension and per sample; ``h`` goes to ``base.mlp``. After a forward
pass ``HeadOutput.attention["gate"]`` holds ``z`` [B, D] (1 = audio, 0 = text) for inspection.
Missing-modality rule: the gate is forced to the present modality (z = 1 without text,
z = 0 without audio), so the missing input has no influence; optional modality dropout
trains the head on exactly that case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from fusion.components import Encoded, HeadOutput, LossConfig

from .base import FusionHead, Presence, check_config, mlp, pooled_or_zeros, zero_removed


class GatedHead(FusionHead):
    """Per-dimension sigmoid gate between the projected audio and text embeddings."""

    name: ClassVar[str] = "gated"

    @dataclass(frozen=True)
    class Config:
        dim: int = 128                 # common width of the projected embeddings and of the gate
        hidden: int = 128              # hidden width of the MLP classifier
        dropout: float = 0.3           # dropout inside the MLP classifier
        modality_dropout: float = 0.0  # training only: fraction of samples with one modality removed

    def __init__(self, config: Config, audio_dim: int | None, text_dim: int | None, num_classes: int, *,
                 loss: LossConfig | None = None):
        super().__init__(config, audio_dim, text_dim, num_classes, loss=loss)
        check_config(self.name, config, positive=("dim", "hidden"),
                     fractions=("dropout", "modality_dropout"))
        self.audio_norm, self.text_norm = nn.LayerNorm(audio_dim), nn.LayerNorm(text_dim)
        self.audio_proj = nn.Linear(audio_dim, config.dim)
        self.text_proj = nn.Linear(text_dim, config.dim)
        self.gate = nn.Linear(audio_dim + text_dim, config.dim)
        self.classifier = mlp(config.dim, config.hidden, num_classes, config.dropout)

    def forward(self, audio: Encoded | None, text: Encoded | None,
                targets: Tensor | None = None) -> HeadOutput:
        presence = Presence.of(audio, text, self.config.modality_dropout, self.training)
        batch, ref = presence.batch, presence.ref
        a = self.audio_norm(pooled_or_zeros(audio, self.audio_dim, batch, ref))  # [B, Da]
        t = self.text_norm(pooled_or_zeros(text, self.text_dim, batch, ref))     # [B, Dt]
        a = zero_removed(a, presence.audio)           # [B, Da] removed samples -> 0
        t = zero_removed(t, presence.text)            # [B, Dt]
        h_audio = torch.tanh(self.audio_proj(a))      # [B, D]
        h_text = torch.tanh(self.text_proj(t))        # [B, D]
        z = torch.sigmoid(self.gate(torch.cat([a, t], dim=-1)))  # [B, D]
        z = torch.where(presence.text.unsqueeze(-1), z, torch.ones_like(z))    # [B, D] no text -> audio
        z = torch.where(presence.audio.unsqueeze(-1), z, torch.zeros_like(z))  # [B, D] no audio -> text
        fused = z * h_audio + (1 - z) * h_text        # [B, D]
        logits = self.classifier(fused)               # [B, C]
        loss = None if targets is None else self.loss(logits, targets)
        return HeadOutput(logits, loss, attention={"gate": z.detach()})
