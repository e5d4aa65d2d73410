"""RAVDESS recipe: a fake corpus with the real naming scheme, and the real files in ../shared."""

from collections import Counter

import pytest

from fusion.audio import info
from fusion.errors import DatasetError
from fusion_corpora.ravdess import prepare_ravdess
from tests.conftest import require_shared


@pytest.fixture
def fake_ravdess(tmp_path, make_wav):
    make_wav("ravdess/Actor_01/03-01-01-01-01-01-01.wav", duration=0.3)
    make_wav("ravdess/Actor_01/03-01-05-02-02-02-01.wav", duration=0.5, sr=48000, channels=2)
    make_wav("ravdess/Actor_02/03-01-08-01-02-01-02.flac", duration=0.4)
    make_wav("ravdess/Actor_02/03-02-03-01-01-01-02.wav", duration=0.2)   # song
    make_wav("ravdess/Actor_02/03-01-09-01-01-01-02.wav", duration=0.2)   # no emotion 09
    make_wav("ravdess/Actor_02/take2.wav", duration=0.2)                  # name does not parse
    actor = tmp_path / "ravdess" / "Actor_02"
    (actor / "03-01-03-01-01-01-02.wav").write_bytes(b"not audio at all")  # corrupt header
    (actor / "notes.txt").write_text("x")
    (actor / ".DS_Store").write_bytes(b"\0")                              # hidden: ignored
    return tmp_path / "ravdess"


def test_fake_corpus_labels_speakers_transcripts(fake_ravdess):
    corpus = prepare_ravdess(fake_ravdess)
    by_id = {u.id: u for u in corpus}
    assert sorted(by_id) == ["03-01-01-01-01-01-01", "03-01-05-02-02-02-01", "03-01-08-01-02-01-02"]
    neutral, angry, surprised = (by_id[k] for k in sorted(by_id))
    assert (neutral.label, angry.label, surprised.label) == ("neutral", "angry", "surprised")
    assert (neutral.speaker, angry.speaker, surprised.speaker) == ("01", "01", "02")
    assert neutral.transcript == "Kids are talking by the door"
    assert angry.transcript == "Dogs are sitting by the door"
    assert angry.extra == {"intensity": "strong", "statement": "02", "repetition": 2, "gender": "male"}
    assert surprised.extra["gender"] == "female"
    assert surprised.audio.suffix == ".flac"
    assert neutral.duration == pytest.approx(0.3) and angry.duration == pytest.approx(0.5)


def test_fake_corpus_skips_with_reasons(fake_ravdess):
    skipped = dict((p.rsplit("/", 1)[-1], r) for p, r in prepare_ravdess(fake_ravdess).skipped)
    assert set(skipped) == {"03-02-03-01-01-01-02.wav", "03-01-09-01-01-01-02.wav", "take2.wav",
                            "03-01-03-01-01-01-02.wav", "notes.txt"}
    assert "song" in skipped["03-02-03-01-01-01-02.wav"]
    assert "unknown emotion code 09" in skipped["03-01-09-01-01-01-02.wav"]
    assert "does not match" in skipped["take2.wav"]
    assert "not a readable audio file" in skipped["03-01-03-01-01-01-02.wav"]


def test_actor_folders_one_level_down_and_single_actor(fake_ravdess, tmp_path):
    assert len(prepare_ravdess(tmp_path)) == 3                       # ravdess/Actor_XX below data_dir
    assert {u.speaker for u in prepare_ravdess(fake_ravdess / "Actor_02")} == {"02"}


def test_wrong_layout_says_what_was_expected(tmp_path):
    (tmp_path / "clips").mkdir()
    with pytest.raises(DatasetError, match=r"expected Actor_XX folders with 03-01-EE-II-SS-RR-AA\.wav\|\.flac"):
        prepare_ravdess(tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        prepare_ravdess(tmp_path / "missing")


@pytest.mark.real
def test_real_ravdess_flac_counts():
    corpus = prepare_ravdess(require_shared("data", "ravdess"))
    assert len(corpus) == 960 and corpus.skipped == []
    assert sorted({u.speaker for u in corpus}) == [f"{n:02d}" for n in range(1, 17)]
    labels = Counter(u.label for u in corpus)
    assert labels == {"neutral": 64, **{k: 128 for k in ("calm", "happy", "sad", "angry", "fearful",
                                                           "disgust", "surprised")}}
    assert all(2.9 <= u.duration <= 5.4 for u in corpus)
    assert {u.transcript for u in corpus} == {"Kids are talking by the door", "Dogs are sitting by the door"}
    assert all(u.audio.suffix == ".flac" and u.id == u.audio.stem for u in corpus)


@pytest.mark.real
def test_real_ravdess_original_stereo_48k():
    corpus = prepare_ravdess(require_shared("data", "ravdess-original"))
    assert len(corpus) == 5 and corpus.skipped == []
    headers = {u.id: info(u.audio) for u in corpus}
    stereo = {k for k, h in headers.items() if h.channels == 2}
    assert stereo == {"03-01-02-01-01-02-01", "03-01-08-01-02-02-01", "03-01-02-01-02-02-05"}
    assert all(h.sample_rate == 48000 for h in headers.values())
    for u in corpus:
        assert u.duration == pytest.approx(headers[u.id].frames / 48000)
        assert 2.5 < u.duration < 6
    assert {u.speaker for u in corpus} == {"01", "05"}
