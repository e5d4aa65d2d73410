"""Per-speaker standardisation: the moments, the shrinkage towards the training moments, the config."""

import pytest
import torch

from fusion.errors import ConfigError
from fusion.speaker_norm import (Moments, SpeakerNormConfig, clip_moments, global_moments, group_moments,
                                 normalizable, normalize_by_group)


def _clips(n, offset, scale, seed):
    g = torch.Generator().manual_seed(seed)
    return [offset + scale * torch.randn(20 + 3 * i, 2, 4, generator=g) for i in range(n)]  # [T, L, D]


def test_without_shrinkage_every_group_is_centred_and_scaled():
    a, b = _clips(6, 5.0, 3.0, 0), _clips(4, -2.0, 0.5, 1)
    feats = {f"a{i}": x for i, x in enumerate(a)} | {f"b{i}": x for i, x in enumerate(b)}
    groups = {k: k[0] for k in feats}
    out, stats = normalize_by_group(feats, groups, global_moments(feats.values()), shrink=0.0)
    for g in "ab":
        members = [out[k] for k in out if groups[k] == g]
        mean = torch.stack([x.mean(0) for x in members]).mean(0)        # clip-weighted, as the moments
        square = torch.stack([x.square().mean(0) for x in members]).mean(0)
        assert torch.allclose(mean, torch.zeros_like(mean), atol=1e-4)
        assert torch.allclose(square - mean.square(), torch.ones_like(mean), atol=1e-3)
    assert set(stats) == {"a", "b"} and out["a0"].shape == a[0].shape and out["a0"].dtype == a[0].dtype


def test_one_clip_is_shrunk_towards_the_training_moments_by_hand():
    prior = Moments(torch.full((4,), 1.0), torch.full((4,), 4.0))
    x = torch.arange(12.0).reshape(3, 4)  # [T, D]
    m, s = clip_moments(x)
    k = 2.0
    mean = (m + k * 1.0) / (1 + k)
    var = (s + k * (4.0 + 1.0)) / (1 + k) - mean.square()
    got = group_moments({"u": x}, {"u": "spk"}, prior, k)["spk"]
    assert torch.allclose(got.mean, mean) and torch.allclose(got.var, var)
    # many pseudo-clips: the training moments win
    far = group_moments({"u": x}, {"u": "spk"}, prior, 1e6)["spk"]
    assert torch.allclose(far.mean, prior.mean, atol=1e-4) and torch.allclose(far.var, prior.var, atol=1e-3)


def test_a_constant_feature_does_not_divide_by_zero():
    feats = {"u": torch.ones(5, 3)}
    out, _ = normalize_by_group(feats, {"u": "s"}, global_moments(feats.values()), shrink=0.0)
    assert torch.isfinite(out["u"]).all()


def test_only_real_valued_frames_are_normalizable():
    assert normalizable(torch.zeros(3, 4)) and not normalizable(torch.tensor([1, 2, 3]))
    assert not normalizable(torch.zeros(3, 4, dtype=torch.long))


def test_config_errors_name_the_section():
    assert SpeakerNormConfig() == SpeakerNormConfig.from_dict({"enabled": True, "shrink": 2.0})
    with pytest.raises(ConfigError, match="speaker_norm: shrink must be a number >= 0"):
        SpeakerNormConfig(shrink=-1)
    with pytest.raises(ConfigError, match="speaker_norm: enabled must be true or false"):
        SpeakerNormConfig(enabled="yes")
    with pytest.raises(ConfigError, match=r"speaker_norm: unknown option\(s\) \['k'\]"):
        SpeakerNormConfig.from_dict({"k": 1})
