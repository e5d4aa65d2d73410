"""CREMA-D recipe on a fake corpus with the real naming scheme."""

import pytest

from fusion.errors import DatasetError
from fusion_corpora.cremad import prepare_cremad


@pytest.fixture
def fake_cremad(tmp_path, make_wav):
    make_wav("crema/AudioWAV/1001_DFA_ANG_XX.wav", duration=0.3)
    make_wav("crema/AudioWAV/1001_IEO_HAP_HI.wav", duration=0.2)
    make_wav("crema/AudioWAV/1040_ITH_SAD_X.wav", duration=0.2)   # real quirk: one "X" level
    make_wav("crema/AudioWAV/1091_WSI_FEA_LO.wav", duration=0.2)
    make_wav("crema/AudioWAV/1002_XYZ_ANG_XX.wav", duration=0.2)  # unknown sentence
    make_wav("crema/AudioWAV/1002_DFA_BOR_XX.wav", duration=0.2)  # unknown emotion
    make_wav("crema/AudioWAV/1002-DFA-ANG.wav", duration=0.2)     # name does not parse
    (tmp_path / "crema" / "AudioWAV" / "1003_TSI_NEU_XX.wav").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1\n")
    (tmp_path / "crema" / "VideoDemographics.csv").write_text(
        "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n1040,20,Female,Asian,Not Hispanic\n")
    return tmp_path / "crema"


def test_labels_speakers_transcripts_extra(fake_cremad):
    by_id = {u.id: u for u in prepare_cremad(fake_cremad)}
    assert sorted(by_id) == ["1001_DFA_ANG_XX", "1001_IEO_HAP_HI", "1040_ITH_SAD_X", "1091_WSI_FEA_LO"]
    u = by_id["1001_DFA_ANG_XX"]
    assert (u.label, u.speaker, u.transcript) == ("angry", "1001", "Don't forget a jacket")
    assert u.extra == {"sentence": "DFA", "intensity": "unspecified", "gender": "male"}
    assert u.duration == pytest.approx(0.3)
    assert by_id["1001_IEO_HAP_HI"].transcript == "It's eleven o'clock"
    assert by_id["1040_ITH_SAD_X"].extra["intensity"] == "unspecified"
    assert by_id["1040_ITH_SAD_X"].extra["gender"] == "female"
    fear = by_id["1091_WSI_FEA_LO"]
    assert (fear.label, fear.extra["intensity"], fear.transcript) == (
        "fearful", "low", "We'll stop in a couple of minutes")
    assert "gender" not in fear.extra  # actor not in the demographics file


def test_skips_with_reasons(fake_cremad):
    skipped = {p.rsplit("/", 1)[-1]: r for p, r in prepare_cremad(fake_cremad).skipped}
    assert "unknown sentence code XYZ" in skipped["1002_XYZ_ANG_XX.wav"]
    assert "unknown emotion code BOR" in skipped["1002_DFA_BOR_XX.wav"]
    assert "does not match" in skipped["1002-DFA-ANG.wav"]
    assert "Git LFS pointer" in skipped["1003_TSI_NEU_XX.wav"]
    assert len(skipped) == 4


def test_audiowav_folder_itself(fake_cremad):
    assert len(prepare_cremad(fake_cremad / "AudioWAV")) == 4


def test_wrong_layout(tmp_path):
    (tmp_path / "AudioMP3").mkdir()
    with pytest.raises(DatasetError, match="expected a folder AudioWAV/.*1001_DFA_ANG_XX.wav.*found: AudioMP3/"):
        prepare_cremad(tmp_path)
