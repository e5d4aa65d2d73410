"""The pairing recipe of the paired benchmark (bench/accuracy/paired_recipe.py) on a tiny fake RAVDESS + MELD."""

from __future__ import annotations

import csv
from types import SimpleNamespace
from collections import Counter, defaultdict
from pathlib import Path

import pytest

import paired_recipe as pr
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
    dealt = {i: texts[0] for i, texts in pr.deal_partners(clips, pool, "dev", seed=0).items()}
    assert set(dealt) == {c.id for c in clips}
    assert all(pr.LABEL_MAP[c.label] == dealt[c.id].label for c in clips)
    joy_uses = Counter(dealt[c.id].id for c in clips if c.label == "happy")
    assert len(joy_uses) == 3 and max(joy_uses.values()) - min(joy_uses.values()) <= 1  # 10 clips, 3 texts
    anger = [dealt[c.id].id for c in clips if c.label == "angry"]
    assert len(set(anger)) == len(anger)  # pool large enough: no reuse
    assert pr.deal_partners(clips, pool, "dev", seed=0) == pr.deal_partners(
        list(reversed(clips)), list(reversed(pool)), "dev", seed=0)
    assert pr.deal_partners(clips, pool, "dev", seed=0) != pr.deal_partners(clips, pool, "dev", seed=1)


def test_deal_several_texts_per_clip_keeps_the_first_and_spreads_the_rest():
    clips = [utt(f"angry-{a}-{n}", "angry", speaker=a) for a in ("01", "02") for n in range(5)]
    pool = [utt(f"anger{n}", "anger") for n in range(25)]
    one = pr.deal_partners(clips, pool, "train", seed=0)
    two = pr.deal_partners(clips, pool, "train", seed=0, per_clip=2)
    assert all(len(texts) == 2 and len({t.id for t in texts}) == 2 for texts in two.values())
    uses = Counter(t.id for texts in two.values() for t in texts)
    assert len(uses) == 20 and max(uses.values()) == 1  # 10 clips x 2 texts from a pool of 25: no reuse
    three = pr.deal_partners(clips, pool, "train", seed=0, per_clip=3)  # 30 > 25: cycles, evenly
    uses = Counter(t.id for texts in three.values() for t in texts)
    assert len(uses) == 25 and max(uses.values()) - min(uses.values()) <= 1
    assert all(len({t.id for t in texts}) == 3 for texts in three.values())
    assert all(two[c][0] == one[c][0] == three[c][0] for c in one)  # more texts only add texts


def test_deal_needs_a_partner_of_every_emotion():
    with pytest.raises(DatasetError, match="no 'joy' utterance"):
        pr.deal_partners([utt("c", "happy")], [utt("m", "anger")], "train", seed=0)


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
    utts = pr.prepare_paired(corpus_dir, test_actors=["02"], seed=0)
    assert {u.label for u in utts} == {"neutral", "happy", "angry"} and len(utts) == 18
    assert sorted(reason for _, reason in utts.skipped) == ["RAVDESS 'calm' has no MELD emotion to pair with"] * 6
    for u in utts:
        split = "dev" if u.speaker == "02" else "train"
        assert u.extra["meld_split"] == split and u.extra["meld_id"].startswith(f"{split}_")
        assert u.transcript.startswith(f"{split} {pr.LABEL_MAP[u.label]} ")
        assert u.audio.name.startswith(u.id) and u.extra["ravdess_sentence"].endswith("by the door")
    # a clip's train partner does not depend on the fold; no MELD text crosses train/test
    other = {u.id: u for u in pr.prepare_paired(corpus_dir, test_actors="03", seed=0)}
    assert all(other[u.id].transcript == u.transcript for u in utts if u.speaker == "01")
    train_texts = {u.transcript for u in utts if u.speaker != "02"}
    assert not train_texts & {u.transcript for u in utts if u.speaker == "02"}


def test_recipe_train_texts_lists_training_clips_once_per_text(corpus_dir):
    one = {u.id: u for u in pr.prepare_paired(corpus_dir, test_actors=["02"], seed=0)}
    utts = pr.prepare_paired(corpus_dir, test_actors=["02"], seed=0, train_texts=3)
    test = [u for u in utts if u.speaker == "02"]
    assert [u.id for u in test] == [i for i, u in one.items() if u.speaker == "02"]  # test clips: one dev text
    assert all(u.transcript == one[u.id].transcript for u in test)
    train = [u for u in utts if u.speaker != "02"]
    assert len(train) == 3 * 12 and len({u.id for u in utts}) == len(utts)
    by_clip = defaultdict(list)
    for u in train:
        by_clip[u.audio].append(u)
        assert u.extra["meld_split"] == "train" and u.transcript.startswith(f"train {pr.LABEL_MAP[u.label]} ")
    for copies in by_clip.values():
        assert len(copies) == 3 and len({u.transcript for u in copies}) == 3 and len({u.label for u in copies}) == 1
        assert copies[0].id in one and copies[0].transcript == one[copies[0].id].transcript
        assert [u.id for u in copies[1:]] == [f"{copies[0].id}+t1", f"{copies[0].id}+t2"]
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(DatasetError, match="train_texts must be a whole number >= 1"):
            pr.prepare_paired(corpus_dir, test_actors=["02"], train_texts=bad)


def test_recipe_registered_in_process_and_validates_actors(corpus_dir):
    from fusion.plugins import unregister_plugin
    from fusion.recipes import dataset_protocol, prepare_dataset

    pr.register()
    try:
        pr.register()  # idempotent
        utts = prepare_dataset(pr.DATASET, corpus_dir, test_actors=["01"])
        assert Counter(u.extra["meld_split"] for u in utts) == {"dev": 6, "train": 12}
        assert dataset_protocol(pr.DATASET) == "speaker"
        with pytest.raises(DatasetError, match="unknown test actor.*valid actors: 01, 02, 03"):
            prepare_dataset(pr.DATASET, corpus_dir, test_actors=["09"])
        with pytest.raises(DatasetError, match="needs a 'ravdess' and a 'meld' folder"):
            prepare_dataset(pr.DATASET, corpus_dir / "ravdess")
    finally:
        unregister_plugin(pr.DATASET)


def test_check_fold_accepts_exactly_the_dev_text_clips_of_the_test_actors(corpus_dir):
    utts = list(pr.prepare_paired(corpus_dir, test_actors=["02"], seed=0))
    dev = [u for u in utts if u.extra["meld_split"] == "dev"]
    records = [SimpleNamespace(ids=[u.id for u in dev])]
    check = pr.check_fold(utts, records, ("02",))
    assert check["n_test"] == len(dev) == 6 and check["n_train_val"] == 12 and check["test_actors"] == ["02"]
    assert check["test_texts_seen_verbatim_in_training_pairs"] == 0  # MELD dev and train texts differ here
    with pytest.raises(RuntimeError, match="not exactly the MELD-dev-text clips"):
        pr.check_fold(utts, [SimpleNamespace(ids=[u.id for u in dev[1:]])], ("02",))  # a dev clip untested
    with pytest.raises(RuntimeError, match="not exactly the MELD-dev-text clips"):
        pr.check_fold(utts, records, ("01",))  # dev texts on clips that are not the fold's test actors'
