"""CrossAttentionHead: attention weights, masking, auxiliary branches, long audio, config."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from fusion.errors import ConfigError
from fusion.heads import CrossAttentionHead


def make(synth, **config) -> CrossAttentionHead:
    return CrossAttentionHead(CrossAttentionHead.Config(**config), synth.audio_dim, synth.text_dim,
                              synth.num_classes)


def test_attention_weights_have_the_documented_shapes_and_rows_sum_to_one(synth):
    head = make(synth, n_layers=2).eval()
    audio, text = synth.pair(batch=3, audio_steps=12, text_steps=7)
    with torch.no_grad():
        head(audio, text)
    a2t, t2a = head.attention["audio_to_text"], head.attention["text_to_audio"]
    assert a2t.shape == (3, 12, 7) and t2a.shape == (3, 7, 12)
    torch.testing.assert_close(a2t.sum(-1), torch.ones(3, 12))
    torch.testing.assert_close(t2a.sum(-1), torch.ones(3, 7))
    # no attention mass on padded keys
    assert a2t.masked_select(~text.mask[:, None, :].expand_as(a2t)).abs().max() == 0
    assert t2a.masked_select(~audio.mask[:, None, :].expand_as(t2a)).abs().max() == 0
    assert (a2t[0] > 0).all()  # row 0 is unpadded: every text token gets some weight


def test_attention_is_not_materialised_in_training(synth):
    head = make(synth).train()
    head(*synth.pair())
    assert head.attention == {}


def test_audio_stride_pools_frames_before_attention(synth):
    head = make(synth, audio_stride=4).eval()
    audio, text = synth.pair(batch=2, audio_steps=10, text_steps=5)
    with torch.no_grad():
        head(audio, text)
    assert head.attention["audio_to_text"].shape == (2, math.ceil(10 / 4), 5)
    assert head.attention["text_to_audio"].shape == (2, 5, 3)


def test_auxiliary_branches_fill_branch_logits_and_add_their_loss(synth):
    head = make(synth, aux_weight=0.5, dropout=0.0).eval()
    audio, text = synth.pair(batch=3)
    targets = torch.tensor([1, 0, 3])
    logits, loss = head(audio, text, targets)
    assert set(head.branch_logits) == {"audio", "text"}
    expected = F.cross_entropy(logits, targets) + 0.5 * sum(
        F.cross_entropy(b, targets) for b in head.branch_logits.values())
    torch.testing.assert_close(loss, expected)
    head(audio, None)
    assert set(head.branch_logits) == {"audio"} and head.attention == {}


def test_no_auxiliary_branches_when_aux_weight_is_zero(synth):
    head = make(synth, aux_weight=0.0).eval()
    audio, text = synth.pair()
    targets = torch.tensor([0, 1, 2])
    logits, loss = head(audio, text, targets)
    assert head.branch_logits == {} and len(head.aux) == 0
    torch.testing.assert_close(loss, F.cross_entropy(logits, targets))


def test_missing_modality_ignores_everything_about_the_other(synth):
    head = make(synth).eval()
    audio, text = synth.pair(batch=3)
    other_audio, _ = synth.pair(batch=3, seed=7)
    with torch.no_grad():
        only_text, _ = head(None, text)
        full, _ = head(audio, text)
        full_other, _ = head(other_audio, text)
    assert torch.isfinite(only_text).all()
    assert not torch.allclose(full, full_other)  # audio matters when present


def test_long_audio_runs_with_1500_frames(synth):
    head = make(synth).eval()
    audio = synth.random(2, 1500, synth.audio_dim, seed=3)
    text = synth.random(2, 40, synth.text_dim, seed=4)
    with torch.no_grad():
        logits, _ = head(audio, text)
    assert logits.shape == (2, synth.num_classes) and torch.isfinite(logits).all()
    assert head.attention["text_to_audio"].shape == (2, 40, 1500)


@pytest.mark.parametrize(("config", "message"), [
    ({"d_model": 30, "n_heads": 4}, "must divide"),
    ({"pool": "encoder"}, "valid choices: attention, mean"),
    ({"n_layers": 0}, "n_layers"),
    ({"aux_weight": -1.0}, "aux_weight"),
    ({"audio_stride": 0}, "audio_stride"),
])
def test_invalid_configs(synth, config, message):
    with pytest.raises(ConfigError, match=message):
        make(synth, **config)
