"""The trainable top transformer blocks of a partially fine-tuned Hugging Face encoder."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


def attention_mask_for(config: Any, hidden: Tensor, mask: Tensor) -> Tensor | None:
    """The mask the blocks expect for key padding ``mask`` [B, T] (True = valid token).

    Uses transformers' own builder (matches the configured attention implementation: sdpa,
    eager...); older transformers get the classic additive mask [B, 1, 1, T].
    """
    try:
        from transformers.masking_utils import create_bidirectional_mask
    except ImportError:  # transformers < 4.53
        additive = (~mask)[:, None, None, :].to(hidden.dtype)      # [B, 1, 1, T]
        return additive * torch.finfo(hidden.dtype).min
    return create_bidirectional_mask(config=config, inputs_embeds=hidden, attention_mask=mask.long())


class TopLayers(nn.Module):
    """Runs copied transformer blocks over cached hidden states with the padding mask applied."""

    def __init__(self, layers: nn.ModuleList, model_config: Any):
        super().__init__()
        self.layers = layers                # trainable copies (parameters, saved in state_dict)
        self.model_config = model_config    # transformers config: attention implementation, sizes

    def forward(self, hidden: Tensor, mask: Tensor, position_bias: Tensor | None = None) -> Tensor:
        """hidden [B, T, H], mask [B, T] bool, position_bias [B, heads, T, T] (MPNet; None for BERT-style
        blocks) -> [B, T, H]."""
        attn = attention_mask_for(self.model_config, hidden, mask)
        extra = () if position_bias is None else (position_bias,)
        for layer in self.layers:
            out = layer(hidden, attn, *extra)
            hidden = out[0] if isinstance(out, tuple) else out       # [B, T, H]
        return hidden
