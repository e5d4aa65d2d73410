"""bench/accuracy/noise_robustness.py: noise mixing at the requested SNRs, equal-RMS babble, the perturbed
copies it featurizes through fusion.features, and its report."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

import noise_conditions as nc
import noise_robustness as nr
import support
from fusion.augment import WaveformAugmentConfig, augment_waveform
from fusion.cache import Cache, file_hash, make_key
from fusion.data import Utterance
from fusion.errors import FusionError
from tests.fakes import FrameEnergyEncoder


def power(x: np.ndarray) -> float:
    return float(np.mean(x.astype(np.float64) ** 2))


@pytest.mark.parametrize("snr", [20.0, 10.0, 5.0, 0.0])
def test_mix_adds_noise_at_the_requested_snr(snr):
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    clean = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    noise = rng.standard_normal(16000).astype(np.float32) * 5.0  # its own scale must not matter
    noisy = nc.mix(clean, noise, snr)
    assert noisy.shape == clean.shape and noisy.dtype == np.float32
    measured = 10 * np.log10(power(clean) / power(noisy - clean))
    assert abs(measured - snr) < 0.05


def test_babble_loops_each_talker_to_the_length_with_equal_rms():
    quiet = np.full(100, 0.01, dtype=np.float32)
    loud = np.concatenate([np.ones(50), -np.ones(50)]).astype(np.float32) * 10
    babble = nc.make_babble([quiet, loud], 250)
    assert babble.shape == (250,)
    # each talker is scaled to RMS 1 and tiled: quiet -> +1 everywhere, loud -> +1 / -1 in blocks of 50
    expected = 1.0 + np.resize(np.concatenate([np.ones(50), -np.ones(50)]), 250)
    np.testing.assert_allclose(babble, expected, atol=1e-3)


def test_babble_bank_is_deterministic_and_serves_as_a_noise_dir(tmp_path):
    import soundfile as sf

    from fusion.augment import NoiseBank

    def wav_of(u):  # decoded clips by utterance
        return np.random.default_rng(u).standard_normal(8000 + 100 * u).astype(np.float32)

    pool = list(range(10))
    a = nc.write_babble_bank(tmp_path / "a", pool, wav_of, files=5, talkers=3, seed=1)
    b = nc.write_babble_bank(tmp_path / "b", pool, wav_of, files=5, talkers=3, seed=1)
    assert NoiseBank(a).key() == NoiseBank(b).key() and len(NoiseBank(a).files) == 5
    wav, sr = sf.read(a / "babble-000.wav", dtype="float32")
    assert sr == 16000 and wav.shape == (4 * 16000,) and np.abs(wav).max() == pytest.approx(0.9, abs=1e-6)
    assert NoiseBank(nc.write_babble_bank(tmp_path / "a", pool, wav_of, files=2, talkers=3, seed=2)).files == [
        a / "babble-000.wav", a / "babble-001.wav"]  # a rewrite leaves no stale recording behind


@pytest.fixture
def clips(make_wav):
    return [Utterance(id=f"c{i}", audio=make_wav(f"c{i}.wav", duration=0.5, freq=200.0 + 40 * i, seed=i),
                      label="happy", speaker=f"s{i}") for i in range(4)]


def test_noisy_copies_are_seeded_by_clip_index_and_condition_and_cached_under_their_key(clips):
    enc, counts = FrameEnergyEncoder(), {"featurized": 0, "from_cache": 0}
    copies = [nc.noisy_copy(clips[0], 5, "white", 10.0, clips[1:], 2, seed=3),
              nc.noisy_copy(clips[0], 5, "babble", 0.0, clips[1:], 2, seed=3)]
    feats = nc.featurized(copies, enc, counts)
    assert set(feats) == {("white", 10.0, 5), ("babble", 0.0, 5)} and counts == {"featurized": 2, "from_cache": 0}
    wav = nc.clip_wav(clips[0].audio)                                                     # [S]
    noise = np.random.default_rng([3, 5, 100, 0]).standard_normal(len(wav)).astype(np.float32)
    expected = enc.featurize(torch.from_numpy(nc.mix(wav, noise, 10.0)))
    assert torch.equal(feats[("white", 10.0, 5)], expected)
    key = make_key("perturbed-acoustic", file_hash(clips[0].audio), {"noise": "white", "snr": 10.0, "seed": 3},
                   enc.featurize_key())
    assert torch.equal(Cache("features").get_tensor(key), expected)  # the key the benchmark always used
    babble = copies[1].what
    assert babble["noise"] == "babble" and len(babble["talkers"]) == 2 and set(babble["talkers"]) < {"c1", "c2", "c3"}
    nc.featurized(copies, enc, counts)
    assert counts == {"featurized": 2, "from_cache": 2}


def test_augmented_copies_use_the_generator_of_seed_tag_and_index(clips):
    enc, config = FrameEnergyEncoder(), WaveformAugmentConfig(noise_prob=1.0, snr_db=(0.0, 20.0), speed_prob=0.5)
    copy = nc.augmented_copy(clips[1], 7, config, 0, {"augment": "waveform", "copy": 0}, seed=2)
    assert copy.id == "c1" and copy.what == {"augment": "waveform", "copy": 0, "seed": 2}
    feats = nc.featurized([copy], enc, {"featurized": 0, "from_cache": 0})["c1"]
    wav = nc.clip_wav(clips[1].audio)
    expected = augment_waveform(wav, 16000, np.random.default_rng([2, 0, 7]), config)
    assert torch.equal(feats, enc.featurize(torch.from_numpy(expected)))


def test_a_failed_copy_stops_the_benchmark(tmp_path, clips):
    gone = Utterance(id="gone", audio=tmp_path / "gone.wav", label="happy", speaker="s")
    with pytest.raises(FusionError, match="1 perturbed copies failed"):
        nc.featurized([nc.noisy_copy(gone, 0, "white", 5.0, clips, 2, seed=0)], FrameEnergyEncoder(),
                      {"featurized": 0, "from_cache": 0})


def test_render_only_reproduces_the_committed_report_byte_for_byte(tmp_path):
    shutil.copy(support.RESULTS / "noise_robustness.json", tmp_path)
    assert nr.main(["--render-only", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "noise_robustness.md").read_bytes() == (support.RESULTS / "noise_robustness.md").read_bytes()


def test_report_without_the_babble_model_has_two_columns():
    r = json.loads((support.RESULTS / "noise_robustness.json").read_text())
    del r["ua"]["babble-augmented"]
    r["folds"] = r["folds"][:1]
    md = nr.render(r)
    assert "| test condition | trained clean | trained with noise augmentation |\n|---|---|---|\n" in md
    assert "| clean | 74.9 | 75.8 |\n" in md and "third model" not in md and "on folds [[" in md


def test_script_help_runs_as_a_script():
    out = subprocess.run([sys.executable, str(support.ROOT / "bench" / "accuracy" / "noise_robustness.py"), "--help"],
                         capture_output=True, text=True, cwd=support.ROOT.parent, check=True).stdout
    for flag in ("--work-dir", "--cache", "--render-only", "--snrs", "--babble-augment"):
        assert flag in out
