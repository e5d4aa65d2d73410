"""GatedHead's forced gate and TensorHead's outer product (TFN / LMF)."""

from __future__ import annotations

import pytest
import torch

from fusion.errors import ConfigError
from fusion.heads import GatedHead, TensorHead
from fusion.heads.tensor import with_one


def gated(synth, **config) -> GatedHead:
    return GatedHead(GatedHead.Config(**config), synth.audio_dim, synth.text_dim, synth.num_classes).eval()


def tensor(synth, **config) -> TensorHead:
    return TensorHead(TensorHead.Config(**config), synth.audio_dim, synth.text_dim, synth.num_classes).eval()


def test_gate_is_per_dimension_in_open_unit_interval(synth):
    head = gated(synth, dim=24)
    gate = head(*synth.pair(batch=3)).attention["gate"]
    assert gate.shape == (3, 24) and (gate > 0).all() and (gate < 1).all()


def test_gate_is_forced_to_the_present_modality(synth):
    head = gated(synth)
    audio, text = synth.pair(batch=3)
    assert (head(audio, None).attention["gate"] == 1).all()
    assert (head(None, text).attention["gate"] == 0).all()


def test_gate_is_forced_per_sample_under_modality_dropout(synth):
    head = gated(synth, modality_dropout=0.9).train()
    torch.manual_seed(1)
    gate = head(*synth.pair(batch=200, audio_steps=3, text_steps=3)).attention["gate"]
    forced_audio = (gate == 1).all(-1).float().mean()
    forced_text = (gate == 0).all(-1).float().mean()
    assert 0.3 < forced_audio < 0.6 and 0.3 < forced_text < 0.6


@pytest.mark.parametrize("rank", [0, 3])
def test_tensor_fused_width(synth, rank):
    head = tensor(synth, proj_dim=8, rank=rank, hidden=20)
    a1, t1 = with_one(torch.randn(5, 8)), with_one(torch.randn(5, 8))
    assert head.fuse(a1, t1).shape == ((5, 81) if rank == 0 else (5, 20))


def test_tfn_product_keeps_unimodal_terms_when_text_is_missing(synth):
    head = tensor(synth, proj_dim=8)
    audio, _ = synth.pair(batch=2)
    a1 = with_one(head.audio_proj(audio.pooled))        # [B, 9]
    t1 = with_one(torch.zeros(2, 8))                    # missing text: zeros, the 1 remains
    fused = head.fuse(a1, t1).view(2, 9, 9)
    assert (fused[..., :8] == 0).all()
    torch.testing.assert_close(fused[..., 8], a1)
    torch.testing.assert_close(head(audio, None).logits, head.classifier(fused.flatten(1)))


def test_low_rank_is_a_bilinear_map_of_the_extended_vectors(synth):
    head = tensor(synth, proj_dim=4, rank=2, hidden=6)
    a1, t1 = with_one(torch.randn(3, 4)), with_one(torch.randn(3, 4))
    expected = sum((a1 @ head.audio_factors[r]) * (t1 @ head.text_factors[r]) for r in range(2))
    torch.testing.assert_close(head.fuse(a1, t1), expected + head.fusion_bias)


def test_invalid_configs(synth):
    with pytest.raises(ConfigError, match="rank"):
        tensor(synth, rank=-1)
    with pytest.raises(ConfigError, match="gated"):
        gated(synth, dim=0)
    with pytest.raises(ConfigError, match="modality_dropout"):
        tensor(synth, modality_dropout=1.0)
