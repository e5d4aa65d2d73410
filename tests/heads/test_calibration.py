"""fit_log_scales: the weights of a product of experts, fitted on held-out predictions."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fusion.heads.calibration import MAX_LOG_SCALE, fit_log_scales


def held_out(n: int = 300, classes: int = 4, seed: int = 0):
    """targets [N]; a good expert; an over-confident expert that is right half of the time."""
    gen = torch.Generator().manual_seed(seed)
    targets = torch.randint(0, classes, (n,), generator=gen)
    good = 2.0 * F.one_hot(targets, classes).float() + torch.randn(n, classes, generator=gen)
    guess = torch.where(torch.rand(n, generator=gen) < 0.5, targets, torch.randint(0, classes, (n,), generator=gen))
    overconfident = 20.0 * F.one_hot(guess, classes).float()
    return targets, good, overconfident


def nll(log_scales, logits, targets):
    fused = sum(s * l.log_softmax(-1) for s, l in zip(log_scales.exp(), logits))
    return F.cross_entropy(fused, targets).item()


def test_fit_lowers_the_held_out_loss_and_discounts_the_overconfident_expert():
    targets, good, overconfident = held_out()
    fitted = fit_log_scales([good.log_softmax(-1), overconfident.log_softmax(-1)], targets)
    assert fitted.shape == (2,)
    assert nll(fitted, [good, overconfident], targets) < nll(torch.zeros(2), [good, overconfident], targets)
    assert fitted[1] < 0 and fitted[1] < fitted[0]


def test_any_additive_term_gets_its_own_scale():
    targets, good, overconfident = held_out()
    noise = 5.0 * torch.randn(good.shape, generator=torch.Generator().manual_seed(3))  # e.g. a useless correction
    terms = [good.log_softmax(-1), overconfident.log_softmax(-1), noise]
    fitted = fit_log_scales(terms, targets)
    assert fitted.shape == (3,) and fitted[2] < fitted[0] and fitted[2] < 0
    doubled = fit_log_scales([good.log_softmax(-1), 2.0 * overconfident.log_softmax(-1)], targets)
    assert abs(doubled[1].exp() * 2 - fit_log_scales(terms[:2], targets)[1].exp()) < 0.05


def test_scales_are_clamped_and_experts_are_untouched():
    targets, good, _ = held_out()
    perfect = 50.0 * F.one_hot(targets, 4).float()
    before = perfect.clone()
    fitted = fit_log_scales([perfect.log_softmax(-1), good.log_softmax(-1)], targets, class_weights=torch.ones(4),
                            init=torch.zeros(2))
    assert fitted.abs().max() <= MAX_LOG_SCALE
    torch.testing.assert_close(perfect, before)


def test_works_under_no_grad():
    targets, good, overconfident = held_out(n=50)
    with torch.no_grad():
        fitted = fit_log_scales([good.log_softmax(-1), overconfident.log_softmax(-1)], targets)
    assert torch.isfinite(fitted).all() and not fitted.requires_grad
