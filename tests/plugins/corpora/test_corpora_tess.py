"""TESS recipe on a fake corpus with the real naming scheme and its quirks."""

from collections import Counter

import pytest

from fusion.errors import DatasetError
from fusion_corpora.tess import prepare_tess


@pytest.fixture
def fake_tess(tmp_path, make_wav):
    root = "tess/TESS Toronto emotional speech set data"
    for folder, name in [
        ("OAF_angry", "OAF_back_angry"), ("OAF_Fear", "OAF_back_fear"), ("OAF_Pleasant_surprise", "OAF_back_ps"),
        ("OAF_Sad", "OAF_back_sad"), ("YAF_disgust", "YAF_back_disgust"), ("YAF_happy", "YAF_back_happy"),
        ("YAF_pleasant_surprised", "YAF_back_ps"), ("YAF_neutral", "YAF_back_neutral"),
        ("YAF_fear", "YAF_germ_neutral"),          # file name says neutral, folder fear
        ("OAF_neutral", "OA_bite_neutral"),        # speaker token misspelt
        ("YAF_sad", "YAF_pleasant_surprised"),     # neither word nor ... -> emotion from name, no word
        ("YAF_angry", "YAF_date"),                 # no emotion token: folder decides
        ("YAF_angry", "YAF_date_bored"),           # unknown last token: folder decides, word keeps it
        ("YAF_misc", "YAF_dime"),                  # no emotion in file or folder name
    ]:
        make_wav(f"{root}/{folder}/{name}.wav", duration=0.2)
    make_wav(f"{root}/TESS copy/OAF_angry/OAF_back_angry.wav", duration=0.2)  # duplicated copy
    return tmp_path / "tess"


def test_labels_speakers_words(fake_tess):
    corpus = prepare_tess(fake_tess)
    by_id = {u.id: u for u in corpus}
    assert by_id["OAF_back_angry"].label == "angry"
    assert by_id["OAF_back_fear"].label == "fearful"
    assert by_id["OAF_back_ps"].label == by_id["YAF_back_ps"].label == "surprised"
    assert by_id["OAF_back_angry"].transcript == "Say the word back"
    assert by_id["OAF_back_angry"].extra == {"word": "back", "age_group": "older"}
    assert by_id["YAF_back_happy"].speaker == "YAF"
    assert Counter(u.speaker for u in corpus) == {"OAF": 5, "YAF": 7}


def test_file_name_decides_the_label(fake_tess):
    by_id = {u.id: u for u in prepare_tess(fake_tess)}
    germ = by_id["YAF_germ_neutral"]
    assert (germ.label, germ.extra["folder_label"], germ.transcript) == ("neutral", "fearful", "Say the word germ")
    bite = by_id["OA_bite_neutral"]
    assert (bite.speaker, bite.label, bite.extra["word"]) == ("OAF", "neutral", "bite")
    assert by_id["YAF_date"].label == "angry" and by_id["YAF_date"].extra["word"] == "date"
    assert by_id["YAF_date_bored"].label == "angry" and by_id["YAF_date_bored"].extra["word"] == "date_bored"
    assert "folder_label" not in by_id["OAF_back_angry"].extra


def test_skips(fake_tess):
    skipped = prepare_tess(fake_tess).skipped
    reasons = {p.split("/")[-2] + "/" + p.rsplit("/", 1)[-1]: r for p, r in skipped}
    assert "no word" in reasons["YAF_sad/YAF_pleasant_surprised.wav"]
    assert "duplicate utterance id 'OAF_back_angry'" in reasons["OAF_angry/OAF_back_angry.wav"]
    assert "no emotion in the file name or the folder name" in reasons["YAF_misc/YAF_dime.wav"]
    assert len(skipped) == 3


def test_wrong_layout(tmp_path, make_wav):
    make_wav("tess/angry/back.wav", duration=0.2)
    with pytest.raises(DatasetError, match="expected folders like OAF_angry/.*found: angry/"):
        prepare_tess(tmp_path / "tess")
