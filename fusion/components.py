"""Contracts shared by every component kind.

Encoders are split in two so that heavy, frozen work is done once and cached:

* ``featurize(x) -> Tensor``: deterministic and not trained (log-mel, frozen Whisper
  hidden states, token ids, frozen MiniLM states). Its output for one utterance is
  cached on disk, keyed by the input's content hash and :meth:`featurize_key`.
* ``forward(feats [B, T, ...], lengths [B]) -> Encoded``: the trainable part.

A fusion head (:class:`fusion.heads.FusionHead`) returns a :class:`HeadOutput` and is built with
its :class:`LossConfig`; a head with a held-out stage returns a :class:`HeldOutFit` from it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from .errors import ConfigError, PluginError


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
    # options whose default has changed -> the value they had before, for models saved before their
    # configs were written in full (fusion.model.with_legacy_defaults)
    legacy_defaults: ClassVar[dict[str, Any]] = {}

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

    def featurize_batch(self, texts: list[str]) -> list[Tensor]:
        """Several texts at once -> one ``featurize`` result each, in order. Override it when a batched
        pass is faster (a padded transformer batch); the results must match ``featurize`` up to float
        rounding. A failure may name the whole batch: the caller then retries text by text."""
        return [self.featurize(t) for t in texts]

    def forward(self, feats: Tensor, lengths: Tensor) -> Encoded:
        raise NotImplementedError


class Transcriber(_Component):
    """Speech-to-text. Not an nn.Module: it may wrap CTranslate2 or a remote service.

    A transcriber either listens (``uses_audio = True``: :meth:`transcribe` gets the decoded audio)
    or reads what the corpus row already holds (``uses_audio = False``, as ``gold``:
    :meth:`transcribe_utterance` gets the row and no audio is decoded).
    """

    uses_audio: ClassVar[bool] = True  # False: transcribe_utterance(utt) is called instead of transcribe

    def transcribe(self, wav: np.ndarray, sr: int) -> str:
        """wav [S] float32 mono -> transcript ("" for no speech)."""
        raise NotImplementedError

    def transcribe_utterance(self, utt: Any) -> str:
        """A :class:`fusion.data.Utterance` -> transcript, for a transcriber with ``uses_audio = False``
        (it reads the row, e.g. ``utt.transcript``, not the audio); raises a FusionError naming the
        utterance when it cannot."""
        raise PluginError(f"transcriber {self.name!r} sets uses_audio = False but does not implement "
                          "transcribe_utterance(utt), which such a transcriber is called with")

    def transcribe_batch(self, wavs: list[np.ndarray], sr: int) -> list[str]:
        return [self.transcribe(w, sr) for w in wavs]


# --- the fusion-head protocol (the base class is fusion.heads.FusionHead) ---------------------

@dataclass(frozen=True)
class HeadOutput:
    """What a fusion head's ``forward(audio, text, targets=None)`` returns."""

    logits: Tensor                     # [B, C]
    loss: Tensor | None = None         # scalar; None without targets
    branches: dict[str, Tensor] = field(default_factory=dict)   # "audio"/"text" -> that modality's own
    #                                    classifier's logits [B, C] (heads with has_branches; else empty)
    attention: dict[str, Tensor] = field(default_factory=dict)  # name -> weights, for inspection (detached)


@dataclass(frozen=True)
class LossConfig:
    """How a head weighs its cross-entropy. Given when the head is built (``loss=``); afterwards only
    :meth:`fusion.heads.FusionHead.set_loss` replaces it (the trainer does, with the class weights
    of its training labels)."""

    label_smoothing: float = 0.0                    # cross-entropy label smoothing, in [0, 1]
    class_weights: tuple[float, ...] | None = None  # [C] per-class weights, >= 0 (None = uniform)

    def __post_init__(self):
        if not 0.0 <= self.label_smoothing <= 1.0:
            raise ConfigError(f"loss: label_smoothing must be in [0, 1], got {self.label_smoothing!r}")
        if self.class_weights is not None:
            weights = tuple(float(w) for w in (self.class_weights.tolist() if isinstance(self.class_weights, Tensor)
                                               else self.class_weights))
            if not weights or not all(math.isfinite(w) and w >= 0 for w in weights):
                raise ConfigError(f"loss: class_weights must be finite and >= 0, got {list(weights)}")
            object.__setattr__(self, "class_weights", weights)  # a tensor or list given: stored as a tuple


@dataclass(frozen=True)
class HeldOutFit:
    """What a head's held-out stage (``FusionHead.fit_held_out``, for heads with ``fits_held_out``) fitted."""

    values: dict[str, Any]         # the fitted values, for logs and inspection (e.g. {"scales": {...}})
    logits: Tensor | None = None   # [N, C] the held-out logits under the fitted values (what a forward
    #                                pass would now give): the trainer scores validation from them; None:
    #                                the trainer runs that forward pass
