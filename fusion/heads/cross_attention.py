"""Cross-attention head (the default): MulT-style bidirectional cross-modal attention.

Both sequences are projected to ``d_model``. Each of ``n_layers`` layers updates the two
streams simultaneously: audio frames (queries) attend to text tokens, text tokens attend to
audio frames, each followed by residual + LayerNorm + FFN + residual + LayerNorm. Padded
steps are never attended to (``key_padding_mask`` is True at *padded* positions, the inverse
of ``Encoded.mask``) and are excluded from the masked pooling of each stream. The two pooled
streams are concatenated with the projected ``pooled`` embeddings and classified by ``base.mlp``.

* Auxiliary unimodal classifiers on the projected pooled embeddings (``aux_weight > 0``) add
  ``aux_weight * CE`` per modality to the loss and fill ``branch_logits``; they keep one
  modality from dominating.
* ``attention`` holds the last layer's head-averaged weights, ``"audio_to_text"`` [B, Ta, Tt]
  and ``"text_to_audio"`` [B, Tt, Ta], computed in eval mode only (training uses the fused
  attention kernel without materialising them).
* Long audio: there is no audio self-attention, so memory is O(Ta·Tt), not O(Ta²);
  ``audio_stride > 1`` additionally average-pools the audio stream (mask-aware) before the
  attention, and the audio axis of the weights is then the pooled one.
* Missing-modality rule: the cross-attention sublayers are skipped (their output counts as
  zero), the present stream still goes through its LayerNorm/FFN path and pooling, and the
  missing modality's pooled stream and projected embedding are zeros.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fusion.components import Encoded
from fusion.errors import ConfigError

from .base import FusionHead, Pooling, check_config, mlp, projection

STREAM_POOLS = ("attention", "mean")


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


class CrossBlock(nn.Module):
    """One direction of one layer: ``x`` (queries) attends to ``context`` (keys/values)."""

    def __init__(self, d_model: int, n_heads: int, ff_mult: int, dropout: float):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.norm_attn, self.norm_ff = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, ff_mult * d_model), nn.GELU(), nn.Dropout(dropout),
                                nn.Linear(ff_mult * d_model, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, context: Tensor | None, context_mask: Tensor | None,
                need_weights: bool) -> tuple[Tensor, Tensor | None]:
        """x [B, Tq, D], context [B, Tk, D] | None, context_mask [B, Tk] (True = valid)
        -> x [B, Tq, D], weights [B, Tq, Tk] | None."""
        weights = None
        if context is not None:
            attended, weights = self.attn(x, context, context, key_padding_mask=~context_mask,
                                          need_weights=need_weights)  # [B, Tq, D], [B, Tq, Tk]
            x = self.norm_attn(x + self.drop(attended))  # [B, Tq, D]
        else:
            x = self.norm_attn(x)                        # [B, Tq, D] attention output counts as 0
        x = self.norm_ff(x + self.drop(self.ff(x)))      # [B, Tq, D]
        return x, weights


class CrossAttentionHead(FusionHead):
    """Bidirectional audio<->text cross-attention, pooled streams + pooled embeddings -> MLP."""

    name: ClassVar[str] = "cross-attention"

    @dataclass(frozen=True)
    class Config:
        d_model: int = 128        # width of the projected streams and of the attention
        n_heads: int = 4          # attention heads (must divide d_model)
        n_layers: int = 1         # stacked bidirectional cross-attention layers
        ff_mult: int = 2          # FFN hidden width = ff_mult * d_model
        dropout: float = 0.2      # dropout in attention, FFN and the MLP classifier
        hidden: int = 256         # hidden width of the MLP classifier(s)
        pool: str = "attention"   # pooling of each attended stream: "attention" | "mean" (both masked)
        aux_weight: float = 0.3   # weight of each auxiliary unimodal loss; 0 = no auxiliary classifiers
        audio_stride: int = 1     # average-pool the audio stream over this many frames first (1 = off)

    def __init__(self, config: Config, audio_dim: int | None, text_dim: int | None, num_classes: int):
        super().__init__(config, audio_dim, text_dim, num_classes)
        check_config(self.name, config, non_negative=("aux_weight",), fractions=("dropout",),
                     positive=("d_model", "n_heads", "n_layers", "ff_mult", "hidden", "audio_stride"),
                     choices={"pool": STREAM_POOLS})
        if config.d_model % config.n_heads:
            raise ConfigError(f"fusion head 'cross-attention': n_heads ({config.n_heads}) must divide "
                              f"d_model ({config.d_model})")
        d = config.d_model
        self.audio_seq_proj, self.text_seq_proj = projection(audio_dim, d), projection(text_dim, d)
        self.audio_vec_proj, self.text_vec_proj = projection(audio_dim, d), projection(text_dim, d)
        layer = (d, config.n_heads, config.ff_mult, config.dropout)
        self.audio_blocks = nn.ModuleList(CrossBlock(*layer) for _ in range(config.n_layers))  # audio -> text
        self.text_blocks = nn.ModuleList(CrossBlock(*layer) for _ in range(config.n_layers))   # text -> audio
        self.audio_pool, self.text_pool = Pooling(config.pool, d), Pooling(config.pool, d)
        self.classifier = mlp(4 * d, config.hidden, num_classes, config.dropout)
        self.aux = nn.ModuleDict()
        if config.aux_weight > 0:
            self.aux["audio"] = mlp(d, config.hidden, num_classes, config.dropout)
            self.aux["text"] = mlp(d, config.hidden, num_classes, config.dropout)

    def streams(self, audio: Encoded | None, text: Encoded | None) -> tuple:
        """-> audio seq [B, Ta, D], mask [B, Ta], text seq [B, Tt, D], mask [B, Tt], projected,
        with padded input steps zeroed first; None for a missing modality."""
        a_seq = a_mask = t_seq = t_mask = None
        if audio is not None:
            a_in = audio.seq.masked_fill(~audio.mask.unsqueeze(-1), 0.0)             # [B, Ta, Da]
            a_seq, a_mask = downsample(self.audio_seq_proj(a_in), audio.mask,
                                       self.config.audio_stride)                    # [B, Ta', D], [B, Ta']
        if text is not None:
            t_in = text.seq.masked_fill(~text.mask.unsqueeze(-1), 0.0)               # [B, Tt, Dt]
            t_seq, t_mask = self.text_seq_proj(t_in), text.mask                      # [B, Tt, D], [B, Tt]
        return a_seq, a_mask, t_seq, t_mask

    def forward(self, audio: Encoded | None, text: Encoded | None,
                targets: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        batch = self.batch_size(audio, text)
        ref = (audio if audio is not None else text).pooled
        a_seq, a_mask, t_seq, t_mask = self.streams(audio, text)
        need = not self.training
        weights: dict[str, Tensor] = {}
        for audio_block, text_block in zip(self.audio_blocks, self.text_blocks):
            new_a = new_t = None
            if a_seq is not None:
                new_a, w = audio_block(a_seq, t_seq, t_mask, need)  # [B, Ta, D], [B, Ta, Tt]
                if w is not None:
                    weights["audio_to_text"] = w.detach()
            if t_seq is not None:
                new_t, w = text_block(t_seq, a_seq, a_mask, need)   # [B, Tt, D], [B, Tt, Ta]
                if w is not None:
                    weights["text_to_audio"] = w.detach()
            a_seq, t_seq = new_a, new_t
        zeros = ref.new_zeros(batch, self.config.d_model)  # [B, D]
        a_vec = self.audio_vec_proj(audio.pooled) if audio is not None else zeros  # [B, D]
        t_vec = self.text_vec_proj(text.pooled) if text is not None else zeros     # [B, D]
        a_pooled = self.audio_pool(a_seq, a_mask) if a_seq is not None else zeros  # [B, D]
        t_pooled = self.text_pool(t_seq, t_mask) if t_seq is not None else zeros   # [B, D]
        logits = self.classifier(torch.cat([a_pooled, t_pooled, a_vec, t_vec], dim=-1))  # [B, C]
        present = {"audio": (audio, a_vec), "text": (text, t_vec)}
        self.branch_logits = {name: self.aux[name](vec)  # [B, C]
                              for name, (x, vec) in present.items() if x is not None and name in self.aux}
        self.attention = weights
        if targets is None:
            return logits, None
        loss = self.loss(logits, targets)
        for branch in self.branch_logits.values():
            loss = loss + self.config.aux_weight * self.loss(branch, targets)
        return logits, loss
