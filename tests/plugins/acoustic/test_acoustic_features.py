"""Log-mel and MFCC featurizers: shapes, determinism, normalisation, edge cases, speed, cache keys."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from fusion.errors import AudioError, ConfigError, EmptyAudioError
from fusion_acoustic.features import MFCC, LogMel, LogMelOptions, MFCCOptions, normalize_utterance
from tests.conftest import tone
from tests.plugins.acoustic.helpers import build, noise

WHERE = "acoustic encoder 'test'"


def test_log_mel_shape_is_one_frame_per_hop():
    feats = LogMel(LogMelOptions(), WHERE)(noise(2.0))
    assert feats.shape == (1 + 32000 // 160, 64) and feats.dtype == torch.float32
    assert feats.is_contiguous() and torch.isfinite(feats).all()


def test_log_mel_is_deterministic_and_accepts_numpy():
    wav = tone(1.0, seed=3)
    featurizer = LogMel(LogMelOptions(), WHERE)
    first = featurizer(torch.from_numpy(wav))
    assert torch.equal(first, featurizer(wav))
    assert torch.equal(first, LogMel(LogMelOptions(), WHERE)(torch.from_numpy(wav)))


def test_normalisation_switch():
    wav = tone(1.0, amp=0.5)
    normalized = LogMel(LogMelOptions(normalize=True), WHERE)(wav)
    raw = LogMel(LogMelOptions(normalize=False), WHERE)(wav)
    assert normalized.mean(0).abs().max() < 1e-4
    assert torch.allclose(normalized.std(0, correction=0), torch.ones(64), atol=1e-2)
    assert raw.mean().item() < -1.0  # log power of a quiet-ish signal, not centred
    assert torch.allclose(normalize_utterance(raw), normalized, atol=1e-5)


def test_log_floor_keeps_silence_finite():
    silent = torch.zeros(16000)
    raw = LogMel(LogMelOptions(normalize=False, log_floor=1e-4), WHERE)(silent)
    assert torch.allclose(raw, torch.full_like(raw, float(np.log(1e-4))))
    normalized = LogMel(LogMelOptions(), WHERE)(silent)
    assert torch.isfinite(normalized).all() and normalized.abs().max() == 0


def test_log_mel_peak_follows_pitch():
    featurizer = LogMel(LogMelOptions(normalize=False), WHERE)
    peak = [int(featurizer(tone(0.5, freq=f)).mean(0).argmax()) for f in (200.0, 400.0, 800.0)]
    assert peak[0] < peak[1] < peak[2]


def test_mfcc_with_and_without_deltas():
    wav = tone(1.0)
    with_deltas = MFCC(MFCCOptions(n_mfcc=13), WHERE)(wav)
    plain = MFCC(MFCCOptions(n_mfcc=13, deltas=False, normalize=False), WHERE)(wav)
    assert with_deltas.shape == (101, 39) and plain.shape == (101, 13)
    raw = MFCC(MFCCOptions(n_mfcc=13, normalize=False), WHERE)(wav)
    assert torch.equal(raw[:, :13], plain)
    assert not torch.allclose(raw[:, 13:26], torch.zeros(101, 13))  # deltas are computed, not padding


def test_very_short_and_bad_waveforms():
    featurizer = LogMel(LogMelOptions(), WHERE)
    short = featurizer(noise(0.005))  # 80 samples: shorter than one FFT window
    assert short.shape[0] >= 1 and torch.isfinite(short).all()
    assert featurizer(noise(0.1)).shape[0] == 11  # the minimum clip fusion.audio accepts
    with pytest.raises(EmptyAudioError):
        featurizer(torch.zeros(0))
    with pytest.raises(AudioError, match="mono"):
        featurizer(torch.zeros(2, 16000))


def test_invalid_feature_options():
    with pytest.raises(ConfigError, match="n_mels"):
        MFCC(MFCCOptions(n_mfcc=30, n_mels=20), WHERE)
    with pytest.raises(ConfigError, match="hop_ms"):
        LogMel(LogMelOptions(hop_ms=0.0), WHERE)
    with pytest.raises(ConfigError, match="log_floor"):
        LogMel(LogMelOptions(log_floor=0.0), WHERE)


def test_log_mel_is_faster_than_1000x_real_time():
    torch.set_num_threads(1)
    featurizer = build("cnn").features
    wav = noise(10.0)
    featurizer(wav)  # warm-up
    best = min(_cpu_seconds(featurizer, wav) for _ in range(10))
    assert 10.0 / best >= 1000, f"log-mel ran at only {10.0 / best:.0f}x real time"


def _cpu_seconds(featurizer, wav) -> float:
    """CPU time of one call (wall time is unreliable on a shared machine)."""
    start = time.process_time()
    featurizer(wav)
    return time.process_time() - start


def test_cache_key_names_only_what_changes_features():
    cnn, wide_cnn, crnn = build("cnn"), build("cnn", channels=[8, 8]), build("cnn-lstm")
    assert cnn.featurize_key() == wide_cnn.featurize_key() == crnn.featurize_key()
    assert cnn.featurize_key()["features"] == "log-mel"
    assert build("cnn", n_mels=40).featurize_key() != cnn.featurize_key()
    assert build("lstm").featurize_key()["features"] == "mfcc"
    assert build("lstm", deltas=False).featurize_key() != build("lstm").featurize_key()
