"""The embedded synthetic demo corpus: committed data, reproducible generator, recipe."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import soundfile as sf

from fusion.data import read_manifest
from fusion.errors import DatasetError, UnknownComponentError
from fusion.recipes import Corpus
from fusion_corpora.demo import generate, grammar, synth
from fusion_corpora.demo.draw import Draw
from fusion_corpora.demo.recipe import MANIFEST, prepare_demo

DATA = Path(generate.__file__).resolve().parent / "data"
EVIDENCE = {"both", "text", "audio", "none"}
MAX_COMMITTED_BYTES = 12 * 1024 * 1024


@pytest.fixture(scope="module")
def committed():
    return read_manifest(DATA / MANIFEST)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _without_duration(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "duration"}


# ----------------------------------------------------------------------------- committed data

def test_committed_manifest_has_speakers_labels_and_evidence_mix(committed):
    speakers = Counter(u.speaker for u in committed)
    labels = Counter(u.label for u in committed)
    assert len(speakers) >= 8
    assert 4 <= len(labels) <= 5
    assert len(committed) >= 300
    assert max(labels.values()) - min(labels.values()) <= len(committed) // 20  # balanced labels
    assert {u.extra["evidence"] for u in committed} == EVIDENCE
    for label in labels:
        kinds = {u.extra["evidence"] for u in committed if u.label == label}
        assert kinds == ({"none"} if label == "neutral" else {"both", "text", "audio"}), label
    for u in committed:
        assert u.transcript and u.transcript.strip()
        assert 1.5 <= u.duration <= 5.0, (u.id, u.duration)
        # a sentence carries keywords exactly when its text expresses the emotion
        assert bool(u.extra["keywords"]) == (u.extra["evidence"] in ("both", "text")), u.id


def test_committed_audio_exists_and_decodes_at_16k(committed):
    for u in committed:
        info = sf.info(str(u.audio))
        assert info.samplerate == 16000 and info.channels == 1, u.id
        assert abs(info.frames / info.samplerate - u.duration) < 0.05, u.id
    for u in committed[::25]:  # full decode of a spread of clips
        data, sr = sf.read(str(u.audio), dtype="float32")
        assert sr == 16000 and data.ndim == 1
        assert 0.01 < abs(data).max() <= 1.0, u.id


def test_committed_data_is_small():
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert total <= MAX_COMMITTED_BYTES, f"{total / 1e6:.1f} MB"


def test_plan_reproduces_the_whole_committed_manifest():
    # labels, speakers, sentences, espeak and recording settings come from seeded draws only
    planned = [_without_duration(generate.manifest_row(p, None).to_dict()) for p in generate.plan_corpus(seed=0)]
    committed_rows = [_without_duration(r) for r in _rows(DATA / MANIFEST)]
    assert planned == committed_rows


def test_another_seed_gives_another_corpus():
    a = generate.plan_corpus(seed=0)
    b = generate.plan_corpus(seed=1)
    assert [p.label for p in a] != [p.label for p in b]
    assert [p.sentence.text for p in a] != [p.sentence.text for p in b]


@pytest.mark.skipif(synth.espeak_binary() is None, reason="espeak-ng is not installed")
def test_regenerating_first_clips_matches_committed_rows(tmp_path):
    assert generate.main(["--out", str(tmp_path), "--seed", "0", "--only", "3"]) == 0
    fresh = _rows(tmp_path / MANIFEST)
    assert len(fresh) == 3
    assert [_without_duration(r) for r in fresh] == [_without_duration(r) for r in _rows(DATA / MANIFEST)[:3]]
    for row in fresh:  # audio bytes may differ across espeak-ng versions: check sanity only
        data, sr = sf.read(str(tmp_path / row["audio"]), dtype="float32")
        assert sr == 16000 and data.ndim == 1
        assert 1.5 <= data.size / sr <= 5.0
        assert abs(data.size / sr - row["duration"]) < 0.05
        assert 0.01 < abs(data).max() <= 1.0


# ----------------------------------------------------------------------------- grammar

def test_plain_sentences_have_no_emotion_keyword():
    keywords = {w for words in grammar.KEYWORDS.values() for w in words}
    for n in range(200):
        s = grammar.plain_sentence(Draw("plain", n))
        assert s.keywords == ()
        assert not any(f" {k} " in f" {s.text.lower().strip('.?!')} " for k in keywords), s.text


def test_emotional_sentences_carry_their_keywords():
    for emotion in ("happy", "sad", "angry"):
        for n in range(50):
            s = grammar.emotional_sentence(emotion, Draw(emotion, n))
            assert s.keywords, s.text
            assert all(k in s.text.lower() for k in s.keywords), s.text
    with pytest.raises(ValueError, match="valid choices"):
        grammar.emotional_sentence("neutral", Draw(0))


# ----------------------------------------------------------------------------- recipe

def test_prepare_demo_returns_utterances_with_transcripts(committed):
    corpus = prepare_demo(DATA)
    assert isinstance(corpus, Corpus)
    assert corpus.skipped == []
    assert [u.id for u in corpus] == [u.id for u in committed]
    for u in corpus:
        assert u.transcript and Path(u.audio).is_file()
        assert u.extra["evidence"] in EVIDENCE


def test_prepare_demo_reports_missing_audio(tmp_path, committed):
    for u in committed[:3]:
        target = tmp_path / Path(u.audio).relative_to(DATA)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(u.audio, target)
    (tmp_path / MANIFEST).write_text("\n".join((DATA / MANIFEST).read_text().splitlines()[:4]) + "\n")
    corpus = prepare_demo(tmp_path)
    assert [u.id for u in corpus] == [u.id for u in committed[:3]]
    assert len(corpus.skipped) == 1 and committed[3].id in corpus.skipped[0][1]


def test_prepare_demo_without_manifest_names_the_generator(tmp_path):
    with pytest.raises(DatasetError, match="fusion_corpora.demo.generate"):
        prepare_demo(tmp_path)


def test_demo_is_registered_with_its_bundled_data():
    from fusion.recipes import dataset_protocol, prepare_dataset

    try:
        corpus = prepare_dataset("demo")
    except UnknownComponentError:
        pytest.skip("the fusion-corpora plugin does not register 'demo' yet")
    assert len(corpus) == len(read_manifest(DATA / MANIFEST))
    assert dataset_protocol("demo") == "speaker"
