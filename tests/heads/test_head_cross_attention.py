"""CrossAttentionHead: product of experts, correction, held-out fit, attention weights, masking, config."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from fusion.components import HeldOutFit
from fusion.errors import ConfigError
from fusion.heads import CrossAttentionHead


def make(synth, **config) -> CrossAttentionHead:
    return CrossAttentionHead(CrossAttentionHead.Config(**config), synth.audio_dim, synth.text_dim,
                              synth.num_classes)


def test_attention_weights_have_the_documented_shapes_and_rows_sum_to_one(synth):
    head = make(synth, n_layers=2).eval()
    audio, text = synth.pair(batch=3, audio_steps=12, text_steps=7)
    with torch.no_grad():
        attention = head(audio, text).attention
    a2t, t2a = attention["audio_to_text"], attention["text_to_audio"]
    assert a2t.shape == (3, 12, 7) and t2a.shape == (3, 7, 12)
    torch.testing.assert_close(a2t.sum(-1), torch.ones(3, 12))
    torch.testing.assert_close(t2a.sum(-1), torch.ones(3, 7))
    # no attention mass on padded keys
    assert a2t.masked_select(~text.mask[:, None, :].expand_as(a2t)).abs().max() == 0
    assert t2a.masked_select(~audio.mask[:, None, :].expand_as(t2a)).abs().max() == 0
    assert (a2t[0] > 0).all()  # row 0 is unpadded: every text token gets some weight


def test_attention_is_not_materialised_in_training(synth):
    head = make(synth).train()
    assert head(*synth.pair()).attention == {}


def test_audio_stride_pools_frames_before_attention(synth):
    head = make(synth, audio_stride=4).eval()
    audio, text = synth.pair(batch=2, audio_steps=10, text_steps=5)
    with torch.no_grad():
        attention = head(audio, text).attention
    assert attention["audio_to_text"].shape == (2, math.ceil(10 / 4), 5)
    assert attention["text_to_audio"].shape == (2, 5, 3)


def test_auxiliary_branches_are_in_the_output_and_add_their_loss(synth):
    head = make(synth, aux_weight=0.5, dropout=0.0).eval()
    audio, text = synth.pair(batch=3)
    targets = torch.tensor([1, 0, 3])
    out = head(audio, text, targets)
    assert set(out.branches) == {"audio", "text"} and CrossAttentionHead.has_branches
    expected = F.cross_entropy(out.logits, targets) + 0.5 * sum(
        F.cross_entropy(b, targets) for b in out.branches.values())
    torch.testing.assert_close(out.loss, expected)
    audio_only = head(audio, None)
    assert set(audio_only.branches) == {"audio"} and audio_only.attention == {}


def test_aux_weight_zero_leaves_only_the_fused_loss(synth):
    head = make(synth, aux_weight=0.0, isolate_branches=False).eval()
    audio, text = synth.pair()
    targets = torch.tensor([0, 1, 2])
    out = head(audio, text, targets)
    assert set(out.branches) == {"audio", "text"}  # the experts are the fusion itself
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits, targets))


def product_of(head, branches):
    scales = head.log_scales.exp()
    return (scales[0] * branches["audio"].log_softmax(-1)
            + scales[1] * branches["text"].log_softmax(-1))


def test_untrained_head_is_the_plain_product_of_the_experts(synth):
    head = make(synth).eval()
    audio, text = synth.pair(batch=4)
    with torch.no_grad():
        out = head(audio, text)
    assert head.scales == {"audio": 1.0, "text": 1.0, "correction": 1.0}
    torch.testing.assert_close(out.logits, out.branches["audio"].log_softmax(-1)
                               + out.branches["text"].log_softmax(-1))


def test_correction_is_added_to_the_scaled_product(synth, train):
    head = make(synth, dropout=0.0, d_model=32, hidden=32)
    audio, text, audio_bit, text_bit = synth.task(batch=32)
    train(head, audio, text, 2 * audio_bit + text_bit, steps=5)
    head.eval()
    with torch.no_grad():
        out = head(audio, text)
        product = product_of(head, out.branches)
        correction, _ = head.correction(audio, text, need_weights=False)
    assert correction.abs().max() > 0  # training moved it away from zero
    torch.testing.assert_close(out.logits, product + head.log_scales[2].exp() * correction)
    plain = make(synth, correction=False).eval()
    with torch.no_grad():
        out = plain(audio, text)
    assert plain.correction is None and out.attention == {}
    torch.testing.assert_close(out.logits, product_of(plain, out.branches))


@pytest.mark.parametrize("isolate", [True, False])
def test_isolated_experts_get_no_gradient_from_the_fused_loss(synth, isolate):
    head = make(synth, isolate_branches=isolate, learn_scales=True)
    audio, text = synth.pair(batch=4)
    logits = head(audio, text).logits
    F.cross_entropy(logits, torch.tensor([0, 1, 2, 3])).backward()  # the fused loss alone
    expert_grads = [p.grad for p in head.experts.parameters()]
    reached = any(g is not None and g.abs().sum() > 0 for g in expert_grads)
    assert reached is not isolate
    assert head.log_scales.grad is not None and head.log_scales.grad.abs().sum() > 0
    assert not make(synth).log_scales.requires_grad  # by default the scales are only fitted on held-out data


@pytest.mark.parametrize("isolate", [True, False])
def test_isolated_encoders_get_no_gradient_from_the_fused_loss(synth, isolate):
    head = make(synth, isolate_encoders=isolate)
    audio, text = synth.pair(batch=4)
    audio.seq.requires_grad_(True)
    with torch.no_grad():  # a non-zero correction, so that it has a gradient path at all
        head.correction.out[-1].weight.normal_()
    logits = head(audio, text).logits
    F.cross_entropy(logits, torch.tensor([0, 1, 2, 3])).backward()  # the fused loss alone
    reached = audio.seq.grad is not None and audio.seq.grad.abs().sum() > 0
    assert reached is not isolate


def test_fit_held_out_trusts_the_informative_expert(synth):
    head = make(synth, correction=False).eval()
    gen = torch.Generator().manual_seed(0)
    targets = torch.randint(0, synth.num_classes, (200,), generator=gen)
    informative = 3.0 * F.one_hot(targets, synth.num_classes).float() + torch.randn(200, 4, generator=gen)
    noise = 3.0 * torch.randn(200, synth.num_classes, generator=gen)  # confident and wrong
    fused = informative.log_softmax(-1) + noise.log_softmax(-1)
    fitted = head.fit_held_out(fused, {"audio": informative, "text": noise}, targets)
    assert isinstance(fitted, HeldOutFit) and CrossAttentionHead.fits_held_out
    assert fitted.values["scales"] == pytest.approx(head.scales, abs=1e-3)
    assert head.scales["audio"] > 1.0 > head.scales["text"] and head.scales["correction"] == 1.0
    assert make(synth, fit_scales=False).fit_held_out(fused, {"audio": informative, "text": noise},
                                                      targets) is None


def test_fit_held_out_turns_down_a_correction_that_does_not_transfer(synth):
    head = make(synth).eval()
    gen = torch.Generator().manual_seed(1)
    targets = torch.randint(0, synth.num_classes, (200,), generator=gen)
    audio = 2.0 * F.one_hot(targets, synth.num_classes).float() + torch.randn(200, 4, generator=gen)
    text = torch.randn(200, synth.num_classes, generator=gen)
    harmful = 5.0 * torch.randn(200, synth.num_classes, generator=gen)  # a correction that is noise
    fused = audio.log_softmax(-1) + text.log_softmax(-1) + harmful
    head.fit_held_out(fused, {"audio": audio, "text": text}, targets)
    assert head.scales["correction"] < 0.2 < head.scales["audio"]


def test_fit_held_out_returns_the_logits_a_forward_pass_gives_with_the_new_scales(synth):
    head = make(synth).eval()
    with torch.no_grad():  # a non-zero correction, so that its term matters
        head.correction.out[-1].weight.normal_()
    audio, text = synth.pair(batch=6)
    targets = torch.tensor([0, 1, 2, 3, 0, 1])
    with torch.no_grad():
        before = head(audio, text)
        fitted = head.fit_held_out(before.logits, before.branches, targets)
        after = head(audio, text).logits                                                     # [6, C]
    assert not torch.allclose(before.logits, after, atol=1e-3)  # the scales moved
    torch.testing.assert_close(fitted.logits, after, atol=1e-5, rtol=1e-5)


def test_missing_modality_is_the_present_expert_alone(synth):
    head = make(synth).eval()
    audio, text = synth.pair(batch=3)
    with torch.no_grad():
        head.log_scales.copy_(torch.tensor([0.5, -0.5, 0.0]))
        only_audio = head(audio, None)
        torch.testing.assert_close(only_audio.logits, head.log_scales[0].exp()
                                   * only_audio.branches["audio"].log_softmax(-1))
        only_text = head(None, text)
        torch.testing.assert_close(only_text.logits, head.log_scales[1].exp()
                                   * only_text.branches["text"].log_softmax(-1))


def test_modality_dropout_removes_one_expert_per_dropped_sample(synth):
    torch.manual_seed(0)
    head = make(synth, modality_dropout=0.9999, correction=False, dropout=0.0, branch_dropout=0.0).train()
    audio, text = synth.pair(batch=64)
    out = head(audio, text)
    logits = out.logits
    single = [out.branches[m].log_softmax(-1) for m in ("audio", "text")]  # [B, C] each
    one_expert = torch.isclose(logits, single[0]).all(-1) | torch.isclose(logits, single[1]).all(-1)  # [B]
    assert one_expert.all() and not torch.isclose(logits, single[0]).all(-1).all()


def test_missing_modality_ignores_everything_about_the_other(synth):
    head = make(synth).eval()
    audio, text = synth.pair(batch=3)
    other_audio, _ = synth.pair(batch=3, seed=7)
    with torch.no_grad():
        only_text = head(None, text).logits
        full = head(audio, text).logits
        full_other = head(other_audio, text).logits
    assert torch.isfinite(only_text).all()
    assert not torch.allclose(full, full_other)  # audio matters when present


def test_long_audio_runs_with_1500_frames(synth):
    head = make(synth).eval()
    audio = synth.random(2, 1500, synth.audio_dim, seed=3)
    text = synth.random(2, 40, synth.text_dim, seed=4)
    with torch.no_grad():
        out = head(audio, text)
    assert out.logits.shape == (2, synth.num_classes) and torch.isfinite(out.logits).all()
    assert out.attention["text_to_audio"].shape == (2, 40, 1500)


@pytest.mark.parametrize(("config", "message"), [
    ({"d_model": 30, "n_heads": 4}, "must divide"),
    ({"pool": "encoder"}, "valid choices: attention, mean"),
    ({"n_layers": 0}, "n_layers"),
    ({"aux_weight": -1.0}, "aux_weight"),
    ({"audio_stride": 0}, "audio_stride"),
    ({"branch_pool": "max"}, "valid choices: attention, encoder, mean"),
    ({"branch_dropout": 1.0}, "branch_dropout"),
    ({"aux_weight": 0.0}, "isolate_branches"),
])
def test_invalid_configs(synth, config, message):
    with pytest.raises(ConfigError, match=message):
        make(synth, **config)


def fused_items(n: int, seed: int) -> list[dict]:
    """Audio features [T, 8] that carry the label; text ids that are noise."""
    gen = torch.Generator().manual_seed(seed)
    items = []
    for i in range(n):
        label = i % 2
        audio = 0.3 * torch.randn(4 + i % 5, 8, generator=gen) + (1.0 if label else -1.0)
        text = torch.randint(1, 64, (3 + i % 4,), generator=gen)
        items.append({"audio": audio, "text": text, "label": label})
    return items


def test_trainer_fits_the_scales_on_validation_after_every_epoch(fake_plugins, monkeypatch):
    from fusion.model import EmotionModel, ModelConfig
    from fusion.training.trainer import TrainConfig, seed_everything, train

    seed_everything(0)
    model = EmotionModel(ModelConfig(mode="fused", labels=("neg", "pos"), acoustic_encoder="fake-frames",
                                     text_encoder="fake-bag", head="cross-attention",
                                     head_config={"d_model": 16, "hidden": 16, "branch_hidden": 16}))
    calls = []
    fit = model.head.fit_held_out

    def counted(logits, branch_logits, targets):
        calls.append(len(targets))
        return fit(logits, branch_logits, targets)

    monkeypatch.setattr(model.head, "fit_held_out", counted)
    result = train(model, fused_items(48, 0), fused_items(24, 1), TrainConfig(epochs=4, batch_size=16, lr=3e-3))
    assert calls == [24] * len(result.curve)
    assert model.head.scales["audio"] > model.head.scales["text"]  # the text is noise on held-out data


def test_validation_scored_from_the_refitted_logits_matches_a_second_forward_pass(fake_plugins, monkeypatch):
    from fusion.model import EmotionModel, ModelConfig
    from fusion.training import trainer

    evaluate = trainer._evaluate

    def run(drop_logits: bool):
        trainer.seed_everything(0)
        model = EmotionModel(ModelConfig(mode="fused", labels=("neg", "pos"), acoustic_encoder="fake-frames",
                                         text_encoder="fake-bag", head="cross-attention",
                                         head_config={"d_model": 16, "hidden": 16, "branch_hidden": 16}))
        if drop_logits:  # as a head that returns no logits: the trainer runs the second pass
            fit = model.head.fit_held_out
            monkeypatch.setattr(model.head, "fit_held_out",
                                lambda *a: dataclasses.replace(fit(*a), logits=None))
        passes = []
        monkeypatch.setattr(trainer, "_evaluate", lambda *a: passes.append(a[-1] is None) or evaluate(*a))
        result = trainer.train(model, fused_items(48, 0), fused_items(24, 1),
                               trainer.TrainConfig(epochs=4, batch_size=16, lr=3e-3))
        return result.curve, passes

    reused, forward = run(False), run(True)
    assert reused[1] == [False] * 4 and forward[1] == [True] * 4
    for a, b in zip(reused[0], forward[0]):
        assert a["val_ua"] == b["val_ua"] and a["val_loss"] == pytest.approx(b["val_loss"], abs=1e-6)
