"""The contract of the three acoustic encoders (cnn, cnn-lstm, lstm), checked the same way for each."""

from __future__ import annotations

import pytest
import torch

from fusion.audio import load
from fusion.components import AcousticEncoder, Encoded
from tests.conftest import require_shared, tone
from tests.plugins.acoustic.helpers import ENCODERS, NO_DROPOUT, build, noise, pad


@pytest.fixture(scope="module", params=ENCODERS)
def encoder(request):
    return build(request.param).eval()


def mixed_batch(encoder) -> tuple[torch.Tensor, torch.Tensor]:
    """A 0.1 s tone and a 5 s noise clip, featurized and zero-padded."""
    return pad([encoder.featurize(torch.from_numpy(tone(0.1))), encoder.featurize(noise(5.0))])


def test_is_an_acoustic_encoder(encoder):
    assert isinstance(encoder, AcousticEncoder) and encoder.name in ENCODERS
    assert encoder.output_dim == encoder(*mixed_batch(encoder)).pooled.shape[1]


def test_short_and_long_clip_in_one_batch(encoder):
    feats, lengths = mixed_batch(encoder)
    assert lengths.tolist() == [11, 501]
    out = encoder(feats, lengths)
    assert isinstance(out, Encoded)
    batch, frames, dim = out.seq.shape
    assert (batch, dim) == (2, encoder.output_dim) and out.mask.shape == (2, frames)
    assert out.mask.dtype == torch.bool and (out.mask.sum(1) >= 1).all()
    assert out.mask[1].all() and out.lengths[0] < out.lengths[1]
    assert out.mask[:, 0].all() and (out.mask[:, :-1] | ~out.mask[:, 1:]).all()  # a prefix per row
    assert torch.isfinite(out.seq).all() and torch.isfinite(out.pooled).all()
    assert out.seq[~out.mask].abs().max() == 0  # padded frames are zeros
    weights = encoder.pooling_weights            # [B, T'] of this forward
    assert weights.shape == out.mask.shape and weights[~out.mask].abs().max() == 0
    assert torch.allclose(weights.sum(1), torch.ones(2))


def test_padding_does_not_change_a_clip(encoder):
    short = encoder.featurize(torch.from_numpy(tone(0.37, seed=1)))
    long = encoder.featurize(noise(3.0, seed=2))
    alone = encoder(short[None], torch.tensor([short.shape[0]]))
    feats, lengths = pad([short, long])
    in_batch = encoder(feats, lengths)
    assert torch.allclose(alone.pooled[0], in_batch.pooled[0], atol=1e-5)
    steps = int(alone.lengths[0])
    assert int(in_batch.lengths[0]) == steps
    assert torch.allclose(alone.seq[0, :steps], in_batch.seq[0, :steps], atol=1e-5)


def test_featurize_is_deterministic(encoder):
    wav = torch.from_numpy(tone(0.5, seed=4))
    assert torch.equal(encoder.featurize(wav), encoder.featurize(wav))
    assert encoder.featurize(wav).shape == (51, encoder.features.dim)


def test_lengths_are_clamped_to_the_padded_size(encoder):
    feats, _ = mixed_batch(encoder)
    out = encoder(feats, torch.tensor([0, 10_000]))  # nonsense lengths: still >= 1 valid step
    assert (out.mask.sum(1) >= 1).all() and torch.isfinite(out.pooled).all()


@pytest.mark.parametrize("name", ENCODERS)
def test_spec_augment_only_in_training(name):
    feats, lengths = pad([build(name).featurize(noise(1.0, seed=s)) for s in range(3)])
    augmented = build(name, **NO_DROPOUT[name]).train()  # no dropout: any randomness is SpecAugment
    torch.manual_seed(1)
    first = augmented(feats, lengths).pooled
    assert not torch.allclose(first, augmented(feats, lengths).pooled)
    plain = build(name, spec_augment=False, **NO_DROPOUT[name]).train()
    assert torch.equal(plain(feats, lengths).pooled, plain(feats, lengths).pooled)
    augmented.eval()
    assert torch.equal(augmented(feats, lengths).pooled, augmented(feats, lengths).pooled)


@pytest.mark.parametrize("name", ENCODERS)
def test_gradients_reach_every_parameter(name):
    encoder = build(name).train()
    feats, lengths = pad([encoder.featurize(noise(d, seed=i)) for i, d in enumerate((0.1, 0.8, 1.5))])
    out = encoder(feats, lengths)
    (out.pooled.pow(2).sum() + out.seq.sum()).backward()
    for param_name, param in encoder.named_parameters():
        assert param.grad is not None, f"{param_name} got no gradient"
        assert torch.isfinite(param.grad).all(), f"{param_name} has a non-finite gradient"
        assert param.grad.abs().sum() > 0, f"{param_name} has an all-zero gradient"


@pytest.mark.real
def test_encodes_a_real_ravdess_clip(encoder):
    path = require_shared("data", "ravdess", "Actor_01", "03-01-05-01-01-01-01.flac")
    feats = encoder.featurize(torch.from_numpy(load(path)))
    assert feats.shape[0] > 250 and torch.isfinite(feats).all()  # the clips last 2.9-5.3 s
    out = encoder(feats[None], torch.tensor([feats.shape[0]]))
    assert out.pooled.shape == (1, encoder.output_dim) and torch.isfinite(out.pooled).all()
