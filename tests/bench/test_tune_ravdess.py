"""bench/accuracy/tune_ravdess.py --inner: folds scored on validation speakers, never the test ones."""

from __future__ import annotations

from fusion.data import Utterance, folds_from_groups

from bench.accuracy import tune_ravdess as tr


def test_inner_folds_test_on_the_validation_speakers_and_never_touch_the_test_speakers():
    speakers = [f"{i:02d}" for i in range(1, 17)]
    utts = [Utterance(id=f"{s}-{k}", audio=None, label="ab"[k % 2], speaker=s) for s in speakers for k in range(4)]
    test_groups = [speakers[i:i + 4] for i in range(0, 16, 4)]
    outer = folds_from_groups(utts, test_groups, "speaker", seed=0, val_fraction=0.15)
    inner = tr.inner_folds(utts, outer, "speaker", 0.15)
    for o, f in zip(outer, inner):
        spk = lambda idx: {utts[n].speaker for n in idx}  # noqa: E731
        assert f.test == o.val and set(f.test_groups) == spk(o.val)
        assert set(f.train) | set(f.val) == set(o.train)              # carved from the training speakers
        assert not spk(f.train) & spk(f.val) and len(spk(f.val)) == 2  # speaker-disjoint, 10 -> 8 + 2
        assert not (set(f.train) | set(f.val) | set(f.test)) & set(o.test)
