"""fusion.data: manifests (JSONL round trip) and speaker-/session-independent folds."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from fusion.data import (
    Utterance,
    folds_from_groups,
    make_folds,
    manifest_hash,
    read_manifest,
    summarize,
    train_val_split,
    write_manifest,
)
from fusion.errors import DatasetError


def corpus(speaker_sizes: dict[str, int], labels=("angry", "happy", "sad"), **fields) -> list[Utterance]:
    out = []
    for speaker, n in speaker_sizes.items():
        for i in range(n):
            out.append(Utterance(id=f"{speaker}_{i}", audio=None, label=labels[i % len(labels)],
                                 speaker=speaker, **fields))
    return out


def ravdess_like(actors: int = 8, per_actor: int = 6) -> list[Utterance]:
    return corpus({f"{a:02d}": per_actor for a in range(1, actors + 1)})


def speakers_at(utts, indices) -> set[str]:
    return {utts[i].speaker for i in indices}


# ----------------------------------------------------------------------------- manifests


def test_manifest_round_trip_with_relative_paths(tmp_path):
    audio_dir = tmp_path / "corpus" / "Actor_01"
    audio_dir.mkdir(parents=True)
    utts = [
        Utterance("a", audio_dir / "a.wav", "happy", "01", transcript="Kids are talking", duration=3.2,
                  extra={"intensity": "strong"}),
        Utterance("b", None, "sad", "02", split="dev", session="Ses01", transcript=""),
        Utterance("c", audio_dir / "sub dir" / "ç ü.flac", "neutral", "01"),
    ]
    manifest = write_manifest(utts, tmp_path / "corpus" / "manifest.jsonl")
    rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["audio"] == str(Path("Actor_01") / "a.wav")  # relative to the manifest's folder
    assert "audio" not in rows[1] and "split" not in rows[0] and rows[0]["extra"] == {"intensity": "strong"}
    back = read_manifest(manifest)
    assert back == utts  # dataclass equality (extra excluded) ...
    assert [u.extra for u in back] == [u.extra for u in utts]  # ... and extra survives too
    assert back[0].audio.is_absolute() and back[0].audio.resolve() == (audio_dir / "a.wav").resolve()
    moved = tmp_path / "elsewhere"  # a manifest moved with its corpus still resolves
    (tmp_path / "corpus").rename(moved)
    assert read_manifest(moved / "manifest.jsonl")[2].audio == moved / "Actor_01" / "sub dir" / "ç ü.flac"
    assert manifest_hash(back) == manifest_hash(utts)


def test_manifest_unknown_columns_go_to_extra_and_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"id": 7, "label": "sad", "speaker": 3, "dialogue": "d1"}\n\n'
                    '{"id": "8", "label": "joy", "speaker": "3", "audio": ""}\n')
    first, second = read_manifest(path)
    assert (first.id, first.speaker, first.extra) == ("7", "3", {"dialogue": "d1"})
    assert second.audio is None


def test_manifest_errors_name_the_problem(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        read_manifest(tmp_path / "missing.jsonl")
    path = tmp_path / "dupes.jsonl"
    write_manifest(corpus({"s1": 2}) + corpus({"s1": 1}), path)
    with pytest.raises(DatasetError, match=r"dupes.jsonl: duplicate utterance ids: s1_0"):
        read_manifest(path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "label": "x", "speaker": "s"}\n{not json\n')
    with pytest.raises(DatasetError, match=r"bad.jsonl:2: not valid JSON"):
        read_manifest(bad)
    nolabel = tmp_path / "nolabel.jsonl"
    nolabel.write_text('{"id": "a", "speaker": "s"}\n')
    with pytest.raises(DatasetError, match="no 'label'"):
        read_manifest(nolabel)


def test_manifest_hash_changes_with_content():
    utts = ravdess_like(2, 3)
    changed = list(utts)
    changed[0] = Utterance(utts[0].id, None, "calm", utts[0].speaker)
    assert manifest_hash(utts) == manifest_hash(list(reversed(utts)))
    assert manifest_hash(changed) != manifest_hash(utts)


def test_summarize_counts():
    summary = summarize(corpus({"a": 3, "b": 1}))
    assert summary == {"utterances": 4, "labels": {"angry": 2, "happy": 1, "sad": 1},
                       "speakers": {"a": 3, "b": 1}}


# ----------------------------------------------------------------------------- speaker folds


def check_group_disjoint(utts, folds, group=lambda u: u.speaker):
    tested = Counter()
    for fold in folds:
        parts = [{group(utts[i]) for i in part} for part in (fold.train, fold.val, fold.test)]
        train, val, test = parts
        assert train and val and test
        assert not (train & val) and not (train & test) and not (val & test)
        assert sorted(fold.train + fold.val + fold.test) == list(range(len(utts)))  # a partition
        assert set(fold.test_groups) == test
        tested.update(test)
    return tested


@pytest.mark.parametrize("sizes", [
    {f"s{i}": 10 for i in range(10)},
    {f"s{i}": n for i, n in enumerate([40, 5, 30, 12, 12, 7, 25, 3, 18, 9, 11])},
])
@pytest.mark.parametrize("k", [2, 3, 5])
def test_speaker_folds_are_disjoint_complete_and_balanced(sizes, k):
    utts = corpus(sizes)
    folds = make_folds(utts, k=k, seed=3)
    assert [f.index for f in folds] == list(range(k))
    tested = check_group_disjoint(utts, folds)
    assert tested == Counter(set(sizes))  # every speaker tested exactly once
    test_sizes = [len(f.test) for f in folds]
    assert max(test_sizes) - min(test_sizes) <= max(sizes.values())  # greedy balance bound
    if len(set(sizes.values())) == 1:
        assert max(test_sizes) - min(test_sizes) <= next(iter(sizes.values()))
        assert max(len(f.test_groups) for f in folds) - min(len(f.test_groups) for f in folds) <= 1


def test_folds_are_deterministic_for_a_seed():
    utts = corpus({f"s{i}": 5 + i % 3 for i in range(12)})
    assert make_folds(utts, k=4, seed=7) == make_folds(utts, k=4, seed=7)
    assert make_folds(list(utts), k=4, seed=7)[0].to_dict() == make_folds(utts, k=4, seed=7)[0].to_dict()
    seeds = {tuple(f.test_groups for f in make_folds(utts, k=4, seed=s)) for s in range(6)}
    assert len(seeds) > 1  # the seed matters


def test_validation_is_about_val_fraction_of_training_speakers():
    utts = ravdess_like(actors=20, per_actor=4)
    for fold in make_folds(utts, k=4, val_fraction=0.2):
        n_val = len(speakers_at(utts, fold.val))
        n_train = len(speakers_at(utts, fold.train))
        assert n_val == round((n_val + n_train) * 0.2)


def test_fold_errors():
    utts = ravdess_like(actors=4)
    with pytest.raises(DatasetError, match=r"k=5 distinct speakers, found 4"):
        make_folds(utts, k=5)
    with pytest.raises(DatasetError, match="at least 2 folds"):
        make_folds(utts, k=1)
    with pytest.raises(DatasetError, match="valid choices: speaker, session, predefined"):
        make_folds(utts, protocol="dialogue")
    with pytest.raises(DatasetError, match="empty"):
        make_folds([], k=2)
    with pytest.raises(DatasetError, match=r"need at least 2 training speakers.*found 1"):
        make_folds(ravdess_like(actors=2), k=2)  # one training speaker: no disjoint validation


def test_folds_from_explicit_actor_groups():
    utts = ravdess_like(actors=8)
    groups = [["01", "02"], ["03", "04"], ["05", "06"], ["07", "08"]]
    folds = folds_from_groups(utts, groups, seed=1)
    assert [list(f.test_groups) for f in folds] == groups
    assert check_group_disjoint(utts, folds) == Counter(f"{a:02d}" for a in range(1, 9))
    assert folds == folds_from_groups(utts, groups, seed=1)
    with pytest.raises(DatasetError, match=r"fold 1: unknown speaker\(s\) \['99'\]"):
        folds_from_groups(utts, [["01"], ["99"]])


# ----------------------------------------------------------------------------- other protocols


def iemocap_like():
    utts = []
    for s in range(1, 6):
        for gender in "FM":
            for i in range(4):
                speaker = f"Ses0{s}{gender}"
                utts.append(Utterance(f"{speaker}_{i}", None, ["ang", "hap", "neu", "sad"][i], speaker,
                                      session=f"Ses0{s}"))
    return utts


def test_session_protocol_keeps_sessions_together():
    utts = iemocap_like()
    folds = make_folds(utts, k=5, protocol="session")
    tested = check_group_disjoint(utts, folds, group=lambda u: u.session)
    assert tested == Counter(f"Ses0{s}" for s in range(1, 6))
    assert all(len(f.test) == 8 for f in folds)
    with pytest.raises(DatasetError, match="needs a session"):
        make_folds(ravdess_like(), k=2, protocol="session")


def meld_like(splits=("train", "dev", "test")):
    utts = []
    for split in splits:
        for d in range(10 if split == "train" else 3):
            for u in range(3):
                utts.append(Utterance(f"{split}_dia{d}_utt{u}", None, "neutral", f"speaker{u}", split=split,
                                      extra={"dialogue": f"{split}_dia{d}"}))
    return utts


def test_predefined_protocol_with_train_dev_test():
    utts = meld_like()
    (fold,) = make_folds(utts, protocol="predefined")
    assert {utts[i].split for i in fold.train} == {"train"}
    assert {utts[i].split for i in fold.val} == {"dev"}
    assert {utts[i].split for i in fold.test} == {"test"}
    assert fold.test_groups == ("test",)
    assert train_val_split(utts, protocol="predefined") == (fold.train, fold.val)


def test_predefined_protocol_with_train_dev_only_carves_validation_by_dialogue():
    utts = meld_like(("train", "dev"))
    (fold,) = make_folds(utts, protocol="predefined", val_fraction=0.2)
    assert {utts[i].split for i in fold.test} == {"dev"} and fold.test_groups == ("dev",)
    assert {utts[i].split for i in fold.train + fold.val} == {"train"}
    train_dialogues = {utts[i].extra["dialogue"] for i in fold.train}
    val_dialogues = {utts[i].extra["dialogue"] for i in fold.val}
    assert not train_dialogues & val_dialogues and len(val_dialogues) == 2  # 20 % of 10 dialogues
    assert len(fold.train) + len(fold.val) == 30
    assert make_folds(utts, protocol="predefined", val_fraction=0.2) == [fold]  # deterministic


def test_predefined_protocol_errors():
    with pytest.raises(DatasetError, match="needs a 'train' split"):
        make_folds(meld_like(("dev", "test")), protocol="predefined")
    with pytest.raises(DatasetError, match="'dev' or 'test'"):
        make_folds(meld_like(("train",)), protocol="predefined")


def test_train_val_split_is_speaker_disjoint_and_covers_everything():
    utts = ravdess_like(actors=10)
    train, val = train_val_split(utts, seed=2, val_fraction=0.2)
    assert sorted(train + val) == list(range(len(utts)))
    assert not speakers_at(utts, train) & speakers_at(utts, val)
    assert len(speakers_at(utts, val)) == 2
    assert train_val_split(utts, seed=2, val_fraction=0.2) == (train, val)
    train_s, val_s = train_val_split(iemocap_like(), protocol="session")
    sessions = iemocap_like()
    assert not {sessions[i].session for i in train_s} & {sessions[i].session for i in val_s}
