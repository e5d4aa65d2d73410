"""FrameAugment: training-only perturbation of cached frames (noise, frame dropout, one time span)."""

from __future__ import annotations

import pytest
import torch

from fusion.components import lengths_to_mask
from fusion.errors import ConfigError
from fusion_whisper.frame_augment import FrameAugment

WHERE = "acoustic encoder 'whisper-encoder'"


def batch(lengths=(12, 5, 1, 30), steps=30, layers=3, dim=8):
    torch.manual_seed(0)
    lengths = torch.tensor(lengths)
    mask = lengths_to_mask(lengths, steps)                                   # [B, T]
    x = torch.randn(len(lengths), steps, layers, dim) * mask[..., None, None]  # [B, T, L, D]
    return x, mask


def test_eval_mode_and_zero_options_change_nothing():
    x, mask = batch()
    aug = FrameAugment(0.5, 0.5, 0.5, WHERE).eval()
    out, out_mask = aug(x, mask)
    assert out is x and out_mask is mask
    idle = FrameAugment(0.0, 0.0, 0.0, WHERE).train()
    out, out_mask = idle(x, mask)
    assert out is x and out_mask is mask


@pytest.mark.parametrize("options", [(0.0, 0.9, 0.0), (0.0, 0.0, 0.9), (0.0, 0.5, 0.5)])
def test_dropping_only_removes_valid_frames_and_keeps_one_per_clip(options):
    x, mask = batch()
    aug = FrameAugment(*options, WHERE).train()
    for seed in range(20):
        torch.manual_seed(seed)
        out, keep = aug(x, mask)
        assert not (keep & ~mask).any()                  # padding never becomes valid
        assert keep.any(dim=1).all()                     # every clip keeps >= 1 frame
        assert (out[~keep] == 0).all()                   # dropped frames are zeroed
        assert torch.equal(out[keep], x[keep])           # kept frames are untouched without noise
    assert (keep.sum() < mask.sum())                     # something was dropped


def test_time_mask_is_one_contiguous_span_shorter_than_the_ratio():
    x, mask = batch(lengths=(30, 30, 30, 30))
    aug = FrameAugment(0.0, 0.0, 0.4, WHERE).train()
    widths = []
    for seed in range(30):
        torch.manual_seed(seed)
        _, keep = aug(x, mask)
        for row in (~keep).int():
            dropped = row.nonzero().flatten()
            if len(dropped):
                assert dropped[-1] - dropped[0] + 1 == len(dropped)  # contiguous
            widths.append(len(dropped))
    assert max(widths) < 0.4 * 30 and max(widths) > 0


def test_feature_noise_has_the_configured_scale_and_keeps_the_mask():
    x, mask = batch(lengths=(30, 30, 30, 30))
    aug = FrameAugment(0.2, 0.0, 0.0, WHERE).train()
    out, keep = aug(x, mask)
    assert torch.equal(keep, mask)
    assert abs(float((out - x).std()) - 0.2) < 0.02


@pytest.mark.parametrize(("options", "field"), [((-0.1, 0, 0), "feature_noise"), ((0, 1.0, 0), "frame_dropout"),
                                                ((0, 0, -0.2), "time_mask_ratio")])
def test_bad_options_are_config_errors_naming_the_encoder(options, field):
    with pytest.raises(ConfigError, match=f"whisper-encoder.*{field}"):
        FrameAugment(*options, WHERE)
