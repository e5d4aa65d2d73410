"""MaskedBatchNorm: per-dimension standardisation over the valid frames of a padded batch."""

from __future__ import annotations

import torch

from fusion.components import lengths_to_mask
from fusion_whisper.frame_norm import MaskedBatchNorm


def padded(lengths=(6, 3, 1), dim=4, garbage=1e4):
    torch.manual_seed(0)
    lengths = torch.tensor(lengths)
    mask = lengths_to_mask(lengths, int(lengths.max()))                       # [B, T]
    scale = torch.tensor([1.0, 10.0, 100.0, 1000.0])[:dim]
    x = torch.randn(len(lengths), int(lengths.max()), dim) * scale + 5.0      # [B, T, D]
    return x.masked_fill(~mask[..., None], garbage), mask


def test_training_standardises_each_dimension_over_valid_frames_only():
    x, mask = padded()
    norm = MaskedBatchNorm(4).train()
    out = norm(x, mask)
    valid = out[mask]                                                       # [N, D]
    torch.testing.assert_close(valid.mean(0), torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(valid.var(0, unbiased=False), torch.ones(4), atol=1e-3, rtol=0)
    assert (out[~mask] == 0).all()
    assert float(norm.running_mean.abs().max()) < 1e3  # the 1e4 garbage never entered the statistics


def test_eval_output_does_not_depend_on_the_batch():
    x, mask = padded()
    norm = MaskedBatchNorm(4).train()
    for _ in range(5):
        norm(x, mask)
    norm.eval()
    together = norm(x, mask)
    alone = norm(x[1:2, :3], mask[1:2, :3])
    torch.testing.assert_close(together[1, :3], alone[0])


def test_a_single_frame_in_training_uses_the_running_statistics():
    x, mask = padded(lengths=(1,))
    norm = MaskedBatchNorm(4).train()
    before = norm.running_mean.clone()
    out = norm(x, mask)
    assert torch.isfinite(out).all() and torch.equal(norm.running_mean, before)
