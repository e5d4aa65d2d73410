"""EmoDB recipe on a fake corpus with the real naming scheme."""

import pytest

from fusion.errors import DatasetError
from fusion_corpora.emodb import prepare_emodb


@pytest.fixture
def fake_emodb(tmp_path, make_wav):
    for name in ("03a01Fa", "08b10Wb", "16a05Lc", "09b03Na", "10a02Ab", "11a04Ta", "13b09Ea",
                 "03a03Fa",   # no text a03
                 "17a01Fa",   # no speaker 17
                 "03a01Xa"):  # no emotion X
        make_wav(f"emodb/wav/{name}.wav", duration=0.2)
    make_wav("emodb/wav/03a01F.wav", duration=0.2)  # no version letter
    (tmp_path / "emodb" / "wav" / "index.html").write_text("<html/>")
    return tmp_path / "emodb"


def test_labels_speakers_transcripts(fake_emodb):
    by_id = {u.id: u for u in prepare_emodb(fake_emodb)}
    assert {k: by_id[k].label for k in by_id} == {
        "03a01Fa": "happy", "08b10Wb": "angry", "16a05Lc": "bored", "09b03Na": "neutral",
        "10a02Ab": "fearful", "11a04Ta": "sad", "13b09Ea": "disgust"}
    u = by_id["03a01Fa"]
    assert (u.speaker, u.transcript) == ("03", "Der Lappen liegt auf dem Eisschrank.")
    assert u.extra == {"text": "a01", "version": "a", "gender": "male"}
    assert by_id["08b10Wb"].transcript == "Die wird auf dem Platz sein, wo wir sie immer hinlegen."
    assert by_id["08b10Wb"].extra["gender"] == "female"
    assert by_id["16a05Lc"].transcript.startswith("Das schwarze Stück Papier")
    assert u.duration == pytest.approx(0.2)


def test_skips_with_reasons(fake_emodb):
    skipped = {p.rsplit("/", 1)[-1]: r for p, r in prepare_emodb(fake_emodb).skipped}
    assert "unknown text code a03" in skipped["03a03Fa.wav"]
    assert "unknown speaker code 17" in skipped["17a01Fa.wav"]
    assert "unknown emotion code X" in skipped["03a01Xa.wav"]
    assert "does not match" in skipped["03a01F.wav"]
    assert "not a .wav" in skipped["index.html"]
    assert len(skipped) == 5


def test_wav_folder_itself_and_wrong_layout(fake_emodb, tmp_path):
    assert len(prepare_emodb(fake_emodb / "wav")) == 7
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match=r"expected a folder wav/.*03a01Fa\.wav.*folder is empty"):
        prepare_emodb(empty)
