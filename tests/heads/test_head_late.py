"""LateHead: weighted log-softmax fusion, auxiliary losses, missing branch."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from fusion.errors import ConfigError
from fusion.heads import LateHead


def make(synth, **config) -> LateHead:
    return LateHead(LateHead.Config(**config), synth.audio_dim, synth.text_dim, synth.num_classes).eval()


def test_fixed_weights_average_the_branch_log_probabilities(synth):
    head = make(synth, weighting="fixed", audio_weight=0.7)
    audio, text = synth.pair()
    out = head(audio, text)
    branches = out.branches
    expected = 0.7 * branches["audio"].log_softmax(-1) + 0.3 * branches["text"].log_softmax(-1)
    torch.testing.assert_close(out.logits, expected)
    assert LateHead.has_branches
    assert not head.weight_logits.requires_grad


def test_loss_adds_weighted_branch_losses(synth):
    head = make(synth, aux_weight=0.25)
    audio, text = synth.pair()
    targets = torch.tensor([3, 0, 1])
    out = head(audio, text, targets)
    expected = F.cross_entropy(out.logits, targets) + 0.25 * (
        F.cross_entropy(out.branches["audio"], targets)
        + F.cross_entropy(out.branches["text"], targets))
    torch.testing.assert_close(out.loss, expected)


def test_learned_weights_receive_gradients_and_start_at_audio_weight(synth):
    head = make(synth, audio_weight=0.8)
    torch.testing.assert_close(head.fusion_weights, torch.tensor([0.8, 0.2]))
    loss = head(*synth.pair(), torch.tensor([0, 1, 2])).loss
    loss.backward()
    assert head.weight_logits.grad is not None and head.weight_logits.grad.abs().sum() > 0


def test_missing_modality_uses_the_present_branch_alone(synth):
    head = make(synth)
    audio, text = synth.pair()
    out = head(None, text)
    assert set(out.branches) == {"text"}
    torch.testing.assert_close(out.logits, out.branches["text"].log_softmax(-1))


@pytest.mark.parametrize("config", [{"audio_weight": 1.5}, {"audio_weight": 0.0},
                                    {"weighting": "mean"}, {"aux_weight": -0.1}])
def test_invalid_configs(synth, config):
    with pytest.raises(ConfigError, match="late"):
        make(synth, **config)


def test_fixed_weight_may_be_an_endpoint(synth):
    head = make(synth, weighting="fixed", audio_weight=1.0)
    audio, text = synth.pair()
    out = head(audio, text)
    torch.testing.assert_close(out.logits, out.branches["audio"].log_softmax(-1))
