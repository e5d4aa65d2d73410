"""The frozen lower part of a Hugging Face encoder, kept outside ``nn.Module`` registration.

A :class:`FrozenBackbone` is stored on a text encoder as a plain attribute of this (non-Module)
type, so its weights are not parameters: they never reach ``state_dict()`` / checkpoints or the
optimizer, ``.train()`` does not switch its dropout on, and ``copy.deepcopy`` of the encoder shares
it instead of copying ~90 MB. It only runs inside :meth:`hidden_states` (``torch.no_grad()``, CPU).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn


def encoder_layers(model: Any) -> nn.ModuleList | None:
    """The transformer block list of a BERT-style model (``model.encoder.layer``), or None."""
    layers = getattr(getattr(model, "encoder", None), "layer", None)
    return layers if isinstance(layers, nn.ModuleList) else None


class FrozenBackbone:
    """Tokenizer + frozen model; returns the last hidden states it computes for one text."""

    def __init__(self, model: Any, tokenizer: Any, max_length: int):
        self.model = model            # eval mode, requires_grad False
        self.tokenizer = tokenizer
        self.max_length = max_length  # tokens incl. special tokens; longer text is truncated

    def __deepcopy__(self, memo: dict) -> "FrozenBackbone":
        return self  # immutable in practice: share, never copy

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    def tokenize(self, text: str) -> dict[str, Tensor]:
        return self.tokenizer(text, truncation=True, max_length=self.max_length, return_tensors="pt")

    def hidden_states(self, text: str) -> Tensor:
        """text -> [T, H] float32 states of the model's last (kept) layer; T >= 2 ([CLS] ... [SEP])."""
        return self.hidden_states_of(self.tokenize(text))  # [T, H]

    @torch.no_grad()
    def hidden_states_of(self, inputs: dict[str, Tensor]) -> Tensor:
        """Tokenizer output for one text (batch dim 1) -> [T, H] float32 last (kept) layer states."""
        out = self.model(**inputs)
        return out.last_hidden_state[0].float().contiguous()  # [T, H]

    @torch.no_grad()
    def hidden_states_batch(self, texts: list[str]) -> list[Tensor]:
        """texts -> one [T_i, H] float32 state matrix each, from one padded forward pass (the attention
        mask keeps padding out; equal to :meth:`hidden_states` up to float rounding)."""
        inputs = self.tokenizer(texts, truncation=True, max_length=self.max_length, padding=True,
                                return_tensors="pt")
        states = self.model(**inputs).last_hidden_state.float()            # [B, T_max, H]
        valid = inputs["attention_mask"].bool()                            # [B, T_max] (either padding side)
        return [states[i][valid[i]].contiguous() for i in range(len(texts))]  # B x [T_i, H]

    @torch.no_grad()
    def position_bias(self, hidden: Tensor) -> Tensor | None:
        """hidden [B, T, H] -> the relative-position attention bias every block takes as a third input
        ([B, heads, T, T] for MPNet, from the encoder's shared, frozen bias table); None for models
        whose blocks need none (BERT, MiniLM)."""
        compute = getattr(getattr(self.model, "encoder", None), "compute_position_bias", None)
        return compute(hidden) if callable(compute) else None

    def split_top_layers(self, k: int) -> nn.ModuleList:
        """Detach the top ``k`` blocks: returns trainable copies and drops them from the frozen model.

        Afterwards :meth:`hidden_states` returns the states *entering* those blocks.
        """
        layers = encoder_layers(self.model)
        if layers is None:
            raise ValueError("model has no encoder.layer block list")
        top = nn.ModuleList(copy.deepcopy(list(layers[len(layers) - k:])))
        self.model.encoder.layer = nn.ModuleList(list(layers[: len(layers) - k]))
        top.requires_grad_(True)
        return top
