"""Cross-attention head (the default): a product of unimodal experts plus a cross-modal correction.

    fused = s_audio * log_softmax(audio_logits) + s_text * log_softmax(text_logits) + s_corr * correction

* **Experts.** Each modality has its own classifier (``UnimodalClassifier``: the same pooling
  and MLP as the audio-only / text-only models) trained by its own cross-entropy, weighted
  ``aux_weight`` (so each branch learns as well as a unimodal model even when the other
  modality is easier: no modality competition). With ``isolate_branches`` the fused loss does
  not reach the branches (their log-probabilities are detached in the fused sum); with
  ``isolate_encoders`` it does not reach the encoders' trainable parts either.
* **Scales** ``s_audio``, ``s_text``, ``s_corr`` (> 0, initialised at 1: the plain product of
  the two posteriors). With ``fit_scales`` the trainer fits them (and nothing else) on the
  validation speakers' predictions after every epoch, before early stopping looks at the
  validation UA (:meth:`fit_held_out`, :func:`fusion.training.trainer.fit_head_on_validation`,
  :mod:`fusion.heads.calibration`): an expert at ~100% training accuracy is over-confident on
  the data it was trained on, and a correction may not transfer to unseen speakers, so the
  held-out data decides how much each term is trusted. ``learn_scales`` also learns them with
  the fused loss on the training data (off by default: that data over-trusts the easy expert).
* **Correction.** MulT-style bidirectional cross-modal attention: both sequences are projected
  to ``d_model``; each of ``n_layers`` layers lets audio frames attend to text tokens and text
  tokens attend to audio frames (residual + LayerNorm + FFN + residual + LayerNorm). The two
  attended streams are pooled (masked) and an MLP whose output layer starts at zero maps them
  to a logit correction: training starts from the product of experts and only adds what the
  interaction of the two modalities explains. Padded steps are never attended to.
* ``HeadOutput.branches`` holds both experts' logits; ``attention`` holds the last layer's
  head-averaged weights ``"audio_to_text"`` [B, Ta, Tt] and ``"text_to_audio"`` [B, Tt, Ta]
  (eval mode only; training uses the fused attention kernel). ``audio_stride > 1`` average-pools
  the audio stream (mask-aware) before the attention; memory is O(Ta·Tt).
* Missing-modality rule: the missing expert drops out of the product and the correction (which
  needs both) is zero, so the output is the present expert's scaled log-probabilities. Modality
  dropout (``modality_dropout``) trains the scales and the correction on exactly that case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fusion.components import Encoded, HeadOutput, HeldOutFit, LossConfig
from fusion.errors import ConfigError

from .base import POOLS, FusionHead, Pooling, Presence, check_config, mlp, projection
from .calibration import fit_log_scales
from .unimodal import UnimodalClassifier

STREAM_POOLS = ("attention", "mean")
MODALITIES = ("audio", "text")
TERMS = (*MODALITIES, "correction")  # the scaled terms of the fused logits


def downsample(seq: Tensor, mask: Tensor, stride: int) -> tuple[Tensor, Tensor]:
    """Masked average over windows of ``stride`` steps: seq [B, T, D], mask [B, T] ->
    [B, ceil(T / stride), D], [B, ceil(T / stride)]. Padded steps carry no weight."""
    if stride == 1:
        return seq, mask
    batch, steps, dim = seq.shape
    extra = (-steps) % stride
    seq = F.pad(seq, (0, 0, 0, extra))                                   # [B, T', D]
    weights = F.pad(mask, (0, extra), value=False).to(seq.dtype)         # [B, T']
    weights = weights.reshape(batch, -1, stride)                          # [B, T'/s, s]
    summed = (seq.reshape(batch, -1, stride, dim) * weights.unsqueeze(-1)).sum(2)  # [B, T'/s, D]
    counts = weights.sum(-1)                                              # [B, T'/s]
    return summed / counts.clamp(min=1.0).unsqueeze(-1), counts > 0      # [B, T'/s, D], [B, T'/s]


def detached(x: Encoded) -> Encoded:
    """``x`` with its sequence and pooled embedding cut from the graph (no gradient to the encoder)."""
    return Encoded(seq=x.seq.detach(), mask=x.mask, pooled=x.pooled.detach())


class CrossBlock(nn.Module):
    """One direction of one layer: ``x`` (queries) attends to ``context`` (keys/values)."""

    def __init__(self, d_model: int, n_heads: int, ff_mult: int, dropout: float):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.norm_attn, self.norm_ff = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, ff_mult * d_model), nn.GELU(), nn.Dropout(dropout),
                                nn.Linear(ff_mult * d_model, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, context: Tensor, context_mask: Tensor,
                need_weights: bool) -> tuple[Tensor, Tensor | None]:
        """x [B, Tq, D], context [B, Tk, D], context_mask [B, Tk] (True = valid)
        -> x [B, Tq, D], weights [B, Tq, Tk] | None."""
        attended, weights = self.attn(x, context, context, key_padding_mask=~context_mask,
                                      need_weights=need_weights)  # [B, Tq, D], [B, Tq, Tk]
        x = self.norm_attn(x + self.drop(attended))       # [B, Tq, D]
        x = self.norm_ff(x + self.drop(self.ff(x)))       # [B, Tq, D]
        return x, weights


class CrossModalCorrection(nn.Module):
    """Bidirectional cross-attention over both sequences -> a logit correction [B, C] that is
    exactly zero at initialisation (zero output layer)."""

    def __init__(self, audio_dim: int, text_dim: int, num_classes: int, config):
        super().__init__()
        d = config.d_model
        self.stride = config.audio_stride
        self.audio_proj, self.text_proj = projection(audio_dim, d), projection(text_dim, d)
        layer = (d, config.n_heads, config.ff_mult, config.dropout)
        self.audio_blocks = nn.ModuleList(CrossBlock(*layer) for _ in range(config.n_layers))  # audio -> text
        self.text_blocks = nn.ModuleList(CrossBlock(*layer) for _ in range(config.n_layers))   # text -> audio
        self.audio_pool, self.text_pool = Pooling(config.pool, d), Pooling(config.pool, d)
        self.out = mlp(2 * d, config.hidden, num_classes, config.dropout)
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, audio: Encoded, text: Encoded, need_weights: bool) -> tuple[Tensor, dict[str, Tensor]]:
        """-> correction [B, C], attention weights of the last layer (when ``need_weights``)."""
        a_in = audio.seq.masked_fill(~audio.mask.unsqueeze(-1), 0.0)                 # [B, Ta, Da]
        a_seq, a_mask = downsample(self.audio_proj(a_in), audio.mask, self.stride)  # [B, Ta', D], [B, Ta']
        t_seq = self.text_proj(text.seq.masked_fill(~text.mask.unsqueeze(-1), 0.0))  # [B, Tt, D]
        t_mask = text.mask                                                            # [B, Tt]
        weights: dict[str, Tensor] = {}
        for audio_block, text_block in zip(self.audio_blocks, self.text_blocks):
            new_a, w_at = audio_block(a_seq, t_seq, t_mask, need_weights)  # [B, Ta', D], [B, Ta', Tt]
            new_t, w_ta = text_block(t_seq, a_seq, a_mask, need_weights)   # [B, Tt, D], [B, Tt, Ta']
            a_seq, t_seq = new_a, new_t
            if need_weights:
                weights = {"audio_to_text": w_at.detach(), "text_to_audio": w_ta.detach()}
        pooled = torch.cat([self.audio_pool(a_seq, a_mask), self.text_pool(t_seq, t_mask)], dim=-1)  # [B, 2D]
        return self.out(pooled), weights                                                           # [B, C]


class CrossAttentionHead(FusionHead):
    """Scaled product of the audio and text experts + a zero-initialised cross-attention correction."""

    name: ClassVar[str] = "cross-attention"
    fits_held_out: ClassVar[bool] = True  # the scales, with fit_scales (else fit_held_out fits nothing)
    has_branches: ClassVar[bool] = True

    @dataclass(frozen=True)
    class Config:
        branch_pool: str = "attention"   # each expert's pooling: "attention" | "mean" | "encoder" (as unimodal)
        branch_hidden: int = 128         # hidden width of each expert's MLP (as the unimodal head)
        branch_dropout: float = 0.3      # dropout inside each expert's MLP (as the unimodal head)
        aux_weight: float = 1.0          # weight of each expert's own cross-entropy in the loss
        isolate_branches: bool = True    # the fused loss does not reach the experts (detached log-probs)
        isolate_encoders: bool = False   # nor the encoders: the correction sees detached sequences
        fit_scales: bool = True          # refit the scales on the validation predictions after every epoch
        learn_scales: bool = False       # also learn the scales with the fused loss on the training data
        correction: bool = True          # add the cross-attention correction term
        d_model: int = 128               # width of the projected streams and of the attention
        n_heads: int = 4                 # attention heads (must divide d_model)
        n_layers: int = 1                # stacked bidirectional cross-attention layers
        ff_mult: int = 2                 # FFN hidden width = ff_mult * d_model
        dropout: float = 0.2             # dropout in attention, FFN and the correction MLP
        hidden: int = 256                # hidden width of the correction MLP
        pool: str = "attention"          # pooling of each attended stream: "attention" | "mean" (both masked)
        audio_stride: int = 1            # average-pool the audio stream over this many frames first (1 = off)
        modality_dropout: float = 0.0    # training only: fraction of samples with one modality removed

    def __init__(self, config: Config, audio_dim: int | None, text_dim: int | None, num_classes: int, *,
                 loss: LossConfig | None = None):
        super().__init__(config, audio_dim, text_dim, num_classes, loss=loss)
        check_config(self.name, config, non_negative=("aux_weight",), fractions=("dropout", "branch_dropout",
                                                                                 "modality_dropout"),
                     positive=("d_model", "n_heads", "n_layers", "ff_mult", "hidden", "branch_hidden",
                               "audio_stride"),
                     choices={"pool": STREAM_POOLS, "branch_pool": POOLS})
        if config.d_model % config.n_heads:
            raise ConfigError(f"fusion head 'cross-attention': n_heads ({config.n_heads}) must divide "
                              f"d_model ({config.d_model})")
        if config.isolate_branches and config.aux_weight == 0:
            raise ConfigError("fusion head 'cross-attention': with isolate_branches the experts learn only from "
                              "their own losses; aux_weight must be > 0 (or set isolate_branches=false)")
        self.experts = nn.ModuleDict({
            name: UnimodalClassifier(config.branch_pool, dim, config.branch_hidden, num_classes,
                                     config.branch_dropout)
            for name, dim in zip(MODALITIES, (audio_dim, text_dim))})
        self.log_scales = nn.Parameter(torch.zeros(len(TERMS)),  # [3] log s_audio, log s_text, log s_correction
                                       requires_grad=config.learn_scales)
        self.correction = (CrossModalCorrection(audio_dim, text_dim, num_classes, config)
                           if config.correction else None)

    @property
    def scales(self) -> dict[str, float]:
        """The current weights of the fused terms: "audio", "text" (experts), "correction"."""
        return dict(zip(TERMS, self.log_scales.detach().exp().tolist()))

    def fit_held_out(self, logits: Tensor, branch_logits: dict[str, Tensor], targets: Tensor) -> HeldOutFit | None:
        """With ``fit_scales``: refit the scales of the experts (and of the correction) on held-out
        predictions (logits [N, C], branch logits [N, C] per modality, targets [N]) by the
        class-weighted cross-entropy of the fused logits; returns the new scales (``values["scales"]``)
        and the held-out logits under them (``logits`` [N, C]: what a forward pass would now give)."""
        if not self.config.fit_scales or set(branch_logits) != set(MODALITIES) or not len(targets):
            return None
        scales = self.log_scales.detach().exp().to(logits.device)                  # [3]
        terms = [branch_logits[m].detach().log_softmax(-1) for m in MODALITIES]      # [N, C] each
        if self.correction is not None:  # the correction is what the experts do not explain
            terms.append((logits.detach() - scales[0] * terms[0] - scales[1] * terms[1]) / scales[2])  # [N, C]
        fitted = fit_log_scales(terms, targets, self.class_weights,
                                init=self.log_scales.detach()[:len(terms)])  # [K]
        with torch.no_grad():
            self.log_scales[:len(terms)] = fitted.to(self.log_scales.device)
            new_scales = self.log_scales.detach().exp().to(logits.device)[:len(terms)]  # [K]
            refitted = sum(s * term for s, term in zip(new_scales, terms))               # [N, C]
        return HeldOutFit({"scales": {k: round(v, 3) for k, v in self.scales.items()}}, refitted)

    def forward(self, audio: Encoded | None, text: Encoded | None,
                targets: Tensor | None = None) -> HeadOutput:
        presence = Presence.of(audio, text, self.config.modality_dropout, self.training)
        inputs = {"audio": audio, "text": text}
        keep = {"audio": presence.audio, "text": presence.text}  # [B] bool each
        branches = {m: self.experts[m](x) for m, x in inputs.items() if x is not None}  # [B, C] each
        scales = self.log_scales.exp()  # [3]
        logits = presence.ref.new_zeros(presence.batch, self.num_classes)  # [B, C]
        for index, m in enumerate(MODALITIES):
            if m not in branches:
                continue
            log_p = branches[m].log_softmax(-1)                          # [B, C]
            if self.config.isolate_branches:
                log_p = log_p.detach()
            log_p = log_p * keep[m].unsqueeze(-1).to(log_p.dtype)        # [B, C] removed modality -> 0
            logits = logits + scales[index] * log_p                      # [B, C]
        attention: dict[str, Tensor] = {}
        if self.correction is not None and audio is not None and text is not None:
            if self.config.isolate_encoders:  # the encoders learn from the experts' losses only
                audio, text = detached(audio), detached(text)
            correction, attention = self.correction(audio, text, need_weights=not self.training)  # [B, C]
            both = (presence.audio & presence.text).unsqueeze(-1).to(correction.dtype)               # [B, 1]
            logits = logits + scales[2] * correction * both                                          # [B, C]
        if targets is None:
            return HeadOutput(logits, None, branches, attention)
        loss = self.loss(logits, targets)
        if self.config.aux_weight > 0:
            for branch in branches.values():
                loss = loss + self.config.aux_weight * self.loss(branch, targets)
        return HeadOutput(logits, loss, branches, attention)
