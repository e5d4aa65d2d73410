"""The prosodic functionals of `whisper-encoder` (fusion_whisper.prosody): eGeMAPS beside the states."""

from __future__ import annotations

import warnings

import pytest
import torch

import fusion
from fusion.errors import ConfigError
from fusion_whisper import prosody
from tests.conftest import tone


def build(checkpoint, **options):
    return fusion.get_acoustic_encoder("whisper-encoder").build({"model": checkpoint, **options})


def voiced(seconds: float = 1.5, hz: float = 180.0) -> torch.Tensor:
    return torch.from_numpy(tone(seconds, freq=hz)).float()


def test_egemaps_gives_88_finite_functionals_that_follow_the_pitch():
    low, high = prosody.egemaps(voiced(hz=120.0)), prosody.egemaps(voiced(hz=240.0))
    assert low.shape == (prosody.DIM,) and low.dtype == torch.float32 and torch.isfinite(low).all()
    # the first functional is the F0 mean in semitones from 27.5 Hz: an octave apart is 12 semitones
    assert abs(float(high[0] - low[0]) - 12.0) < 1.0


def test_a_clip_too_short_for_opensmile_gives_zeros_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = prosody.egemaps(torch.zeros(100))
    assert torch.equal(out, torch.zeros(prosody.DIM))


def test_featurize_appends_the_functionals_to_every_frame_of_the_flattened_states(random_checkpoint):
    wav = voiced()
    states = build(random_checkpoint, prosody=False).featurize(wav)             # [T, L+1, D]
    feats = build(random_checkpoint).featurize(wav)                             # [T, (L+1)*D + 88]
    steps, layers, dim = states.shape
    assert feats.shape == (steps, layers * dim + prosody.DIM) and feats.dtype == torch.float16
    assert torch.equal(feats[:, : layers * dim], states.reshape(steps, -1))
    functionals = prosody.egemaps(wav).half()
    assert all(torch.equal(row, functionals) for row in feats[:, layers * dim:])


def test_forward_widens_the_output_by_the_functionals_and_they_change_it(random_checkpoint):
    enc = build(random_checkpoint, standardize=False).eval()
    assert enc.output_dim == 16 + prosody.DIM
    feats = enc.featurize(voiced())[None].float()                               # [1, T, W + 88]
    lengths = torch.tensor([feats.shape[1]])
    out = enc(feats, lengths)
    assert out.seq.shape == (1, feats.shape[1], 16 + prosody.DIM) and out.pooled.shape == (1, 16 + prosody.DIM)
    other = feats.clone()
    other[..., -prosody.DIM:] += 1.0
    assert not torch.allclose(enc(other, lengths).pooled[:, -prosody.DIM:], out.pooled[:, -prosody.DIM:])
    assert torch.allclose(enc(other, lengths).pooled[:, :16], out.pooled[:, :16])  # the states' part is theirs


def test_forward_with_fine_tuned_top_blocks_carries_the_functionals_too(random_checkpoint):
    enc = build(random_checkpoint, finetune_layers=1, standardize=False).eval()
    feats = enc.featurize(voiced())                                             # [T, D + 88]
    assert feats.shape[1] == 16 + prosody.DIM
    assert enc(feats[None].float(), torch.tensor([feats.shape[0]])).pooled.shape == (1, 16 + prosody.DIM)


def test_features_of_the_other_layout_are_a_clear_error(random_checkpoint):
    states_only = build(random_checkpoint, prosody=False).featurize(voiced())[None].float()  # [1, T, L+1, D]
    with pytest.raises(ConfigError, match="prosody"):
        build(random_checkpoint)(states_only, torch.tensor([states_only.shape[1]]))
    with pytest.raises(ConfigError, match="88 prosodic functionals"):
        build(random_checkpoint)(torch.zeros(1, 3, 40), torch.tensor([3]))


def test_the_cache_key_names_the_functionals_only_when_they_are_on(random_checkpoint):
    on, off = build(random_checkpoint).featurize_key(), build(random_checkpoint, prosody=False).featurize_key()
    assert on["prosody"] == "egemaps-v02" and "prosody" not in off
    assert {k: v for k, v in on.items() if k != "prosody"} == off


def test_a_model_saved_before_prosody_loads_with_the_states_alone(random_checkpoint):
    from fusion.model import EmotionModel, ModelConfig

    model = EmotionModel(ModelConfig(mode="audio", labels=("a", "b"), acoustic_encoder="whisper-encoder",
                                     acoustic_config={"model": random_checkpoint, "prosody": False}))
    old = model.checkpoint()
    old["format"], old["config"]["acoustic_config"] = 1, {"model": random_checkpoint}  # as saved before
    loaded = EmotionModel.from_checkpoint(old)
    assert loaded.acoustic.config.prosody is False and loaded.acoustic.output_dim == 16
