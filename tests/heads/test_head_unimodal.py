"""UnimodalHead: one modality, pooling choices, errors for the wrong inputs."""

from __future__ import annotations

import pytest
import torch

import fusion
from fusion.components import Encoded
from fusion.errors import ConfigError
from fusion.heads import UnimodalHead


def make(synth, modality: str = "audio", **config) -> UnimodalHead:
    dims = {"audio_dim": synth.audio_dim, "text_dim": None} if modality == "audio" else \
        {"audio_dim": None, "text_dim": synth.text_dim}
    return fusion.get_fusion_head("unimodal").build(config, num_classes=synth.num_classes, **dims).eval()


def test_class_level_flags():
    assert UnimodalHead.needs_audio is False and UnimodalHead.needs_text is False


@pytest.mark.parametrize("modality", ["audio", "text"])
@pytest.mark.parametrize("pool", ["attention", "mean", "encoder", "stats"])
def test_shapes_masks_and_batch_of_one(synth, modality, pool):
    head = make(synth, modality, pool=pool)
    audio, text = synth.pair(batch=3)
    x = audio if modality == "audio" else text
    args = (x, None) if modality == "audio" else (None, x)
    out = head(*args)
    logits, loss = out.logits, out.loss
    assert logits.shape == (3, synth.num_classes) and loss is None and out.branches == {}
    garbage = synth.with_garbage(x, 4)
    padded = head(*((garbage, None) if modality == "audio" else (None, garbage))).logits
    torch.testing.assert_close(padded, logits, atol=1e-5, rtol=0)
    one = Encoded(x.seq[:1], x.mask[:1], x.pooled[:1])
    out = head(*((one, None) if modality == "audio" else (None, one)), torch.tensor([1]))
    logits, loss = out.logits, out.loss
    assert logits.shape == (1, synth.num_classes) and torch.isfinite(loss)


def test_encoder_pooling_uses_pooled_and_the_others_use_seq(synth):
    audio, _ = synth.pair()
    other_pooled = Encoded(audio.seq, audio.mask, torch.randn_like(audio.pooled))
    for pool, pooled_matters in (("encoder", True), ("attention", False), ("mean", False), ("stats", False)):
        head = make(synth, pool=pool)
        same = torch.allclose(head(audio, None).logits, head(other_pooled, None).logits)
        assert same is not pooled_matters, pool


def test_wrong_inputs_are_errors(synth):
    audio, text = synth.pair()
    head = make(synth, "audio")
    with pytest.raises(ConfigError, match="no audio"):
        head(None, text)
    with pytest.raises(ConfigError, match="also got text"):
        head(audio, text)


@pytest.mark.parametrize(("dims", "message"), [((8, 8), "exactly one"), ((None, None), "exactly one")])
def test_needs_exactly_one_dim(dims, message):
    with pytest.raises(ConfigError, match=message):
        UnimodalHead(UnimodalHead.Config(), dims[0], dims[1], 3)


def test_unknown_pool_lists_choices(synth):
    with pytest.raises(ConfigError, match="valid choices: attention, encoder, mean"):
        make(synth, pool="max")


def test_stats_pooling_is_the_masked_mean_and_std():
    from fusion.heads.unimodal import StatisticsPooling

    seq = torch.tensor([[[1.0, 2.0], [3.0, 6.0], [50.0, 50.0]], [[4.0, -1.0], [0.0, 0.0], [0.0, 0.0]]])  # [2, 3, 2]
    mask = torch.tensor([[True, True, False], [True, False, False]])
    out = StatisticsPooling(eps=0.0)(seq, mask)
    expected = torch.tensor([[2.0, 4.0, 1.0, 2.0], [4.0, -1.0, 0.0, 0.0]])  # [mean | population std]
    torch.testing.assert_close(out, expected)
    head = UnimodalHead(UnimodalHead.Config(pool="stats"), 2, None, 3)
    assert head.branch.classifier[0].normalized_shape == (4,)  # the MLP sees [mean, std]


@pytest.mark.parametrize("modality", ["audio", "text"])
def test_learns_from_its_modality(synth, train, modality):
    torch.manual_seed(0)
    head = make(synth, modality, dropout=0.0)
    audio, text, audio_bit, text_bit = synth.task(batch=64)
    args = (audio, None) if modality == "audio" else (None, text)
    losses = train(head, *args, audio_bit if modality == "audio" else text_bit, steps=30)
    assert losses[-1] < 0.3 * losses[0], losses


def test_batch_norm_standardises_each_dimension_and_accepts_a_batch_of_one(synth):
    head = make(synth, pool="mean", norm="batch").train()
    norm = head.branch.classifier[0]
    assert isinstance(norm, torch.nn.BatchNorm1d)
    audio, _ = synth.pair(batch=8)
    scaled = Encoded(audio.seq * 1000.0 + 5.0, audio.mask, audio.pooled)
    inner = {}
    norm.register_forward_hook(lambda mod, inp, out: inner.__setitem__("out", out))
    head(scaled, None)
    torch.testing.assert_close(inner["out"].mean(0), torch.zeros(synth.audio_dim), atol=1e-4, rtol=0)
    running = norm.running_mean.clone()
    one = Encoded(audio.seq[:1], audio.mask[:1], audio.pooled[:1])
    out = head(one, None, torch.tensor([0]))     # training batch of one: running stats unchanged
    logits, loss = out.logits, out.loss
    assert logits.shape == (1, synth.num_classes) and torch.isfinite(loss)
    assert torch.equal(norm.running_mean, running)
    with pytest.raises(ConfigError, match="unknown norm 'group'.*layer, batch"):
        make(synth, norm="group")
