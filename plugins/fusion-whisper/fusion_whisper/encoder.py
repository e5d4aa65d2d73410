"""The ``whisper-encoder`` acoustic encoder: frozen Whisper hidden states + a small trainable top.

* ``featurize(wav)`` (frozen, cached): every layer's hidden states ``[T, L+1, D]`` in float16
  (see :mod:`fusion_whisper.hidden_states` for the layout), or with ``finetune_layers = k > 0``
  only the state entering the top k blocks ``[T, D]``. With ``prosody`` (the default) the clip's 88
  eGeMAPS functionals (:mod:`fusion_whisper.prosody`) ride along: the states are flattened per
  frame and the functionals appended to every frame, ``[T, (L+1)*D + 88]`` (``[T, D + 88]``), so
  speaker normalisation standardises them per speaker like any other dimension.
* ``forward(feats, lengths)`` (trained): in training only, frame augmentation of the cached
  states (:mod:`fusion_whisper.frame_augment`); a softmax-weighted average over the layers, or
  their concatenation (or the top k Whisper blocks, copied from the checkpoint as real
  parameters, with key-padding masks); the prosodic functionals appended to every frame; optionally each dimension standardised over the valid
  frames (:mod:`fusion_whisper.frame_norm`); an optional projection, then masked-mean or
  attention pooling.

The Whisper model itself is never a submodule: it is fetched from the per-process checkpoint
cache when featurizing, so ``state_dict()`` holds only the trainable parts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fusion.components import AcousticEncoder, Encoded, lengths_to_mask, masked_mean
from fusion.errors import CheckpointError, ConfigError

from . import checkpoint, hidden_states, prosody
from .frame_augment import FrameAugment
from .frame_norm import MaskedBatchNorm

POOLINGS = ("mean", "attention")
LAYER_MIXES = ("weighted", "concat")
WHERE = "acoustic encoder 'whisper-encoder'"
FEATURE_LAYOUT = "stacked-float16-v2"  # bump when featurize's output format changes


class WhisperEncoder(AcousticEncoder):
    """Frozen openai-whisper encoder states, layer-weighted (or top blocks fine-tuned), pooled."""

    name = "whisper-encoder"
    legacy_defaults = {"prosody": False}  # models saved before prosody existed read the states alone

    @dataclass(frozen=True)
    class Config:
        model: str = field(default_factory=checkpoint.default_encoder_model)  # name ("base") or .pt path
        trim: bool = True              # encode the real length; False: standard padded 30 s window, sliced
        finetune_layers: int = 0       # k > 0: train copies of the top k blocks (+ ln_post) on cached states
        normalize_layers: bool = True  # layer-norm (no affine) each layer before the weighted average (cached)
        frame_stride: int = 4          # average every n 20-ms frames in featurize (k = 0 only): 4 -> 80 ms
        layer_mix: str = "weighted"    # k = 0: "weighted" (softmax weights, D) | "concat" (every layer, (L+1)*D)
        standardize: bool = True       # BatchNorm each dimension over the valid frames (running stats at eval)
        proj_dim: int = 0              # > 0: Linear(D, proj_dim) after the encoder; 0 keeps D
        pooling: str = "mean"          # "mean" (masked mean) | "attention" (learned frame scores)
        dropout: float = 0.0           # on the frame sequence, before pooling
        feature_noise: float = 0.1     # training: Gaussian noise (std) added to the cached frames
        frame_dropout: float = 0.2     # training: probability of leaving a frame out of the mask
        time_mask_ratio: float = 0.2   # training: one span of up to this fraction of a clip left out
        device: str = "cpu"            # torch device of the frozen featurize pass
        prosody: bool = True           # append the clip's 88 eGeMAPS functionals to every frame: what
                                       # transfers across corpora (RAVDESS -> demo audio UA 33 -> 45)

    def __init__(self, config: "WhisperEncoder.Config | None" = None):
        super().__init__()
        self.config = c = config or self.Config()
        if c.pooling not in POOLINGS:
            raise ConfigError(f"{WHERE}: unknown pooling {c.pooling!r}; valid choices: {', '.join(POOLINGS)}")
        if c.layer_mix not in LAYER_MIXES:
            raise ConfigError(f"{WHERE}: unknown layer_mix {c.layer_mix!r}; valid choices: {', '.join(LAYER_MIXES)}")
        if c.frame_stride < 1:
            raise ConfigError(f"{WHERE}: frame_stride must be >= 1, got {c.frame_stride}")
        if c.proj_dim < 0 or not 0.0 <= c.dropout < 1.0:
            raise ConfigError(f"{WHERE}: proj_dim must be >= 0 and dropout in [0, 1), "
                              f"got {c.proj_dim}, {c.dropout}")
        dims = checkpoint.dims(c.model, c.device, CheckpointError, WHERE)
        self.num_layers, self.hidden_dim = dims.n_audio_layer, dims.n_audio_state  # L, D
        if not 0 <= c.finetune_layers <= self.num_layers:
            raise ConfigError(f"{WHERE}: finetune_layers must be in 0..{self.num_layers} for {c.model}, "
                              f"got {c.finetune_layers}")
        if c.finetune_layers:
            frozen = self.whisper_model().encoder
            top = frozen.blocks[self.num_layers - c.finetune_layers:]
            self.top_blocks = nn.ModuleList(copy.deepcopy(b).float().requires_grad_(True) for b in top)
            self.ln_post = copy.deepcopy(frozen.ln_post).float().requires_grad_(True)
        elif c.layer_mix == "weighted":
            self.layer_logits = nn.Parameter(torch.zeros(self.num_layers + 1))  # [L+1]
        self.concat = not c.finetune_layers and c.layer_mix == "concat"
        self.prosody_dim = prosody.DIM if c.prosody else 0
        mixed_dim = self.hidden_dim * (self.num_layers + 1 if self.concat else 1) + self.prosody_dim
        self.output_dim = c.proj_dim or mixed_dim
        self.frame_norm = MaskedBatchNorm(mixed_dim) if c.standardize else None
        self.proj = nn.Linear(mixed_dim, c.proj_dim) if c.proj_dim else nn.Identity()
        self.dropout = nn.Dropout(c.dropout)
        self.augment = FrameAugment(c.feature_noise, c.frame_dropout, c.time_mask_ratio, WHERE)
        self.attn_score = nn.Linear(self.output_dim, 1) if c.pooling == "attention" else None

    # ------------------------------------------------------------------ frozen part

    def whisper_model(self):
        """The frozen whisper.Whisper (shared per process; deliberately not a submodule)."""
        return checkpoint.load(self.config.model, self.config.device, CheckpointError, WHERE)

    def featurize_key(self) -> dict:
        """Weights identity + what changes featurize's output (not the trainable options)."""
        c = self.config
        key = {"name": self.name, "model": checkpoint.model_identity(c.model), "trim": c.trim,
               "finetune_layers": c.finetune_layers, "layout": FEATURE_LAYOUT}
        if not c.finetune_layers:
            key.update(normalize_layers=c.normalize_layers, frame_stride=c.frame_stride)
        if c.prosody:  # absent when off: the keys of the states alone stay what they were
            key["prosody"] = "egemaps-v02"
        return key

    def frame_states(self, wav: Tensor, trim: bool | None = None) -> Tensor:
        """wav [S] -> every layer's states [T, L+1, D] float32; ``trim`` overrides the config
        (False: the standard padded 30 s pass, first T frames)."""
        trim = self.config.trim if trim is None else trim
        return hidden_states.stacked_states(self.whisper_model(), torch.as_tensor(wav), trim)

    def featurize(self, wav: Tensor) -> Tensor:
        """wav [S] -> [T', L+1, D] float16 (layer-normed, averaged over ``frame_stride`` frames:
        T' = ceil(T / stride)), or [T, D] (the state entering the top k blocks) when k > 0; with
        ``prosody`` flattened per frame, the 88 functionals appended: [T', (L+1)*D + 88] ([T, D + 88])."""
        states = self.whisper_states(wav).to(torch.float16).cpu()  # [T', L+1, D] or [T, D]
        if not self.config.prosody:
            return states
        functionals = prosody.egemaps(wav).to(torch.float16)        # [88]
        flat = states.reshape(states.shape[0], -1)                  # [T', W]
        return torch.cat([flat, functionals.expand(flat.shape[0], -1)], dim=1)  # [T', W + 88]

    def whisper_states(self, wav: Tensor) -> Tensor:
        """wav [S] -> the Whisper part of :meth:`featurize`: [T', L+1, D] (or [T, D] when k > 0) float32."""
        c = self.config
        states = self.frame_states(wav)                    # [T, L+1, D]
        if c.finetune_layers:
            return states[:, self.num_layers - c.finetune_layers]  # [T, D]
        if c.normalize_layers:
            states = F.layer_norm(states, (self.hidden_dim,))        # [T, L+1, D]
        if c.frame_stride > 1:
            steps, layers, dim = states.shape
            flat = states.reshape(steps, layers * dim).T[None]        # [1, (L+1)*D, T]
            flat = F.avg_pool1d(flat, c.frame_stride, c.frame_stride, ceil_mode=True)  # [1, (L+1)*D, T']
            states = flat[0].T.reshape(-1, layers, dim)               # [T', L+1, D]
        return states

    # ------------------------------------------------------------------ trainable part

    def forward(self, feats: Tensor, lengths: Tensor) -> Encoded:
        """feats [B, T, L+1, D] (or [B, T, D] when k > 0; with prosody [B, T, W + 88]), lengths [B]
        -> Encoded (seq [B, T, D'])."""
        expected = 3 if self.config.finetune_layers or self.prosody_dim else 4
        if feats.dim() != expected:
            raise ConfigError(f"{WHERE}: expected {expected}-D features, got shape {tuple(feats.shape)}; "
                              "were they cached with another finetune_layers or prosody?")
        mask = lengths_to_mask(lengths.to(feats.device), feats.shape[1])  # [B, T]
        x, functionals = self._split(feats.float())        # states as without prosody, [B, T, 88] or None
        if self.config.finetune_layers:
            x, mask = self.augment(x, mask)                # training only: frames dropped from the mask
            for block in self.top_blocks:
                x = masked_block(block, x, mask)           # [B, T, D]
            x = self.ln_post(x)                            # [B, T, D]
        elif self.concat:
            x, mask = self.augment(x.flatten(2), mask)     # [B, T, (L+1)*D]
        else:  # layers were normalised in featurize
            weights = torch.softmax(self.layer_logits, dim=0)  # [L+1]
            x = torch.matmul(weights, x)                   # [L+1] @ [B, T, L+1, D] -> [B, T, D] (half einsum's time)
            # augmenting the average, not each layer: i.i.d. noise of std s on every layer, averaged with
            # weights w, is noise of std s * ||w||_2 (same distribution, L+1 times fewer draws)
            x, mask = self.augment(x, mask, noise_scale=weights.square().sum().sqrt())
        if functionals is not None:
            x = torch.cat([x, functionals], dim=-1)        # [B, T, D + 88]
        if self.frame_norm is not None:
            x = self.frame_norm(x, mask)                   # [B, T, D] each dimension standardised
        x = self.dropout(self.proj(x)) * mask[..., None]   # [B, T, D'], padding zeroed
        return Encoded(seq=x, mask=mask, pooled=self._pool(x, mask))

    def _split(self, feats: Tensor) -> tuple[Tensor, Tensor | None]:
        """Features -> (the Whisper states in their own layout, the functionals [B, T, 88] or None)."""
        if not self.prosody_dim:
            return feats, None
        batch, steps, width = feats.shape
        layers = 1 if self.config.finetune_layers else self.num_layers + 1
        if width != layers * self.hidden_dim + self.prosody_dim:
            raise ConfigError(f"{WHERE}: expected {layers * self.hidden_dim + self.prosody_dim} values per frame "
                              f"(Whisper states + {self.prosody_dim} prosodic functionals), got {width}")
        states = feats[..., : width - self.prosody_dim]    # [B, T, W]
        if not self.config.finetune_layers:
            states = states.reshape(batch, steps, layers, self.hidden_dim)  # [B, T, L+1, D]
        return states, feats[..., width - self.prosody_dim:]

    def _pool(self, x: Tensor, mask: Tensor) -> Tensor:
        """x [B, T, D'], mask [B, T] -> [B, D']."""
        if self.attn_score is None:
            return masked_mean(x, mask)
        scores = self.attn_score(x).squeeze(-1).masked_fill(~mask, float("-inf"))  # [B, T]
        return (torch.softmax(scores, dim=1).unsqueeze(-1) * x).sum(dim=1)          # [B, D']

    def layer_weights(self) -> Tensor | None:
        """Softmax weights over the stacked layers [L+1] (None when top blocks are fine-tuned or layers
        are concatenated)."""
        if self.config.finetune_layers or self.concat:
            return None
        return torch.softmax(self.layer_logits.detach(), dim=0)


def masked_block(block: nn.Module, x: Tensor, mask: Tensor) -> Tensor:
    """A whisper ResidualAttentionBlock on x [B, T, D] whose keys at padded frames are ignored.

    Whisper's own block forward has no key-padding mask (it only ever sees full windows).
    """
    attn = block.attn
    batch, steps, dim = x.shape
    h = block.attn_ln(x)                                                       # [B, T, D]
    q, k, v = (proj(h).view(batch, steps, attn.n_head, -1).transpose(1, 2)     # [B, H, T, D/H]
               for proj in (attn.query, attn.key, attn.value))
    a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])  # [B, H, T, D/H]
    x = x + attn.out(a.transpose(1, 2).reshape(batch, steps, dim))             # [B, T, D]
    return x + block.mlp(block.mlp_ln(x))                                      # [B, T, D]
