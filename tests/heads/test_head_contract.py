"""The fusion-head contract, checked for every fusion head (unimodal has its own tests)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

import fusion
from fusion.components import HeadOutput, LossConfig
from fusion.errors import ConfigError
from fusion.heads import (ConcatHead, CrossAttentionHead, FusionHead, GatedHead, LateHead, TensorHead,
                          UnimodalHead)

FUSION_HEADS = {
    "concat": ConcatHead, "gated": GatedHead, "late": LateHead, "cross-attention": CrossAttentionHead,
    "tensor": TensorHead,
}
# extra configurations that take other code paths
VARIANTS = [(name, {}) for name in FUSION_HEADS] + [
    ("tensor", {"rank": 4}), ("late", {"weighting": "fixed", "pool": "mean"}),
    ("cross-attention", {"n_layers": 2, "pool": "mean", "audio_stride": 3}),
    ("concat", {"modality_dropout": 0.4}),
]
IDS = [f"{name}{cfg or ''}" for name, cfg in VARIANTS]


def build(name: str, config: dict, synth, **dims):
    dims = {"audio_dim": synth.audio_dim, "text_dim": synth.text_dim, **dims}
    return fusion.get_fusion_head(name).build(config, num_classes=synth.num_classes, **dims)


def test_registry_names_map_to_the_fixed_classes():
    for name, cls in {**FUSION_HEADS, "unimodal": UnimodalHead}.items():
        component = fusion.get_fusion_head(name)
        assert component.load() is cls
        assert cls.name == name and issubclass(cls, FusionHead)
        config = cls.Config()
        assert dataclasses.is_dataclass(config)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(config, dataclasses.fields(config)[0].name, None)


def test_cross_attention_builds_through_registry_with_kwargs():
    from fusion.heads import CrossAttentionHead as Imported

    head = fusion.get_fusion_head("cross-attention").build({"n_layers": 2}, audio_dim=32, text_dim=16,
                                                           num_classes=4)
    assert isinstance(head, Imported) and head.config.n_layers == 2 and len(head.correction.audio_blocks) == 2
    assert fusion.get_fusion_head("mult").load() is Imported


@pytest.mark.parametrize("name", [*FUSION_HEADS, "unimodal"])
def test_unknown_option_is_a_config_error_listing_valid_ones(name):
    with pytest.raises(ConfigError, match="bogus") as info:
        fusion.get_fusion_head(name).build({"bogus": 1}, audio_dim=8, text_dim=None, num_classes=3)
    assert "hidden" in str(info.value)  # valid options are listed


@pytest.mark.parametrize("name", FUSION_HEADS)
def test_bad_values_and_missing_dims_are_config_errors(name, synth):
    with pytest.raises(ConfigError, match=name):
        build(name, {"dropout": 1.5}, synth)
    with pytest.raises(ConfigError, match="two modalities"):
        build(name, {}, synth, text_dim=None)
    with pytest.raises(ConfigError, match="classes"):
        fusion.get_fusion_head(name).build({}, audio_dim=4, text_dim=4, num_classes=1)


@pytest.mark.parametrize(("name", "config"), VARIANTS, ids=IDS)
def test_shapes_and_loss(name, config, synth):
    head = build(name, config, synth)
    audio, text = synth.pair(batch=3)
    out = head(audio, text)
    logits, loss = out.logits, out.loss
    assert isinstance(out, HeadOutput) and logits.shape == (3, synth.num_classes) and loss is None
    assert set(out.branches) == ({"audio", "text"} if type(head).has_branches else set())
    assert all(b.shape == (3, synth.num_classes) for b in out.branches.values())
    out = head(audio, text, torch.tensor([0, 3, 1]))
    logits, loss = out.logits, out.loss
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in head.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize(("name", "config"), VARIANTS, ids=IDS)
def test_batch_of_one(name, config, synth):
    head = build(name, config, synth)
    audio, text = synth.pair(batch=1, audio_steps=1, text_steps=1)
    for mode in (head.train, head.eval):
        mode()
        out = head(audio, text, torch.tensor([2]))
        logits, loss = out.logits, out.loss
        assert logits.shape == (1, synth.num_classes) and torch.isfinite(loss)


@pytest.mark.parametrize(("name", "config"), VARIANTS, ids=IDS)
def test_padding_beyond_the_mask_is_ignored(name, config, synth):
    head = build(name, config, synth).eval()
    audio, text = synth.pair(batch=4)
    with torch.no_grad():
        reference = head(audio, text).logits
        padded = head(synth.with_garbage(audio, 5), synth.with_garbage(text, 3)).logits
        changed = head(audio, synth.random(4, 7, synth.text_dim, seed=42)).logits
    torch.testing.assert_close(padded, reference, atol=1e-5, rtol=0)
    assert not torch.allclose(changed, reference, atol=1e-4)  # the text does matter


@pytest.mark.parametrize(("name", "config"), VARIANTS, ids=IDS)
def test_missing_modality_gives_finite_logits(name, config, synth):
    head = build(name, config, synth)
    audio, text = synth.pair(batch=3)
    for mode in (head.train, head.eval):
        mode()
        for a, t in ((audio, None), (None, text)):
            out = head(a, t, torch.tensor([0, 1, 2]))
            logits, loss = out.logits, out.loss
            assert logits.shape == (3, synth.num_classes)
            assert torch.isfinite(logits).all() and torch.isfinite(loss)
    with pytest.raises(ConfigError, match="both are None"):
        head(None, None)


@pytest.mark.parametrize(("name", "config"), VARIANTS, ids=IDS)
def test_learns_a_task_that_needs_both_modalities(name, config, synth, train):
    torch.manual_seed(0)
    small = {"d_model": 32, "hidden": 64} if name == "cross-attention" else {}  # keep the test fast
    head = build(name, {"dropout": 0.0, **small, **config}, synth)
    audio, text, audio_bit, text_bit = synth.task(batch=64)
    targets = 2 * audio_bit + text_bit
    losses = train(head, audio, text, targets, steps=40)
    assert losses[-1] < 0.5 * losses[0], losses
    head.eval()
    with torch.no_grad():
        accuracy = (head(audio, text).logits.argmax(-1) == targets).float().mean()
    assert accuracy > 0.9


@pytest.mark.parametrize("name", FUSION_HEADS)
def test_loss_settings_are_given_when_the_head_is_built(name, synth):
    audio, text = synth.pair(batch=3)
    targets = torch.tensor([0, 1, 1])
    weights = LossConfig(class_weights=(5.0, 0.1, 1.0, 1.0))
    smoothing = LossConfig(label_smoothing=0.2)
    torch.manual_seed(0)
    plain = build(name, {}, synth).eval()
    losses = {}
    for key, loss in (("weighted", weights), ("smoothed", smoothing)):
        torch.manual_seed(0)  # the same initial weights as `plain`
        losses[key] = build(name, {}, synth, loss=loss).eval()(audio, text, targets).loss
    reference = plain(audio, text, targets).loss
    assert not torch.isclose(losses["weighted"], reference) and not torch.isclose(losses["smoothed"], reference)
    plain.set_loss(weights)  # the one way to replace them later (the trainer's)
    assert plain.loss_config == weights
    torch.testing.assert_close(plain.class_weights, torch.tensor([5.0, 0.1, 1.0, 1.0]))
    torch.testing.assert_close(plain(audio, text, targets).loss, losses["weighted"])
    plain.set_loss(smoothing)
    torch.testing.assert_close(plain(audio, text, targets).loss, losses["smoothed"])
    assert plain.label_smoothing == 0.2 and plain.class_weights.tolist() == [1.0] * 4
    with pytest.raises(AttributeError, match="LossConfig"):
        plain.label_smoothing = 0.1  # no setting from outside: it would be silently ignored otherwise


@pytest.mark.parametrize("name", ["concat", "gated", "tensor"])
def test_the_loss_is_the_configured_cross_entropy(name, synth):
    loss = LossConfig(label_smoothing=0.1, class_weights=torch.tensor([2.0, 0.5, 1.0, 0.0]))
    head = build(name, {}, synth, loss=loss).eval()
    audio, text = synth.pair(batch=3)
    targets = torch.tensor([0, 1, 3])
    out = head(audio, text, targets)
    expected = F.cross_entropy(out.logits, targets, weight=torch.tensor([2.0, 0.5, 1.0, 0.0]), label_smoothing=0.1)
    torch.testing.assert_close(out.loss, expected)


def test_bad_loss_settings_are_config_errors(synth):
    with pytest.raises(ConfigError, match="label_smoothing"):
        LossConfig(label_smoothing=1.5)
    with pytest.raises(ConfigError, match="class_weights"):
        LossConfig(class_weights=(1.0, -1.0))
    with pytest.raises(ConfigError, match="3 class weights for 4 classes"):
        build("concat", {}, synth, loss=LossConfig(class_weights=(1.0, 1.0, 1.0)))
    assert LossConfig(class_weights=torch.tensor([1.0, 2.0])).class_weights == (1.0, 2.0)  # stored as a tuple


@pytest.mark.parametrize(("name", "config"), VARIANTS, ids=IDS)
def test_state_dict_round_trip(name, config, synth):
    head, copy = build(name, config, synth).eval(), build(name, config, synth).eval()
    copy.load_state_dict(head.state_dict())
    audio, text = synth.pair()
    torch.testing.assert_close(copy(audio, text).logits, head(audio, text).logits)
