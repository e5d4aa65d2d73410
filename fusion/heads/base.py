"""The fusion-head contract.

A head is built as ``Head(config, audio_dim, text_dim, num_classes, loss=None)`` (a dim is ``None``
when the model has no such modality; ``loss`` a :class:`~fusion.components.LossConfig`, default
uniform class weights and no label smoothing) and called as::

    out = head(audio, text, targets=None)   # audio/text: Encoded | None -> HeadOutput

* ``out.logits`` [B, C]; ``out.loss`` is ``None`` without targets, else the (class-weighted)
  cross-entropy (plus any auxiliary losses the head defines), from :meth:`FusionHead.loss`.
* ``out.branches`` maps "audio"/"text" to unimodal logits [B, C] for heads that declare
  ``has_branches`` (one classifier per modality); ``out.attention`` holds weights for inspection
  (cross-attention, gated). Heads keep no per-call state: everything a call produced is in ``out``.
* Missing modality at inference: ``audio`` or ``text`` may be ``None``. Each head
  documents its rule; the default is to substitute zeros for the missing pooled
  embedding. An *empty transcript* is not a missing modality: the text encoder encodes
  it (e.g. MiniLM's [CLS][SEP]) and the head sees it like any other input.
* Loss settings are given at construction; :meth:`FusionHead.set_loss` is the one way to replace
  them (the trainer does, with the class weights of its training labels).
* Capabilities are declared as class attributes: ``fits_held_out`` (the trainer calls
  :meth:`FusionHead.fit_held_out` after every epoch) and ``has_branches``.

Heads written for the earlier contract (``forward`` returning ``(logits, loss)``, branches in a
``branch_logits`` attribute) still run inside :class:`fusion.model.EmotionModel`, with a
DeprecationWarning and no branches; see docs/plugin-guide.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fusion.components import Encoded, HeadOutput, HeldOutFit, LossConfig, masked_mean
from fusion.pooling import AttentionPooling
from fusion.errors import ConfigError


class FusionHead(nn.Module):
    name: ClassVar[str] = ""
    Config: ClassVar[type]
    needs_audio: ClassVar[bool] = True  # the head is built for a model that has this modality
    needs_text: ClassVar[bool] = True
    fits_held_out: ClassVar[bool] = False  # the trainer calls fit_held_out after every epoch
    has_branches: ClassVar[bool] = False   # HeadOutput.branches holds each present modality's logits

    def __init__(self, config, audio_dim: int | None, text_dim: int | None, num_classes: int, *,
                 loss: LossConfig | None = None):
        super().__init__()
        if num_classes < 2:
            raise ConfigError(f"fusion head {self.name!r}: need at least 2 classes, got {num_classes}")
        if self.needs_audio and self.needs_text and (audio_dim is None or text_dim is None):
            raise ConfigError(f"fusion head {self.name!r} fuses two modalities; got audio_dim={audio_dim}, "
                              f"text_dim={text_dim}. Use mode 'audio' or 'text' for a single modality.")
        if type(self).fit_held_out is not FusionHead.fit_held_out and not self.fits_held_out:
            raise ConfigError(f"fusion head {self.name!r} ({type(self).__qualname__}) overrides fit_held_out but "
                              "does not declare fits_held_out = True; since the explicit head protocol the "
                              "trainer calls only declared held-out stages, and fit_held_out returns a "
                              "fusion.components.HeldOutFit (see docs/plugin-guide.md)")
        self.config = config
        self.audio_dim, self.text_dim, self.num_classes = audio_dim, text_dim, num_classes
        self.register_buffer("class_weights", torch.ones(num_classes), persistent=False)  # [C]
        self.set_loss(loss if loss is not None else LossConfig())

    def set_loss(self, loss: LossConfig) -> None:
        """Replace the loss settings (label smoothing, class weights [C]; None weights -> uniform)."""
        if loss.class_weights is not None and len(loss.class_weights) != self.num_classes:
            raise ConfigError(f"fusion head {self.name!r}: {len(loss.class_weights)} class weights for "
                              f"{self.num_classes} classes")
        weights = torch.ones(self.num_classes) if loss.class_weights is None \
            else torch.tensor(loss.class_weights, dtype=torch.float32)  # [C]
        self.class_weights = weights.to(self.class_weights.device)
        self.loss_config = loss

    @property
    def label_smoothing(self) -> float:
        return self.loss_config.label_smoothing

    @label_smoothing.setter
    def label_smoothing(self, value: float) -> None:
        raise AttributeError(f"fusion head {self.name!r}: label smoothing is set when the head is built "
                             "(loss=LossConfig(label_smoothing=...)) or by head.set_loss(...), not by assignment")

    def loss(self, logits: Tensor, targets: Tensor) -> Tensor:
        """logits [B, C], targets [B] long -> scalar."""
        return F.cross_entropy(logits, targets, weight=self.class_weights,
                               label_smoothing=self.loss_config.label_smoothing)

    def forward(self, audio: Encoded | None, text: Encoded | None,
                targets: Tensor | None = None) -> HeadOutput:
        raise NotImplementedError

    def fit_held_out(self, logits: Tensor, branch_logits: dict[str, Tensor], targets: Tensor) -> HeldOutFit | None:
        """Optional second stage of a head that declares ``fits_held_out = True``, fitted by the
        trainer after every epoch (before early stopping reads the validation score) on the
        validation predictions (eval mode): ``logits`` [N, C], ``branch_logits`` per modality [N, C]
        (``HeadOutput.branches``), targets [N]. A head whose combination must not be fitted on the
        training data (where its branches are over-confident) overrides this; it returns what it
        fitted (with the held-out logits under the fitted values, when it can give them), or None.
        The parameters it fits must not be trained by gradient descent (``requires_grad=False``):
        the trainer carries them over to a refit run, which has no held-out data."""
        return None

    @staticmethod
    def batch_size(audio: Encoded | None, text: Encoded | None) -> int:
        present = audio if audio is not None else text
        if present is None:
            raise ConfigError("a fusion head needs at least one modality; both are None")
        return present.pooled.shape[0]


def pooled_or_zeros(x: Encoded | None, dim: int | None, batch: int, ref: Tensor) -> Tensor:
    """x.pooled [B, D], or zeros [B, dim] when the modality is missing."""
    if x is not None:
        return x.pooled
    return ref.new_zeros(batch, dim or 0)


def mlp(in_dim: int, hidden: int, out_dim: int, dropout: float) -> nn.Sequential:
    """LayerNorm -> Linear -> GELU -> Dropout -> Linear: the classifier used by the heads."""
    return nn.Sequential(
        nn.LayerNorm(in_dim), nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout),
        nn.Linear(hidden, out_dim),
    )


def projection(in_dim: int, out_dim: int) -> nn.Sequential:
    """LayerNorm -> Linear -> GELU: brings one modality's embedding to a common width."""
    return nn.Sequential(nn.LayerNorm(in_dim), nn.Linear(in_dim, out_dim), nn.GELU())


# --- small building blocks shared by several heads -------------------------------------------

POOLS = ("attention", "encoder", "mean")  # how a sequence becomes one vector (see Pooling)


def check_config(head: str, config, *, positive: tuple[str, ...] = (), non_negative: tuple[str, ...] = (),
                 fractions: tuple[str, ...] = (), choices: dict[str, tuple[str, ...]] | None = None) -> None:
    """Raise ConfigError naming ``head`` for a field that is not > 0 (``positive``), not >= 0
    (``non_negative``), not in [0, 1) (``fractions``) or not one of its valid ``choices``."""
    for field in positive:
        value = getattr(config, field)
        if not value > 0:
            raise ConfigError(f"fusion head {head!r}: {field} must be > 0, got {value!r}")
    for field in non_negative:
        value = getattr(config, field)
        if not value >= 0:
            raise ConfigError(f"fusion head {head!r}: {field} must be >= 0, got {value!r}")
    for field in fractions:
        value = getattr(config, field)
        if not 0.0 <= value < 1.0:
            raise ConfigError(f"fusion head {head!r}: {field} must be in [0, 1), got {value!r}")
    for field, valid in (choices or {}).items():
        value = getattr(config, field)
        if value not in valid:
            raise ConfigError(f"fusion head {head!r}: unknown {field} {value!r}; valid choices: "
                              + ", ".join(valid))


class Pooling(nn.Module):
    """Sequence -> vector: "attention" (learned masked softmax over steps), "mean" (masked
    mean) or "encoder" (the encoder's own ``pooled``). Padded steps never contribute."""

    def __init__(self, kind: str, dim: int):
        super().__init__()
        self.kind = kind
        self.attention = AttentionPooling(dim) if kind == "attention" else None

    def forward(self, seq: Tensor, mask: Tensor, pooled: Tensor | None = None) -> Tensor:
        """seq [B, T, D], mask [B, T] (True = valid), pooled [B, D] -> [B, D]."""
        if self.kind == "encoder":
            if pooled is None:
                raise ConfigError("pooling 'encoder' needs the encoder's pooled embedding; "
                                  "valid choices here: attention, mean")
            return pooled
        seq = seq.masked_fill(~mask.unsqueeze(-1), 0.0)  # [B, T, D] padding -> 0 (even if garbage)
        if self.kind == "mean":
            return masked_mean(seq, mask)  # [B, D]
        return self.attention(seq, mask)[0]  # [B, D]


def modality_keep(batch: int, has_audio: bool, has_text: bool, drop_prob: float, training: bool,
                  ref: Tensor) -> tuple[Tensor, Tensor]:
    """Per-sample presence flags (keep_audio [B], keep_text [B] bool).

    A missing modality is absent for every sample. In training with both present, modality
    dropout removes audio from a fraction ``drop_prob / 2`` of the samples and text from
    another ``drop_prob / 2`` (never both), so the head learns the missing-modality rule.
    """
    keep_audio = torch.full((batch,), int(has_audio), dtype=torch.bool, device=ref.device)  # [B]
    keep_text = torch.full((batch,), int(has_text), dtype=torch.bool, device=ref.device)    # [B]
    if training and drop_prob > 0 and has_audio and has_text:
        draw = torch.rand(batch, device=ref.device)  # [B]
        keep_audio = draw >= drop_prob / 2            # [B]
        keep_text = (draw < drop_prob / 2) | (draw >= drop_prob)  # [B]
    return keep_audio, keep_text


@dataclass(frozen=True)
class Presence:
    """Which samples of a batch have each modality, after modality dropout (see modality_keep)."""

    batch: int     # B
    ref: Tensor    # a present modality's pooled embedding [B, D]: device and dtype for new tensors
    audio: Tensor  # [B] bool, True = the sample keeps its audio
    text: Tensor   # [B] bool, True = the sample keeps its text

    @classmethod
    def of(cls, audio: Encoded | None, text: Encoded | None, drop_prob: float, training: bool) -> Presence:
        """Presence for a head's inputs; raises ConfigError when both modalities are missing."""
        batch = FusionHead.batch_size(audio, text)
        ref = (audio if audio is not None else text).pooled  # [B, D]
        keep_audio, keep_text = modality_keep(batch, audio is not None, text is not None, drop_prob,
                                              training, ref)  # [B], [B]
        return cls(batch, ref, keep_audio, keep_text)


def zero_removed(x: Tensor, keep: Tensor) -> Tensor:
    """x [B, D] with the rows of the samples that lost this modality (keep [B] False) set to 0."""
    return x * keep.unsqueeze(-1).to(x.dtype)  # [B, D]


def project_pair(audio: Encoded | None, text: Encoded | None, audio_proj: nn.Module, text_proj: nn.Module,
                 width: int, presence: Presence) -> tuple[Tensor, Tensor]:
    """Both pooled embeddings projected to ``width``: a, t [B, width].

    A missing or removed modality gives zeros *after* the projection, so its bias does not leak in.
    """
    zeros = presence.ref.new_zeros(presence.batch, width)          # [B, P]
    a = audio_proj(audio.pooled) if audio is not None else zeros   # [B, P]
    t = text_proj(text.pooled) if text is not None else zeros      # [B, P]
    return zero_removed(a, presence.audio), zero_removed(t, presence.text)  # [B, P], [B, P]
