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
    utts, transcripts = _utts(["fine words", "boom here", "more fine words"])
    utts.append(Utterance(id="silent", audio=None, label="sad", speaker="s"))  # no transcript
    enc = BatchCountingEncoder()
    fs = text_features(utts, transcripts, enc, Cache("features", root=tmp_path))
    assert sorted(fs.features) == ["u0", "u2"]
    assert "boom here" in fs.errors["u1"] and "no transcript" in fs.errors["silent"]
    assert len(enc.batches) == 1 and sorted(enc.singles) == sorted(transcripts.values())


def test_default_featurize_batch_loops_over_featurize():
    enc = HashBagEncoder()
    texts = ["one", "two words"]
    assert [t.tolist() for t in enc.featurize_batch(texts)] == [enc.featurize(t).tolist() for t in texts]
