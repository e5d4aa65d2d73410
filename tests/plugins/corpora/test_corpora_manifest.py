"""Generic manifest recipe: CSV / JSONL tables of path,label[,speaker][,transcript][,split][,id]."""

import json

import pytest

from fusion.errors import DatasetError
from fusion_corpora.manifest import prepare_manifest


@pytest.fixture
def clips(tmp_path, make_wav):
    for name in ("data/spk1/a.wav", "data/spk1/b.wav", "data/spk2/c.flac", "elsewhere/d.wav"):
        make_wav(name, duration=0.25)
    return tmp_path


def test_csv_rows(clips):
    (clips / "data" / "list.csv").write_text(
        "path,label,speaker,transcript,split,id,mood\n"
        "spk1/a.wav,Happy,alice,hello there,train,,bright\n"
        "spk1/b.wav,sad,,,val,b-custom,\n"
        f"{clips / 'data' / 'spk2' / 'c.flac'},angry,bob,\"yes, no\",test,,\n"
        "spk1/missing.wav,sad,alice,,train,,\n"
        "../elsewhere/d.wav,neutral,carol,,train,,\n")
    corpus = prepare_manifest(clips / "data" / "list.csv")
    by_id = {u.id: u for u in corpus}
    assert sorted(by_id) == ["../elsewhere/d", "b-custom", "spk1/a", "spk2/c"]
    a = by_id["spk1/a"]
    assert (a.label, a.speaker, a.transcript, a.split) == ("happy", "alice", "hello there", "train")
    assert a.audio == clips / "data" / "spk1" / "a.wav" and a.duration == pytest.approx(0.25)
    assert a.extra == {"mood": "bright"}
    b = by_id["b-custom"]
    assert (b.speaker, b.transcript, b.split) == ("spk1", None, "dev")  # parent folder; val -> dev
    assert by_id["spk2/c"].transcript == "yes, no"
    assert by_id["../elsewhere/d"].speaker == "carol"
    assert [(p.rsplit("/", 1)[-1], "not found" in r) for p, r in corpus.skipped] == [("missing.wav", True)]


def test_jsonl_and_folder_lookup(clips):
    rows = [{"audio": "spk1/a.wav", "label": "joy", "session": "s1"},
            {"path": "spk2/c.flac", "label": "anger", "speaker": 7, "duration_hint": 1.5}]
    (clips / "data" / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    corpus = prepare_manifest(clips / "data")
    by_id = {u.id: u for u in corpus}
    assert by_id["spk1/a"].session == "s1" and by_id["spk1/a"].speaker == "spk1"
    assert by_id["spk2/c"].speaker == "7" and by_id["spk2/c"].extra == {"duration_hint": 1.5}


def test_duplicate_ids_unreadable_audio_and_long_rows_are_skipped(clips):
    (clips / "data" / "bad.wav").write_text("not audio")
    (clips / "data" / "m.csv").write_text(
        "path,label,id\nspk1/a.wav,sad,x\nspk1/b.wav,sad,x\nbad.wav,sad,\nspk2/c.flac,sad,y,surplus\n")
    corpus = prepare_manifest(clips / "data" / "m.csv")
    assert [u.id for u in corpus] == ["x"]
    reasons = [r for _, r in corpus.skipped]
    assert "duplicate utterance id 'x'" in reasons[0]
    assert "not a readable audio file" in reasons[1]
    assert "more fields than the header (['surplus'] left over)" in reasons[2]
    assert corpus.skipped[2][0].endswith("m.csv:5")


def test_empty_label_is_an_error_naming_the_row(clips):
    (clips / "data" / "m.csv").write_text("path,label\nspk1/a.wav,sad\nspk1/b.wav, \n")
    with pytest.raises(DatasetError, match=r"m\.csv:3: empty label for spk1/b\.wav"):
        prepare_manifest(clips / "data" / "m.csv")


def test_unlabelled_clips_read_when_labels_are_not_required(clips):
    from fusion_corpora.manifest import UNLABELLED

    (clips / "data" / "m.csv").write_text("path,speaker\nspk1/a.wav,s1\nspk1/b.wav,s1\n")
    with pytest.raises(DatasetError, match="no 'label' column"):
        prepare_manifest(clips / "data" / "m.csv")
    corpus = prepare_manifest(clips / "data" / "m.csv", require_labels=False)
    assert [(u.id, u.label, u.speaker) for u in corpus] == [("spk1/a", UNLABELLED, "s1"), ("spk1/b", UNLABELLED, "s1")]
    (clips / "data" / "m.jsonl").write_text('{"path": "spk1/a.wav", "label": "Sad"}\n{"path": "spk1/b.wav", "label": ""}\n')
    assert [u.label for u in prepare_manifest(clips / "data" / "m.jsonl", require_labels=False)] == ["sad", UNLABELLED]


@pytest.mark.parametrize("content, message", [
    ("file,label\na.wav,sad\n", "no 'path' column"),
    ("path,emotion\na.wav,sad\n", "no 'label' column"),
])
def test_missing_columns(tmp_path, content, message):
    (tmp_path / "m.csv").write_text(content)
    with pytest.raises(DatasetError, match=message):
        prepare_manifest(tmp_path / "m.csv")


def test_bad_inputs(tmp_path):
    with pytest.raises(DatasetError, match="holds no manifest.csv or manifest.jsonl"):
        prepare_manifest(tmp_path)
    (tmp_path / "m.jsonl").write_text('{"path": "a.wav", "label": "sad"}\n{oops\n')
    with pytest.raises(DatasetError, match=r"m\.jsonl:2: not valid JSON"):
        prepare_manifest(tmp_path / "m.jsonl")
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(DatasetError, match="not a .csv or .jsonl file"):
        prepare_manifest(tmp_path / "m.txt")
