"""The noise mixing of bench/accuracy/noise_robustness.py: requested SNRs and equal-RMS babble."""

from __future__ import annotations

import numpy as np
import pytest

from bench.accuracy import noise_robustness as nr


def power(x: np.ndarray) -> float:
    return float(np.mean(x.astype(np.float64) ** 2))


@pytest.mark.parametrize("snr", [20.0, 10.0, 5.0, 0.0])
def test_mix_adds_noise_at_the_requested_snr(snr):
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    clean = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    noise = rng.standard_normal(16000).astype(np.float32) * 5.0  # its own scale must not matter
    noisy = nr.mix(clean, noise, snr)
    assert noisy.shape == clean.shape and noisy.dtype == np.float32
    measured = 10 * np.log10(power(clean) / power(noisy - clean))
    assert abs(measured - snr) < 0.05


def test_babble_loops_each_talker_to_the_length_with_equal_rms():
    quiet = np.full(100, 0.01, dtype=np.float32)
    loud = np.concatenate([np.ones(50), -np.ones(50)]).astype(np.float32) * 10
    babble = nr.make_babble([quiet, loud], 250)
    assert babble.shape == (250,)
    # each talker is scaled to RMS 1 and tiled: quiet -> +1 everywhere, loud -> +1 / -1 in blocks of 50
    expected = 1.0 + np.resize(np.concatenate([np.ones(50), -np.ones(50)]), 250)
    np.testing.assert_allclose(babble, expected, atol=1e-3)


def test_babble_bank_is_deterministic_and_serves_as_a_noise_dir(tmp_path):
    import soundfile as sf

    from fusion.augment import NoiseBank

    class Clips:  # stands in for NoisyFeatures: decoded clips by utterance
        def wav(self, u):
            return np.random.default_rng(u).standard_normal(8000 + 100 * u).astype(np.float32)

    pool = list(range(10))
    a = nr.write_babble_bank(tmp_path / "a", pool, Clips(), files=5, talkers=3, seed=1)
    b = nr.write_babble_bank(tmp_path / "b", pool, Clips(), files=5, talkers=3, seed=1)
    assert NoiseBank(a).key() == NoiseBank(b).key() and len(NoiseBank(a).files) == 5
    wav, sr = sf.read(a / "babble-000.wav", dtype="float32")
    assert sr == 16000 and wav.shape == (4 * 16000,) and np.abs(wav).max() == pytest.approx(0.9, abs=1e-6)
    assert NoiseBank(nr.write_babble_bank(tmp_path / "a", pool, Clips(), files=2, talkers=3, seed=2)).files == [
        a / "babble-000.wav", a / "babble-001.wav"]  # a rewrite leaves no stale recording behind
