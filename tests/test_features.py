"""fusion.features.augmented_acoustic_features: perturbed copies, cached apart from the clips' own features."""

from __future__ import annotations

import numpy as np
import torch

from fusion import audio as audio_io
from fusion.augment import AugmentConfig, augment_waveform, copy_rng
from fusion.cache import Cache
from fusion.data import Utterance
from fusion.features import acoustic_features, augmented_acoustic_features
from tests.fakes import FrameEnergyEncoder


class CountingEncoder(FrameEnergyEncoder):
    """FrameEnergyEncoder that counts featurize calls."""

    def __init__(self, config=None):
        super().__init__(config)
        self.calls = 0

    def featurize(self, wav):
        self.calls += 1
        return super().featurize(wav)


def _clips(make_wav, n=3) -> list[Utterance]:
    return [Utterance(id=f"c{i}", audio=make_wav(f"c{i}.wav", duration=0.5 + 0.1 * i, freq=200.0 + 50 * i, seed=i),
                      label="happy", speaker="s") for i in range(n)]


def test_copies_are_featurize_of_the_perturbed_clip_and_differ(make_wav):
    utts, enc = _clips(make_wav), CountingEncoder()
    aug = AugmentConfig(copies=2, seed=3)
    fs = augmented_acoustic_features(utts, enc, aug, Cache("features"))
    assert sorted(fs.features) == sorted((u.id, c) for u in utts for c in range(2)) and not fs.errors
    u = utts[1]
    wav = audio_io.load(u.audio, target_sr=16000, on_silence="ignore")                  # [S]
    expected = enc.featurize(torch.from_numpy(augment_waveform(wav, 16000, copy_rng(3, u.id, 1), aug.waveform)))
    assert torch.equal(fs.features[(u.id, 1)], expected)
    clean = enc.featurize(torch.from_numpy(wav))                                         # [T, 8]
    copy0, copy1 = fs.features[(u.id, 0)], fs.features[(u.id, 1)]
    assert not (copy0.shape == clean.shape and torch.equal(copy0, clean))
    assert not (copy0.shape == copy1.shape and torch.equal(copy0, copy1))


def test_copies_never_replace_the_clip_features_and_are_reused(make_wav):
    utts, enc = _clips(make_wav), CountingEncoder()
    cache = Cache("features")
    own = acoustic_features(utts, enc, cache)
    assert enc.calls == 3
    one = augmented_acoustic_features(utts, enc, AugmentConfig(copies=1), cache)
    assert enc.calls == 6 and one.computed == 3 and one.cached == 0
    again = acoustic_features(utts, enc, cache)  # the clips' own entries are untouched
    assert again.cached == 3 and all(torch.equal(again.features[u.id], own.features[u.id]) for u in utts)
    two = augmented_acoustic_features(utts, enc, AugmentConfig(copies=2), cache)  # copy 0 from the cache
    assert enc.calls == 9 and two.computed == 3 and two.cached == 3
    assert all(torch.equal(two.features[(u.id, 0)], one.features[(u.id, 0)]) for u in utts)
    warm = augmented_acoustic_features(utts, enc, AugmentConfig(copies=2), cache)
    assert enc.calls == 9 and warm.computed == 0 and warm.cached == 6
    # another seed or perturbation is another copy: recomputed, different features
    reseeded = augmented_acoustic_features(utts, enc, AugmentConfig(copies=1, seed=1), cache)
    assert reseeded.computed == 3 and not torch.equal(reseeded.features[("c0", 0)], one.features[("c0", 0)])
    quieter = augmented_acoustic_features(utts, enc, AugmentConfig(copies=1, snr_db=(30.0, 40.0)), cache)
    assert quieter.computed == 3 and enc.calls == 15


def test_a_copy_that_fails_is_an_error_of_that_copy_not_a_crash(make_wav, tmp_path):
    utts = _clips(make_wav, 2)
    missing = Utterance(id="gone", audio=tmp_path / "gone.wav", label="happy", speaker="s")
    fs = augmented_acoustic_features([*utts, missing], CountingEncoder(), AugmentConfig(copies=1), Cache("features"))
    assert set(fs.errors) == {("gone", 0)} and len(fs.features) == 2


def test_same_seed_same_copies_in_a_fresh_cache(make_wav, tmp_path):
    utts = _clips(make_wav, 2)
    aug = AugmentConfig(copies=1, seed=5)
    a = augmented_acoustic_features(utts, CountingEncoder(), aug, Cache("features", root=tmp_path / "a"))
    b = augmented_acoustic_features(utts[::-1], CountingEncoder(), aug, Cache("features", root=tmp_path / "b"))
    assert b.computed == 2  # recomputed, not read
    assert all(np.array_equal(a.features[k].numpy(), b.features[k].numpy()) for k in a.features)


def test_utterances_with_the_same_audio_share_one_features_tensor(make_wav):
    """Duplicated audio (a clip listed twice, e.g. with two transcripts) is featurized and held once."""
    path = make_wav("dup.wav", duration=0.6, freq=300.0, seed=5)
    utts = [Utterance(id=f"d{i}", audio=path, label="happy", speaker="s") for i in range(3)]
    enc = CountingEncoder()
    fs = acoustic_features(utts, enc, Cache("features"))
    assert enc.calls == 1 and fs.computed == 1 and fs.cached == 2
    assert fs.features["d0"] is fs.features["d1"] is fs.features["d2"]


def test_perturbed_copies_are_featurized_once_and_keyed_by_what(make_wav):
    """perturbed_acoustic_features: any perturbation, cached under its ``what``; perturb runs on a miss only."""
    from fusion.features import PerturbedCopy, perturbed_acoustic_features

    utts, enc, cache = _clips(make_wav, 2), CountingEncoder(), Cache("features")
    calls = []

    def louder(gain):
        def perturb(wav):
            calls.append(gain)
            return wav * gain
        return perturb

    copies = [PerturbedCopy((u.id, g), u, louder(g), {"gain": g}) for u in utts for g in (2.0, 3.0)]
    fs = perturbed_acoustic_features(copies, enc, cache)
    assert sorted(fs.features) == sorted(c.id for c in copies) and fs.computed == 4 and calls == [2.0, 3.0] * 2
    wav = audio_io.load(utts[1].audio, target_sr=16000, on_silence="ignore")            # [S]
    assert torch.equal(fs.features[("c1", 3.0)], enc.featurize(torch.from_numpy(wav * 3.0)))
    again = perturbed_acoustic_features(copies, enc, cache)
    assert again.cached == 4 and again.computed == 0 and len(calls) == 4  # from the cache: nothing perturbed
    assert all(torch.equal(again.features[k], fs.features[k]) for k in fs.features)
    other = perturbed_acoustic_features([copies[0]._replace(what={"gain": 2.0, "v": 2})], enc, cache)
    assert other.computed == 1  # another ``what`` is another entry
    tagged = perturbed_acoustic_features(copies[:1], enc, cache, key_tag="elsewhere")
    assert tagged.computed == 1
    gone = Utterance(id="gone", audio=None, label="happy", speaker="s")
    failed = perturbed_acoustic_features([PerturbedCopy("x", gone, louder(1.0), {}, "copy x")], enc, cache)
    assert set(failed.errors) == {"x"} and "no audio file" in failed.errors["x"] and not failed.features
