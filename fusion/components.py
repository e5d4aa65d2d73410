"""Contracts shared by every component kind.

Encoders are split in two so that heavy, frozen work is done once and cached:

* ``featurize(x) -> Tensor``: deterministic and not trained (log-mel, frozen Whisper
  hidden states, token ids, frozen MiniLM states). Its output for one utterance is
  cached on disk, keyed by the input's content hash and :meth:`featurize_key`.
* ``forward(feats [B, T, ...], lengths [B]) -> Encoded``: the trainable part.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn


@dataclass
class Encoded:
    """What every encoder returns and every head consumes."""

    seq: Tensor     # [B, T, D] frames (audio) or tokens (text)
    mask: Tensor    # [B, T] bool, True where valid; every row has >= 1 valid step
    pooled: Tensor  # [B, D] utterance embedding

    @property
    def lengths(self) -> Tensor:
        return self.mask.sum(dim=1)  # [B]

    @property
    def dim(self) -> int:
        return self.pooled.shape[-1]


def lengths_to_mask(lengths: Tensor, max_len: int | None = None) -> Tensor:
    """lengths [B] -> mask [B, T] (True where ``t < length``)."""
    max_len = int(lengths.max()) if max_len is None else max_len
    steps = torch.arange(max_len, device=lengths.device)  # [T]
    return steps[None, :] < lengths[:, None]                # [B, T]


def masked_mean(seq: Tensor, mask: Tensor) -> Tensor:
    """seq [B, T, D], mask [B, T] -> [B, D]; a row with no valid step gives zeros."""
    weights = mask.to(seq.dtype).unsqueeze(-1)                 # [B, T, 1]
    return (seq * weights).sum(1) / weights.sum(1).clamp(min=1.0)  # [B, D]


def config_dict(config: Any) -> dict:
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else {}


class _Component:
    name: ClassVar[str] = ""
    Config: ClassVar[type]

    config: Any

    def featurize_key(self) -> dict:
        """What identifies this component's cached ``featurize`` output (name + config)."""
        return {"name": self.name, "config": config_dict(self.config)}


class AcousticEncoder(_Component, nn.Module):
    """Audio -> :class:`Encoded`. Input is float32 mono at :attr:`sample_rate`."""

    sample_rate: ClassVar[int] = 16000
    output_dim: int  # D of Encoded.seq / pooled

    def featurize(self, wav: Tensor) -> Tensor:
        """wav [S] -> features [T, ...] (cached per utterance)."""
        raise NotImplementedError

    def forward(self, feats: Tensor, lengths: Tensor) -> Encoded:
        """feats [B, T, ...] zero-padded, lengths [B] -> Encoded."""
        raise NotImplementedError


class TextEncoder(_Component, nn.Module):
    """Transcript -> :class:`Encoded`. An empty transcript is legal input."""

    output_dim: int

    def featurize(self, text: str) -> Tensor:
        """text -> features [T, ...] with T >= 1 (cached per utterance)."""
        raise NotImplementedError

    def forward(self, feats: Tensor, lengths: Tensor) -> Encoded:
        raise NotImplementedError


class Transcriber(_Component):
    """Speech-to-text. Not an nn.Module: it may wrap CTranslate2 or a remote service."""

    uses_audio: ClassVar[bool] = True  # False for `gold`, which reads the corpus transcript

    def transcribe(self, wav: np.ndarray, sr: int) -> str:
        """wav [S] float32 mono -> transcript ("" for no speech)."""
        raise NotImplementedError

    def transcribe_batch(self, wavs: list[np.ndarray], sr: int) -> list[str]:
        return [self.transcribe(w, sr) for w in wavs]
