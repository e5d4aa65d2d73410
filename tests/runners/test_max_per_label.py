"""train.max_per_label: a seeded, listed subsample of the predefined train/dev splits."""

from collections import Counter

import pytest

from fusion.data import Utterance
from fusion.errors import ConfigError
from fusion.experiment import ExperimentConfig
from fusion.overrides import apply_sets
from fusion.runners import load_corpus
from fusion.runners.corpus import capped
from fusion.training.trainer import TrainConfig


def _corpus():
    utts = []
    for corpus in ("a", "b"):
        for split, n_neutral in (("train", 10), ("dev", 6), ("test", 9), (None, 7)):
            for label, n in (("neutral", n_neutral), ("sad", 2)):
                utts += [Utterance(id=f"{corpus}/{split}/{label}{i}", audio=None, label=label, speaker="s",
                                   split=split, extra={"corpus": corpus}) for i in range(n)]
    return utts


def test_caps_each_corpus_split_label_and_lists_the_rest():
    utts = _corpus()
    kept, dropped = capped(utts, 4, seed=0)
    counts = Counter((u.extra["corpus"], u.split, u.label) for u in kept)
    assert counts[("a", "train", "neutral")] == 4 and counts[("b", "dev", "neutral")] == 4
    assert counts[("a", "train", "sad")] == 2                         # below the cap: all kept
    assert counts[("a", "test", "neutral")] == 9 and counts[("b", None, "neutral")] == 7  # never capped
    assert len(kept) + len(dropped) == len(utts) and {i for i, _ in dropped}.isdisjoint(u.id for u in kept)
    assert all("max_per_label=4: one of 10 train utterances labelled 'neutral' in a" in r
               for i, r in dropped if i.startswith("a/train/"))
    assert [u.id for u in kept] == [u.id for u in utts if u in kept]  # corpus order kept


def test_the_draw_is_seeded():
    utts = _corpus()
    ids = lambda seed: [u.id for u in capped(utts, 3, seed=seed)[0]]  # noqa: E731
    assert ids(1) == ids(1) and ids(1) != ids(2)


@pytest.mark.parametrize("bad", [-3, True, 2.5, "10"])
def test_bad_values_are_refused(bad):
    with pytest.raises(ConfigError, match="max_per_label must be an integer >= 0"):
        TrainConfig(max_per_label=bad)


def test_set_round_trip_and_load_corpus(make_wav):
    cfg = ExperimentConfig.from_dict(apply_sets(ExperimentConfig(dataset="demo").to_dict(),
                                                ["train.max_per_label=2"]))
    assert cfg.train.max_per_label == 2
    assert ExperimentConfig.from_dict(cfg.to_dict()).train.max_per_label == 2
    rows = ["path,label,speaker,split"]
    for i in range(6):
        rows.append(f"{make_wav(f'h{i}.wav', duration=0.3, seed=i).name},happy,s{i % 2},train")
    for i in range(3):
        rows.append(f"{make_wav(f't{i}.wav', duration=0.3, seed=9 + i).name},happy,s3,test")
    rows.append(f"{make_wav('s0.wav', duration=0.3, seed=20).name},sad,s1,train")
    manifest = make_wav("h0.wav", duration=0.3, seed=0).parent / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    corpus = load_corpus(cfg.replace(dataset="manifest", data_dir=str(manifest)))
    assert Counter((u.split, u.label) for u in corpus) == {("train", "happy"): 2, ("test", "happy"): 3,
                                                           ("train", "sad"): 1}
    assert len(corpus.skipped) == 4 and all("max_per_label=2: one of 6 train" in r for _, r in corpus.skipped)
