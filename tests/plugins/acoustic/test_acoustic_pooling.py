"""Masked mean and attention pooling: weights on valid frames only, padding-invariant, differentiable."""

from __future__ import annotations

import pytest
import torch

from fusion.components import lengths_to_mask, masked_mean
from fusion.errors import ConfigError
from fusion_acoustic.pooling import AttentionPooling, MeanPooling, make_pooling


def test_attention_weights_cover_valid_frames_only():
    torch.manual_seed(0)
    seq, mask = torch.randn(3, 7, 16), lengths_to_mask(torch.tensor([7, 3, 1]))
    pooled, weights = AttentionPooling(16)(seq, mask)
    assert pooled.shape == (3, 16) and weights.shape == (3, 7)
    assert torch.allclose(weights.sum(1), torch.ones(3))
    assert weights[~mask].abs().max() == 0 and (weights[mask] > 0).all()
    assert torch.allclose(pooled[2], seq[2, 0], atol=1e-6)  # one valid frame -> that frame


def test_attention_pooling_ignores_padding_content():
    torch.manual_seed(0)
    pool = AttentionPooling(8)
    clip = torch.randn(1, 5, 8)
    alone, _ = pool(clip, torch.ones(1, 5, dtype=torch.bool))
    padded = torch.cat([clip, 100 * torch.randn(1, 4, 8)], dim=1)  # garbage, not zeros
    in_batch, _ = pool(padded, lengths_to_mask(torch.tensor([5]), 9))
    assert torch.allclose(alone, in_batch, atol=1e-6)


def test_mean_pooling_matches_masked_mean_and_gradients_flow():
    seq = torch.randn(2, 6, 4, requires_grad=True)
    mask = lengths_to_mask(torch.tensor([6, 2]))
    pooled, weights = MeanPooling()(seq, mask)
    assert torch.allclose(pooled, masked_mean(seq, mask))
    assert torch.allclose(weights[1], torch.tensor([0.5, 0.5, 0, 0, 0, 0]))
    pooled.sum().backward()
    assert seq.grad[1, 2:].abs().max() == 0 and seq.grad[1, :2].abs().min() > 0


def test_unknown_pooling_lists_choices():
    with pytest.raises(ConfigError, match="valid choices: attention, mean"):
        make_pooling("max", 8, "acoustic encoder 'cnn'")
