"""SpecAugment (training-only, inside each clip's valid frames) and waveform augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fusion.errors import ConfigError
from fusion_acoustic.augment import SpecAugment, SpecAugmentOptions, WaveformAugmentConfig, augment_waveform
from tests.conftest import tone

WHERE = "acoustic encoder 'test'"


def batch(lengths=(11, 500), n_features=64) -> tuple[torch.Tensor, torch.Tensor]:
    """Features that are never 0 inside each clip, zero-padded after it."""
    lengths = torch.tensor(lengths)
    feats = torch.zeros(len(lengths), int(lengths.max()), n_features)
    for row, length in enumerate(lengths.tolist()):
        feats[row, :length] = 1.0 + torch.rand(length, n_features)
    return feats, lengths


def test_identity_in_eval_mode_and_when_disabled():
    feats, lengths = batch()
    augment = SpecAugment(SpecAugmentOptions(), 64, WHERE).eval()
    assert torch.equal(augment(feats, lengths), feats)
    disabled = SpecAugment(SpecAugmentOptions(spec_augment=False), 64, WHERE).train()
    assert torch.equal(disabled(feats, lengths), feats)


def test_masks_stay_inside_each_clip_and_never_cover_it():
    torch.manual_seed(0)
    feats, lengths = batch()
    augment = SpecAugment(SpecAugmentOptions(freq_masks=2, freq_mask_width=27, time_masks=2,
                                             time_mask_ratio=0.5), 64, WHERE).train()
    masked_any = False
    for _ in range(200):
        out = augment(feats, lengths)
        assert out.shape == feats.shape
        assert torch.equal(out[0, 11:], feats[0, 11:])  # padding untouched
        for row, length in enumerate(lengths.tolist()):
            clip = out[row, :length]                     # [L, F]
            zero = clip == 0
            assert not zero.all(1).all(), "a whole clip was masked in time"
            assert not zero.all(0).all(), "every feature bin was masked"
            masked_any |= bool(zero.any())
    assert masked_any
    assert feats[:, :11].min() >= 1.0  # the input batch is not modified in place


def test_time_masks_are_bounded_by_width_and_ratio():
    torch.manual_seed(0)
    feats, lengths = batch((20, 500))
    augment = SpecAugment(SpecAugmentOptions(freq_masks=0, time_masks=2, time_mask_width=6,
                                             time_mask_ratio=0.2), 64, WHERE).train()
    widest = [0, 0]
    for _ in range(100):
        out = augment(feats, lengths)
        for row, length in enumerate(lengths.tolist()):
            widest[row] = max(widest[row], int((out[row, :length] == 0).all(1).sum()))
    assert widest[1] <= 2 * 5   # two masks of < 6 frames each on the long clip
    assert widest[0] <= 2 * 3   # ratio 0.2 of 20 frames: < 4 frames per mask on the short one
    assert min(widest) > 0


def test_unsafe_mask_sizes_are_config_errors():
    with pytest.raises(ConfigError, match="time_mask_ratio"):
        SpecAugment(SpecAugmentOptions(time_masks=3, time_mask_ratio=0.5), 64, WHERE)
    with pytest.raises(ConfigError, match="freq_mask_width"):
        SpecAugment(SpecAugmentOptions(freq_masks=2, freq_mask_width=40), 64, WHERE)
    with pytest.raises(ConfigError, match="freq_masks"):
        SpecAugment(SpecAugmentOptions(freq_masks=-1), 64, WHERE)


def test_waveform_augmentation_is_reproducible_from_the_generator():
    wav = tone(1.0)
    a = augment_waveform(wav, 16000, np.random.default_rng(7))
    b = augment_waveform(wav, 16000, np.random.default_rng(7))
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    assert np.array_equal(a, b)
    outputs = [augment_waveform(wav, 16000, np.random.default_rng(seed)) for seed in range(8)]
    assert len({o.tobytes() for o in outputs}) > 1


def test_speed_perturbation_changes_length():
    wav = torch.from_numpy(tone(1.0))
    config = WaveformAugmentConfig(noise_prob=0.0, speed_prob=1.0, speeds=(1.1,))
    fast = augment_waveform(wav, 16000, 0, config)
    assert isinstance(fast, torch.Tensor)
    assert abs(fast.numel() - round(16000 / 1.1)) <= 1
    slow = augment_waveform(wav, 16000, 0, WaveformAugmentConfig(noise_prob=0.0, speed_prob=1.0, speeds=(0.9,)))
    assert abs(slow.numel() - round(16000 / 0.9)) <= 1


def test_noise_is_added_at_the_drawn_snr():
    wav = tone(1.0, amp=0.5)
    config = WaveformAugmentConfig(noise_prob=1.0, snr_db=(10.0, 10.0), speed_prob=0.0)
    noisy = augment_waveform(wav, 16000, 3, config)
    assert noisy.shape == wav.shape
    snr = 10 * np.log10(np.sum(wav.astype(np.float64) ** 2) / np.sum((noisy - wav).astype(np.float64) ** 2))
    assert abs(snr - 10.0) < 0.1


def test_silence_stays_silent_and_finite():
    silent = np.zeros(16000, dtype=np.float32)
    out = augment_waveform(silent, 16000, 0, WaveformAugmentConfig(noise_prob=1.0, speed_prob=1.0))
    assert np.isfinite(out).all() and np.abs(out).max() == 0


@pytest.mark.parametrize("options", [{"noise_prob": 1.5}, {"snr_db": (30.0, 10.0)}, {"speeds": ()},
                                     {"speeds": (0.0, 1.0)}])
def test_invalid_waveform_config(options):
    with pytest.raises(ConfigError, match="waveform augmentation"):
        WaveformAugmentConfig(**options)
