"""Unimodal head: a classifier over ONE modality (the audio-only and text-only modes).

The modality is the one whose dim is given at construction (``audio_dim`` or ``text_dim``;
exactly one). Missing-modality rule: there is nothing to fall back on, so calling the head
without its modality, or with the other modality as well, raises ConfigError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor, nn

from fusion.components import Encoded
from fusion.errors import ConfigError

from .base import POOLS, FusionHead, Pooling, check_config, mlp


class UnimodalClassifier(nn.Module):
    """Pooling over ``Encoded.seq`` (or the encoder's ``pooled``) followed by ``base.mlp``."""

    def __init__(self, pool: str, dim: int, hidden: int, num_classes: int, dropout: float):
        super().__init__()
        self.pool = Pooling(pool, dim)
        self.classifier = mlp(dim, hidden, num_classes, dropout)

    def forward(self, x: Encoded) -> Tensor:
        """x.seq [B, T, D] -> logits [B, C]."""
        vector = self.pool(x.seq, x.mask, x.pooled)  # [B, D]
        return self.classifier(vector)               # [B, C]


class UnimodalHead(FusionHead):
    """Classifier over one modality (it has no branches: ``branch_logits`` stays empty)."""

    name: ClassVar[str] = "unimodal"
    needs_audio: ClassVar[bool] = False
    needs_text: ClassVar[bool] = False

    @dataclass(frozen=True)
    class Config:
        pool: str = "attention"  # "attention" (learned, masked) | "mean" (masked) | "encoder" (its pooled)
        hidden: int = 128        # hidden width of the MLP classifier
        dropout: float = 0.3     # dropout inside the MLP classifier

    def __init__(self, config: Config, audio_dim: int | None, text_dim: int | None, num_classes: int):
        super().__init__(config, audio_dim, text_dim, num_classes)
        check_config(self.name, config, positive=("hidden",), fractions=("dropout",),
                     choices={"pool": POOLS})
        if (audio_dim is None) == (text_dim is None):
            raise ConfigError(f"fusion head 'unimodal' classifies exactly one modality; got "
                              f"audio_dim={audio_dim}, text_dim={text_dim}. Use a fusion head "
                              "(concat, cross-attention, gated, late, tensor) for two.")
        self.modality = "audio" if audio_dim is not None else "text"
        dim = audio_dim if audio_dim is not None else text_dim
        self.branch = UnimodalClassifier(config.pool, dim, config.hidden, num_classes, config.dropout)

    def forward(self, audio: Encoded | None, text: Encoded | None,
                targets: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        own, other = (audio, text) if self.modality == "audio" else (text, audio)
        other_name = "text" if self.modality == "audio" else "audio"
        if own is None:
            raise ConfigError(f"fusion head 'unimodal' was built for {self.modality} but got no "
                              f"{self.modality} input")
        if other is not None:
            raise ConfigError(f"fusion head 'unimodal' was built for {self.modality} only but also got "
                              f"{other_name}; use a fusion head for two modalities")
        logits = self.branch(own)  # [B, C]
        self.branch_logits, self.attention = {}, {}
        loss = None if targets is None else self.loss(logits, targets)
        return logits, loss
