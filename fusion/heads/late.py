"""Late (decision-level) head: one unimodal classifier per modality, fused log-probabilities.

    fused = w_audio * log_softmax(logits_audio) + w_text * log_softmax(logits_text)

with ``w_audio + w_text = 1``: fixed (``weighting="fixed"``, ``w_audio = audio_weight``) or
learned (``weighting="learned"``, a softmax over two parameters initialised at
``audio_weight``). The loss is ``CE(fused) + aux_weight * (CE(audio) + CE(text))`` so each
branch stays a good classifier on its own. ``HeadOutput.branches`` holds both branches' logits.
Missing-modality rule: the present branch alone (its log-softmax is the fused output).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from fusion.components import Encoded, HeadOutput, LossConfig
from fusion.errors import ConfigError

from .base import POOLS, FusionHead, check_config
from .unimodal import UnimodalClassifier

WEIGHTINGS = ("fixed", "learned")


class LateHead(FusionHead):
    """Weighted average of the unimodal classifiers' log-softmax outputs."""

    name: ClassVar[str] = "late"
    has_branches: ClassVar[bool] = True

    @dataclass(frozen=True)
    class Config:
        pool: str = "attention"      # per-branch pooling: "attention" | "mean" | "encoder" (Encoded.pooled)
        hidden: int = 128            # hidden width of each branch's MLP classifier
        dropout: float = 0.3         # dropout inside each branch's MLP classifier
        weighting: str = "learned"   # "learned" fusion weights or "fixed" (= audio_weight)
        audio_weight: float = 0.5    # weight of the audio branch (text gets 1 - it); initial value if learned
        aux_weight: float = 0.5      # weight of each branch's own loss added to the fused loss

    def __init__(self, config: Config, audio_dim: int | None, text_dim: int | None, num_classes: int, *,
                 loss: LossConfig | None = None):
        super().__init__(config, audio_dim, text_dim, num_classes, loss=loss)
        check_config(self.name, config, positive=("hidden",), non_negative=("aux_weight",),
                     fractions=("dropout",), choices={"pool": POOLS, "weighting": WEIGHTINGS})
        low = 0.0 if config.weighting == "fixed" else 1e-6  # learned weights start strictly inside (0, 1)
        if not low <= config.audio_weight <= 1.0 - low:
            raise ConfigError(f"fusion head 'late': audio_weight must be in [0, 1] (open interval when "
                              f"weighting='learned'), got {config.audio_weight!r}")
        self.audio_branch = UnimodalClassifier(config.pool, audio_dim, config.hidden, num_classes,
                                               config.dropout)
        self.text_branch = UnimodalClassifier(config.pool, text_dim, config.hidden, num_classes,
                                              config.dropout)
        init = [math.log(max(config.audio_weight, 1e-12)), math.log(max(1 - config.audio_weight, 1e-12))]
        self.weight_logits = nn.Parameter(torch.tensor(init),  # [2] softmax -> (w_audio, w_text)
                                          requires_grad=config.weighting == "learned")

    @property
    def fusion_weights(self) -> Tensor:
        """(w_audio, w_text) [2], summing to 1."""
        return self.weight_logits.softmax(dim=0)  # [2]

    def forward(self, audio: Encoded | None, text: Encoded | None,
                targets: Tensor | None = None) -> HeadOutput:
        self.batch_size(audio, text)  # raises when both are missing
        branches: dict[str, Tensor] = {}
        if audio is not None:
            branches["audio"] = self.audio_branch(audio)  # [B, C]
        if text is not None:
            branches["text"] = self.text_branch(text)     # [B, C]
        if len(branches) == 2:
            w_audio, w_text = self.fusion_weights          # scalars
            logits = (w_audio * branches["audio"].log_softmax(-1)
                      + w_text * branches["text"].log_softmax(-1))  # [B, C]
        else:
            (only,) = branches.values()
            logits = only.log_softmax(-1)                  # [B, C]
        if targets is None:
            return HeadOutput(logits, None, branches)
        loss = self.loss(logits, targets)
        if self.config.aux_weight > 0:
            for branch in branches.values():
                loss = loss + self.config.aux_weight * self.loss(branch, targets)
        return HeadOutput(logits, loss, branches)
