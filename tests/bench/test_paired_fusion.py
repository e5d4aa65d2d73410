"""The pairing logic of bench/accuracy/paired_fusion.py on a tiny fake RAVDESS + MELD."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from bench.accuracy import paired_fusion as pf
from fusion.data import Utterance
from fusion.errors import DatasetError

MELD_COLUMNS = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID",
                "Season", "Episode", "StartTime", "EndTime"]
EMOTION_CODES = {"neutral": "01", "calm": "02", "happy": "03", "angry": "05"}


def utt(id_: str, label: str, speaker: str = "s") -> Utterance:
    return Utterance(id=id_, audio=None, label=label, speaker=speaker, transcript=f"text {id_}")


def test_deal_maps_labels_is_seeded_and_cycles_evenly():
    clips = [utt(f"{label}-{a}-{n}", label, speaker=a) for a in ("01", "02") for n in range(5)
             for label in ("happy", "angry")]
    pool = [utt(f"joy{n}", "joy") for n in range(3)] + [utt(f"anger{n}", "anger") for n in range(20)]
    dealt = pf.deal_partners(clips, pool, "dev", seed=0)
    assert set(dealt) == {c.id for c in clips}
    assert all(pf.LABEL_MAP[c.label] == dealt[c.id].label for c in clips)
    joy_uses = Counter(dealt[c.id].id for c in clips if c.label == "happy")
    assert len(joy_uses) == 3 and max(joy_uses.values()) - min(joy_uses.values()) <= 1  # 10 clips, 3 texts
    anger = [dealt[c.id].id for c in clips if c.label == "angry"]
    assert len(set(anger)) == len(anger)  # pool large enough: no reuse
    assert dealt == pf.deal_partners(list(reversed(clips)), list(reversed(pool)), "dev", seed=0)
    assert dealt != pf.deal_partners(clips, pool, "dev", seed=1)


def test_deal_needs_a_partner_of_every_emotion():
    with pytest.raises(DatasetError, match="no 'joy' utterance"):
        pf.deal_partners([utt("c", "happy")], [utt("m", "anger")], "train", seed=0)


@pytest.fixture
def corpus_dir(tmp_path, make_wav) -> Path:
    for actor in ("01", "02", "03"):
        for emotion, code in EMOTION_CODES.items():
            for statement in ("01", "02"):
                make_wav(f"data/ravdess/Actor_{actor}/03-01-{code}-01-{statement}-01-{actor}.wav", duration=0.5)
    meld = tmp_path / "data" / "meld"
    meld.mkdir()
    for split, n in (("train", 8), ("dev", 3)):
        with open(meld / f"{split}_sent_emo.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(MELD_COLUMNS)
            for i, emotion in enumerate(e for e in ("neutral", "joy", "anger", "sadness") for _ in range(n)):
                writer.writerow([i, f"{split} {emotion} {i}", "Ross", emotion, "neutral", i, 0, 1, 1, "0", "1"])
    return tmp_path / "data"


def test_recipe_gives_test_actors_dev_texts_and_others_train_texts(corpus_dir):
    utts = pf.prepare_paired(corpus_dir, test_actors=["02"], seed=0)
    assert {u.label for u in utts} == {"neutral", "happy", "angry"} and len(utts) == 18
    assert sorted(reason for _, reason in utts.skipped) == ["RAVDESS 'calm' has no MELD emotion to pair with"] * 6
    for u in utts:
        split = "dev" if u.speaker == "02" else "train"
        assert u.extra["meld_split"] == split and u.extra["meld_id"].startswith(f"{split}_")
        assert u.transcript.startswith(f"{split} {pf.LABEL_MAP[u.label]} ")
        assert u.audio.name.startswith(u.id) and u.extra["ravdess_sentence"].endswith("by the door")
    # a clip's train partner does not depend on the fold; no MELD text crosses train/test
    other = {u.id: u for u in pf.prepare_paired(corpus_dir, test_actors="03", seed=0)}
    assert all(other[u.id].transcript == u.transcript for u in utts if u.speaker == "01")
    train_texts = {u.transcript for u in utts if u.speaker != "02"}
    assert not train_texts & {u.transcript for u in utts if u.speaker == "02"}


def test_recipe_registered_in_process_and_validates_actors(corpus_dir):
    from fusion.plugins import unregister_plugin
    from fusion.recipes import dataset_protocol, prepare_dataset

    pf.register()
    try:
        pf.register()  # idempotent
        utts = prepare_dataset(pf.DATASET, corpus_dir, test_actors=["01"])
        assert Counter(u.extra["meld_split"] for u in utts) == {"dev": 6, "train": 12}
        assert dataset_protocol(pf.DATASET) == "speaker"
        with pytest.raises(DatasetError, match="unknown test actor.*valid actors: 01, 02, 03"):
            prepare_dataset(pf.DATASET, corpus_dir, test_actors=["09"])
        with pytest.raises(DatasetError, match="needs a 'ravdess' and a 'meld' folder"):
            prepare_dataset(pf.DATASET, corpus_dir / "ravdess")
    finally:
        unregister_plugin(pf.DATASET)
