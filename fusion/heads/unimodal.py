"""Unimodal head: a classifier over ONE modality (the audio-only and text-only modes).

The modality is the one whose dim is given at construction (``audio_dim`` or ``text_dim``;
exactly one). Missing-modality rule: there is nothing to fall back on, so calling the head
without its modality, or with the other modality as well, raises ConfigError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fusion.components import Encoded, HeadOutput, LossConfig, masked_mean
from fusion.errors import ConfigError

from .base import POOLS, FusionHead, Pooling, check_config, mlp

UNIMODAL_POOLS = (*POOLS, "stats")  # "stats": masked mean and standard deviation, concatenated [B, 2D]
NORMS = ("layer", "batch")  # how the pooled vector is normalised before the MLP (see UnimodalClassifier)


class StatisticsPooling(nn.Module):
    """seq [B, T, D], mask [B, T] -> [mean, std] over the valid steps [B, 2D] (x-vector style).

    The standard deviation is the population one (a one-step sequence has std 0); padded steps
    never contribute."""

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, seq: Tensor, mask: Tensor, pooled: Tensor | None = None) -> Tensor:
        seq = seq.masked_fill(~mask.unsqueeze(-1), 0.0)                    # [B, T, D]
        mean = masked_mean(seq, mask)                                      # [B, D]
        centred = (seq - mean.unsqueeze(1)).masked_fill(~mask.unsqueeze(-1), 0.0)  # [B, T, D]
        var = masked_mean(centred.square(), mask)                          # [B, D]
        return torch.cat([mean, (var + self.eps).sqrt()], dim=-1)         # [B, 2D]


class BatchStandardize(nn.BatchNorm1d):
    """BatchNorm1d over vectors [B, D] that also accepts a training batch of one (it is then
    normalised with the running statistics, which it leaves unchanged)."""

    def forward(self, x: Tensor) -> Tensor:
        if self.training and x.shape[0] < 2:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return super().forward(x)  # [B, D]


class UnimodalClassifier(nn.Module):
    """Pooling over ``Encoded.seq`` (or the encoder's ``pooled``) followed by ``base.mlp``.

    ``norm`` is the MLP's input normalisation: "layer" (``base.mlp``'s LayerNorm, per vector) or
    "batch" (each dimension standardised with batch / running statistics, like a feature scaler:
    it evens out frozen encoders whose few huge dimensions would dominate a LayerNorm)."""

    def __init__(self, pool: str, dim: int, hidden: int, num_classes: int, dropout: float, norm: str = "layer"):
        super().__init__()
        self.pool = StatisticsPooling() if pool == "stats" else Pooling(pool, dim)
        in_dim = 2 * dim if pool == "stats" else dim
        self.classifier = mlp(in_dim, hidden, num_classes, dropout)
        if norm == "batch":
            self.classifier[0] = BatchStandardize(in_dim)  # replaces the LayerNorm (same index)

    def forward(self, x: Encoded) -> Tensor:
        """x.seq [B, T, D] -> logits [B, C]."""
        vector = self.pool(x.seq, x.mask, x.pooled)  # [B, D] ([B, 2D] for "stats")
        return self.classifier(vector)               # [B, C]


class UnimodalHead(FusionHead):
    """Classifier over one modality (it has no branches: ``HeadOutput.branches`` is empty)."""

    name: ClassVar[str] = "unimodal"
    needs_audio: ClassVar[bool] = False
    needs_text: ClassVar[bool] = False

    @dataclass(frozen=True)
    class Config:
        pool: str = "attention"  # "attention" (learned, masked) | "mean" (masked) | "encoder" (its pooled)
        #                          | "stats" (masked mean + standard deviation)
        hidden: int = 128        # hidden width of the MLP classifier
        dropout: float = 0.3     # dropout inside the MLP classifier
        norm: str = "layer"      # MLP input normalisation: "layer" (LayerNorm) | "batch" (per-dimension BatchNorm)

    def __init__(self, config: Config, audio_dim: int | None, text_dim: int | None, num_classes: int, *,
                 loss: LossConfig | None = None):
        super().__init__(config, audio_dim, text_dim, num_classes, loss=loss)
        check_config(self.name, config, positive=("hidden",), fractions=("dropout",),
                     choices={"pool": UNIMODAL_POOLS, "norm": NORMS})
        if (audio_dim is None) == (text_dim is None):
            raise ConfigError(f"fusion head 'unimodal' classifies exactly one modality; got "
                              f"audio_dim={audio_dim}, text_dim={text_dim}. Use a fusion head "
                              "(concat, cross-attention, gated, late, tensor) for two.")
        self.modality = "audio" if audio_dim is not None else "text"
        dim = audio_dim if audio_dim is not None else text_dim
        self.branch = UnimodalClassifier(config.pool, dim, config.hidden, num_classes, config.dropout,
                                         config.norm)

    def forward(self, audio: Encoded | None, text: Encoded | None,
                targets: Tensor | None = None) -> HeadOutput:
        own, other = (audio, text) if self.modality == "audio" else (text, audio)
        other_name = "text" if self.modality == "audio" else "audio"
        if own is None:
            raise ConfigError(f"fusion head 'unimodal' was built for {self.modality} but got no "
                              f"{self.modality} input")
        if other is not None:
            raise ConfigError(f"fusion head 'unimodal' was built for {self.modality} only but also got "
                              f"{other_name}; use a fusion head for two modalities")
        logits = self.branch(own)  # [B, C]
        loss = None if targets is None else self.loss(logits, targets)
        return HeadOutput(logits, loss)
