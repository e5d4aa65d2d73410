"""MELD recipe: fake CSVs with the real columns and quirks, and the real CSVs in ../shared."""

from collections import Counter

import pytest

from fusion.errors import DatasetError
from fusion.recipes import dataset_protocol
from fusion_corpora.meld import prepare_meld
from tests.conftest import require_shared

HEADER = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"


def _row(n, text, speaker, emotion, dia, utt, sentiment="neutral"):
    return f'{n},{text},{speaker},{emotion},{sentiment},{dia},{utt},8,21,"00:16:16,059","00:16:21,731"\n'


@pytest.fixture
def fake_meld(tmp_path):
    root = tmp_path / "meld"
    root.mkdir()
    train = HEADER + "".join([
        _row(1, "also I was the point person on my company\u2019s transition", "Chandler", "neutral", 0, 0),
        _row(2, '"Oh, well, yes, no, I mean"', "Ross", "Surprise", 0, 1, "positive"),
        _row(3, '"A line\nthat goes on"', "Monica", "joy", 1, 0, "positive"),
        _row(4, "Who?", "Joey", "confused", 1, 1),             # not a MELD emotion
        _row(5, "Huh.", "Joey", "anger", "x", 2),              # Dialogue_ID not an integer
        "6,short row,Rachel,fear\n",
    ])
    (root / "train_sent_emo.csv").write_bytes(train.encode("cp1252"))  # ’ -> byte 0x92: not UTF-8
    dev = HEADER + _row(1, "The one with the “quotes” – and ’", "Phoebe", "sadness", 0, 0, "negative")
    (root / "dev_sent_emo.csv").write_text(dev, encoding="utf-8")
    return root


def test_text_only_rows(fake_meld):
    with pytest.raises(UnicodeDecodeError):  # the train file really needs the cp1252 fallback
        (fake_meld / "train_sent_emo.csv").read_bytes().decode("utf-8")
    corpus = prepare_meld(fake_meld)
    by_id = {u.id: u for u in corpus}
    assert sorted(by_id) == ["dev_dia0_utt0", "train_dia0_utt0", "train_dia0_utt1", "train_dia1_utt0"]
    first = by_id["train_dia0_utt0"]
    assert first.transcript == "also I was the point person on my company\u2019s transition"  # cp1252 0x92
    assert (first.label, first.speaker, first.split, first.audio, first.duration) == (
        "neutral", "Chandler", "train", None, None)
    assert first.extra["dialogue"] == "train_dia0" and first.extra["utterance"] == 0
    assert first.extra["start"] == "00:16:16,059"
    assert by_id["train_dia0_utt1"].transcript == "Oh, well, yes, no, I mean"        # quoted commas
    assert by_id["train_dia0_utt1"].label == "surprise"
    assert by_id["train_dia0_utt1"].extra["sentiment"] == "positive"
    assert by_id["train_dia1_utt0"].transcript == "A line\nthat goes on"             # quoted newline
    dev = by_id["dev_dia0_utt0"]
    assert dev.transcript == "The one with the “quotes” – and ’"                     # kept as written
    assert (dev.split, dev.extra["dialogue"]) == ("dev", "dev_dia0")


def test_bad_rows_are_skipped_with_reasons(fake_meld):
    reasons = [r for _, r in prepare_meld(fake_meld).skipped]
    assert len(reasons) == 3
    assert any("unknown emotion 'confused'" in r for r in reasons)
    assert any("not integers" in r for r in reasons)
    assert any("row has 4 fields" in r for r in reasons)


def test_latin1_fallback_when_cp1252_fails(tmp_path):
    (tmp_path / "train_sent_emo.csv").write_bytes((HEADER + _row(1, "a\x81b", "Ross", "joy", 0, 0)).encode("latin-1"))
    (tmp_path / "dev_sent_emo.csv").write_text(HEADER + _row(1, "ok", "Ross", "joy", 0, 0))
    assert {u.id: u.transcript for u in prepare_meld(tmp_path)}["train_dia0_utt0"] == "a\x81b"


def test_clip_folders(fake_meld, make_wav):
    make_wav("meld/train_splits/dia0_utt0.wav", duration=0.4)
    (fake_meld / "train_splits" / "dia0_utt1.mp4").write_bytes(b"\0\0\0\x18ftypmp42")
    corpus = prepare_meld(fake_meld)
    by_id = {u.id: u for u in corpus}
    assert by_id["train_dia0_utt0"].audio.name == "dia0_utt0.wav"
    assert by_id["train_dia0_utt0"].duration == pytest.approx(0.4)
    mp4 = by_id["train_dia0_utt1"]
    assert mp4.audio.name == "dia0_utt1.mp4" and mp4.duration is None   # kept; decoding needs ffmpeg
    assert any("no clip dia1_utt0" in r for _, r in corpus.skipped)     # train has clips, this one not
    assert by_id["dev_dia0_utt0"].audio is None                          # dev has no clip folder
    text_only = prepare_meld(fake_meld, with_audio=False)
    assert all(u.audio is None for u in text_only) and len(text_only) == 4
    with pytest.raises(DatasetError, match="no clip folder for split 'dev'.*dev_splits_complete"):
        prepare_meld(fake_meld, with_audio=True)


def test_layout_errors(tmp_path):
    (tmp_path / "train_sent_emo.csv").write_text(HEADER)
    with pytest.raises(DatasetError, match="missing dev_sent_emo.csv"):
        prepare_meld(tmp_path)
    (tmp_path / "dev_sent_emo.csv").write_text("Utterance,Speaker\nhi,Ross\n")
    with pytest.raises(DatasetError, match="no column.*Emotion"):
        prepare_meld(tmp_path)


@pytest.mark.real
def test_real_meld_counts():
    corpus = prepare_meld(require_shared("data", "meld"))
    assert corpus.skipped == []
    splits = Counter(u.split for u in corpus)
    assert splits == {"train": 9989, "dev": 1109}
    train = Counter(u.label for u in corpus if u.split == "train")
    assert train == {"neutral": 4710, "joy": 1743, "surprise": 1205, "anger": 1109, "sadness": 683,
                     "disgust": 271, "fear": 268}
    by_id = {u.id: u for u in corpus}
    first = by_id["train_dia0_utt0"]
    assert first.speaker == "Chandler" and first.transcript.startswith("also I was the point person")
    assert "\u2019" in first.transcript                        # the file's own quote, not "cleaned"
    assert all(u.audio is None for u in corpus)
    assert len({u.extra["dialogue"] for u in corpus}) == len({(u.split, u.extra["dialogue"]) for u in corpus})
    assert dataset_protocol("meld") == "predefined"
