"""IEMOCAP recipe on a fake release with the real file formats."""

from collections import Counter

import pytest

from fusion.errors import DatasetError
from fusion_corpora.iemocap import prepare_iemocap

EVALUATION = """% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]

[6.2901 - 8.2357]\t{d}_F000\tneu\t[2.5000, 2.5000, 2.5000]
C-E2:\tNeutral;\t()
C-E3:\tNeutral;\t()
A-E3:\tval 3; act 2; dom  2;\t()

[10.0100 - 11.3925]\t{d}_M000\texc\t[4.0000, 3.5000, 3.0000]
C-E1:\tExcited;\t()

[14.8872 - 18.0175]\t{d}_F001\tfru\t[2.0000, 3.5000, 3.5000]

[19.2900 - 20.7875]\t{d}_M001\txxx\t[2.5000, 2.5000, 2.5000]

[21.0000 - 22.0000]\t{d}_F002\tang\t[1.5000, 4.0000, 4.0000]

[23.0000 - 24.0000]\t{d}_M002\thap\t[4.0000, 3.0000, 3.0000]

[25.0 - 26.0] broken line
"""

TRANSCRIPT = """{d}_F000 [006.2901-008.2357]: Excuse me.
{d}_M000 [010.0100-011.3925]: Do you have your forms?
{d}_F001 [014.8872-018.0175]: Yeah.
{d}_MXX0 [019.0000-019.2000]: [LAUGHTER]
{d}_F002 [021.0000-022.0000]: Let me see them.
"""


@pytest.fixture
def fake_iemocap(tmp_path, make_wav):
    root = tmp_path / "IEMOCAP_full_release"
    for session, dialog in (("Session1", "Ses01F_impro01"), ("Session2", "Ses02M_script01_1")):
        dialog_dir = root / session / "dialog"
        (dialog_dir / "EmoEvaluation" / "Categorical").mkdir(parents=True)
        (dialog_dir / "transcriptions").mkdir()
        (dialog_dir / "EmoEvaluation" / f"{dialog}.txt").write_text(EVALUATION.format(d=dialog))
        (dialog_dir / "EmoEvaluation" / f"._{dialog}.txt").write_bytes(b"\x00\x05\x16\x07")  # macOS
        (dialog_dir / "transcriptions" / f"{dialog}.txt").write_text(TRANSCRIPT.format(d=dialog))
        for utt in ("F000", "M000", "F001", "M001", "F002"):  # M002 has no wav
            make_wav(f"IEMOCAP_full_release/{session}/sentences/wav/{dialog}/{dialog}_{utt}.wav", duration=0.2)
    return root


def test_four_class(fake_iemocap):
    corpus = prepare_iemocap(fake_iemocap)
    by_id = {u.id: u for u in corpus}
    assert sorted(by_id) == sorted(f"{d}_{u}" for d in ("Ses01F_impro01", "Ses02M_script01_1")
                                   for u in ("F000", "M000", "F002"))
    u = by_id["Ses01F_impro01_F000"]
    assert (u.label, u.speaker, u.session, u.transcript) == ("neutral", "Ses01_F", "Session1", "Excuse me.")
    assert u.extra == {"dialog": "Ses01F_impro01", "code": "neu", "start": 6.2901, "end": 8.2357,
                       "valence": 2.5, "arousal": 2.5, "dominance": 2.5}
    assert u.duration == pytest.approx(0.2)
    excited = by_id["Ses02M_script01_1_M000"]
    assert (excited.label, excited.extra["code"], excited.speaker, excited.session) == (
        "happy", "exc", "Ses02_M", "Session2")
    assert by_id["Ses01F_impro01_F002"].label == "angry"
    assert Counter(u.label for u in corpus) == {"neutral": 2, "happy": 2, "angry": 2}


def test_four_class_skips_are_counted_with_reasons(fake_iemocap):
    reasons = [r for _, r in prepare_iemocap(fake_iemocap).skipped]
    assert sum("label 'fru' not in the 4-class set" in r for r in reasons) == 2
    assert sum("'xxx'" in r for r in reasons) == 2
    assert sum("not found" in r for r in reasons) == 2          # hap M002 has no wav
    assert sum("does not match [start - end]" in r for r in reasons) == 2
    assert len(reasons) == 8


def test_all_labels(fake_iemocap):
    corpus = prepare_iemocap(fake_iemocap, labels="all")
    labels = Counter(u.label for u in corpus)
    assert labels == {"neutral": 2, "excited": 2, "frustrated": 2, "angry": 2}
    assert not any("fru" in r for _, r in corpus.skipped)
    assert sum("'xxx'" in r for _, r in corpus.skipped) == 2
    missing_transcript = [u for u in corpus if u.transcript is None]
    assert missing_transcript == []


def test_single_session_folder_and_errors(fake_iemocap, tmp_path):
    assert {u.session for u in prepare_iemocap(fake_iemocap / "Session2")} == {"Session2"}
    with pytest.raises(DatasetError, match="unknown labels '7class'; valid choices: 4class, all"):
        prepare_iemocap(fake_iemocap, labels="7class")
    with pytest.raises(DatasetError, match="expected Session1..Session5 folders"):
        prepare_iemocap(tmp_path / "IEMOCAP_full_release" / "Session1" / "dialog")


def test_registered_with_session_protocol():
    from fusion.recipes import dataset_protocol

    assert dataset_protocol("iemocap") == "session"
