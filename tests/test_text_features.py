"""fusion.features.text_features: batched featurization, one computation per distinct text, failures
recorded against their own utterances."""

from __future__ import annotations

import torch

from fusion import features
from fusion.cache import Cache
from fusion.data import Utterance
from fusion.errors import FusionError
from fusion.features import text_features
from tests.fakes import HashBagEncoder


class BatchCountingEncoder(HashBagEncoder):
    """HashBagEncoder that records its batches and refuses any text containing "boom"."""

    def __init__(self, config=None):
        super().__init__(config)
        self.batches: list[list[str]] = []
        self.singles: list[str] = []

    def featurize(self, text):
        self.singles.append(text)
        if "kaboom" in text:  # a plugin bug: wrapped into a PluginError naming the utterance
            raise ValueError("kaboom")
        if "boom" in text:
            raise FusionError(f"cannot featurize {text!r}")
        return super().featurize(text)

    def featurize_batch(self, texts):
        self.batches.append(list(texts))
        if any("boom" in t for t in texts):
            raise FusionError("a batch failed")
        return [HashBagEncoder.featurize(self, t) for t in texts]


def _utts(texts):
    return [Utterance(id=f"u{i}", audio=None, label="happy", speaker="s") for i in range(len(texts))], \
        {f"u{i}": t for i, t in enumerate(texts)}


def test_batches_sorted_by_length_each_text_once(tmp_path, monkeypatch):
    monkeypatch.setattr(features, "TEXT_BATCH", 2)
    utts, transcripts = _utts(["a b c d", "a", "a b", "a", "a b c"])
    enc = BatchCountingEncoder()
    fs = text_features(utts, transcripts, enc, Cache("features", root=tmp_path))
    assert enc.batches == [["a", "a b"], ["a b c", "a b c d"]] and enc.singles == []
    assert fs.computed == 4 and fs.cached == 1 and not fs.errors
    for u in utts:
        assert torch.equal(fs.features[u.id], HashBagEncoder().featurize(transcripts[u.id]))
    again = text_features(utts, transcripts, BatchCountingEncoder(), Cache("features", root=tmp_path))
    assert again.computed == 0 and again.cached == 5


def test_a_failing_batch_is_retried_text_by_text(tmp_path, monkeypatch):
    monkeypatch.setattr(features, "TEXT_BATCH", 8)
    utts, transcripts = _utts(["fine words", "boom here", "more fine words", "kaboom", "kaboom"])
    utts.append(Utterance(id="silent", audio=None, label="sad", speaker="s"))  # no transcript
    enc = BatchCountingEncoder()
    fs = text_features(utts, transcripts, enc, Cache("features", root=tmp_path))
    assert sorted(fs.features) == ["u0", "u2"]
    assert "cannot featurize 'boom here'" in fs.errors["u1"] and "no transcript" in fs.errors["silent"]
    for uid in ("u3", "u4"):  # the same text twice: computed once, each failure names its own utterance
        assert f"failed on the transcript of {uid!r}: ValueError: kaboom" in fs.errors[uid]
    assert len(enc.batches) == 1 and sorted(enc.singles) == sorted(set(transcripts.values()))


def test_default_featurize_batch_loops_over_featurize():
    enc = HashBagEncoder()
    texts = ["one", "two words"]
    assert [t.tolist() for t in enc.featurize_batch(texts)] == [enc.featurize(t).tolist() for t in texts]


# ---------------------------------------------------------------------- ASR-style noisy copies of transcripts
def test_noisy_transcript_copies_are_seeded_per_clip_and_copy():
    from fusion.augment import TEXT_STREAM, AugmentConfig, copy_rng
    from fusion.features import noisy_transcript_copies
    from fusion.text_noise import SoundAlikeVocabulary, asr_noise

    texts = ["how dare the landlord take my laptop", "really my sister kept the letter",
             "i am happy our neighbour liked the bicycle", "we moved the trip to tuesday"]
    utts, transcripts = _utts(texts)
    del transcripts["u3"]  # no transcript: no copy
    aug = AugmentConfig(text_copies=2, text_wer=0.5, seed=4)
    copies = noisy_transcript_copies(utts, transcripts, aug)
    assert sorted(copies) == [(f"u{i}", c) for i in range(3) for c in range(2)]
    vocabulary = SoundAlikeVocabulary(texts[:3])  # the copied clips' transcripts
    for (uid, c), text in copies.items():
        assert text == asr_noise(transcripts[uid], copy_rng(4, uid, c, stream=TEXT_STREAM), aug.text_noise, vocabulary)
    assert copies == noisy_transcript_copies(list(reversed(utts)), transcripts, aug)  # order-free
    assert any(copies[u, 0] != copies[u, 1] for u in ("u0", "u1", "u2"))
    assert any(copies[u, 0] != transcripts[u] for u in ("u0", "u1", "u2"))
    assert noisy_transcript_copies(utts, transcripts, AugmentConfig()) == {}  # off: no copies


def test_augmented_text_features_are_the_noisy_texts_features_cached_by_text(tmp_path):
    from fusion.features import augmented_text_features

    encoder, cache = BatchCountingEncoder(), Cache("features", root=tmp_path)
    copies = {("u0", 0): "the land order took my lab", ("u0", 1): "boom", ("u1", 0): "the land order took my lab"}
    fs = augmented_text_features(copies, encoder, cache)
    assert set(fs.features) == {("u0", 0), ("u1", 0)} and list(fs.errors) == [("u0", 1)]
    assert torch.equal(fs.features["u1", 0], HashBagEncoder().featurize("the land order took my lab"))
    assert fs.computed == 1 and fs.cached == 1  # one distinct text that worked
    plain = text_features(*_utts(["the land order took my lab"]), encoder, cache)  # the same text as a transcript
    assert plain.cached == 1 and plain.computed == 0
