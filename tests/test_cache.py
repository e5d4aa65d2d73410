"""fusion.cache: keys, hit/miss counts, atomic writes, corrupt entries, FUSION_CACHE."""

from __future__ import annotations

import json
import os

import pytest
import torch

import fusion
from fusion import cache as cache_module
from fusion.cache import Cache, atomic_write_bytes, atomic_write_json, file_hash, make_key


def all_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_make_key_is_deterministic_and_changes_with_every_part(monkeypatch):
    base = make_key("abc123", {"name": "cnn", "config": {"dim": 128, "n_mels": 64}})
    assert len(base) == 64 and int(base, 16) >= 0
    assert make_key("abc123", {"config": {"n_mels": 64, "dim": 128}, "name": "cnn"}) == base  # dict order
    others = {
        make_key("abc124", {"name": "cnn", "config": {"dim": 128, "n_mels": 64}}),
        make_key("abc123", {"name": "lstm", "config": {"dim": 128, "n_mels": 64}}),
        make_key("abc123", {"name": "cnn", "config": {"dim": 64, "n_mels": 64}}),
        make_key("abc123", {"name": "cnn", "config": {"dim": 128, "n_mels": 64}}, "extra"),
        make_key({"name": "cnn", "config": {"dim": 128, "n_mels": 64}}, "abc123"),  # order of parts
    }
    assert base not in others and len(others) == 5
    monkeypatch.setattr(fusion, "__version__", "99.0")
    assert make_key("abc123", {"name": "cnn", "config": {"dim": 128, "n_mels": 64}}) != base


def test_file_hash_is_content_hash(tmp_path):
    a, b, c = tmp_path / "a.bin", tmp_path / "b.bin", tmp_path / "c.bin"
    a.write_bytes(b"x" * 3_000_000)
    b.write_bytes(b"x" * 3_000_000)
    c.write_bytes(b"x" * 2_999_999 + b"y")
    assert file_hash(a) == file_hash(b) != file_hash(c)
    assert file_hash(a, chunk=7) == file_hash(a)


def test_json_hits_and_misses(tmp_path):
    c = Cache("transcripts", root=tmp_path)
    key = make_key("clip")
    assert c.get_json(key) is None
    c.put_json(key, {"text": "héllo"})
    assert c.get_json(key) == {"text": "héllo"}
    assert c.get_json(key) == {"text": "héllo"}
    assert (c.hits, c.misses) == (2, 1)
    assert c.path(key, "json") == tmp_path / "transcripts" / key[:2] / f"{key}.json"
    assert c.path(key, "json").is_file()


def test_get_or_compute_calls_once(tmp_path):
    c = Cache("features", root=tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return torch.arange(6, dtype=torch.float32).reshape(2, 3)

    key = make_key("clip", "log-mel")
    first = c.get_or_compute_tensor(key, compute)
    again = Cache("features", root=tmp_path).get_or_compute_tensor(key, compute)  # a new process, same dir
    assert torch.equal(first, again) and len(calls) == 1
    assert (c.hits, c.misses) == (0, 1)
    text = Cache("transcripts", root=tmp_path)
    assert text.get_or_compute_json("k", lambda: "hello") == "hello"
    assert text.get_or_compute_json("k", lambda: pytest.fail("recomputed")) == "hello"
    assert (text.hits, text.misses) == (1, 1)


def test_disabled_cache_never_writes(tmp_path):
    c = Cache("features", root=tmp_path, enabled=False)
    calls = []
    for _ in range(2):
        c.get_or_compute_tensor("k", lambda: calls.append(1) or torch.zeros(2))
    c.put_json("j", [1])
    assert len(calls) == 2 and (c.hits, c.misses) == (0, 2)
    assert all_files(tmp_path) == []


def test_writes_leave_no_temporary_files(tmp_path):
    c = Cache("features", root=tmp_path)
    for i in range(5):
        c.put_tensor(make_key(i), torch.randn(3, 4))
        c.put_json(make_key("j", i), {"i": i})
    atomic_write_json(tmp_path / "run" / "results.json", {"ua": 0.5})
    files = all_files(tmp_path)
    assert len(files) == 11
    assert not [f for f in files if f.endswith(".tmp") or "/." in f]
    assert json.loads((tmp_path / "run" / "results.json").read_text()) == {"ua": 0.5}


def test_failed_write_keeps_the_old_file_and_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "entry.json"
    atomic_write_bytes(target, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(cache_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert all_files(tmp_path) == ["entry.json"]


def test_truncated_tensor_entry_is_deleted_and_recomputed(tmp_path):
    c = Cache("features", root=tmp_path)
    key = make_key("clip")
    value = torch.randn(50, 64)
    c.put_tensor(key, value)
    path = c.path(key, "pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.warns(UserWarning, match="corrupt"):
        assert c.get_tensor(key) is None
    assert not path.exists()
    assert (c.hits, c.misses) == (0, 1)
    path.write_bytes(data[:100])
    with pytest.warns(UserWarning, match=str(path.name)):
        recomputed = c.get_or_compute_tensor(key, lambda: value * 2)
    assert torch.equal(recomputed, value * 2)
    assert torch.equal(Cache("features", root=tmp_path).get_tensor(key), value * 2)  # rewritten, valid


@pytest.mark.parametrize("content", [b'{"text": "hel', b"", b"\xff\xfe not utf-8"])
def test_invalid_json_entry_is_deleted_and_recomputed(tmp_path, content):
    c = Cache("transcripts", root=tmp_path)
    key = make_key("clip")
    path = c.path(key, "json")
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.warns(UserWarning, match="corrupt"):
        assert c.get_or_compute_json(key, lambda: {"text": "hello"}) == {"text": "hello"}
    assert json.loads(path.read_text()) == {"text": "hello"}
    assert c.get_json(key) == {"text": "hello"}
    assert (c.hits, c.misses) == (1, 1)


def test_fusion_cache_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_CACHE", str(tmp_path / "my-cache"))
    c = Cache("features")
    assert c.root == tmp_path / "my-cache" and c.dir == tmp_path / "my-cache" / "features"
    c.put_json("ab12", 1)
    assert (tmp_path / "my-cache" / "features" / "ab" / "ab12.json").is_file()
    monkeypatch.delenv("FUSION_CACHE")
    assert cache_module.default_root() == cache_module.Path.home() / ".cache" / "fusion"
    monkeypatch.setenv("FUSION_CACHE", "")  # empty means unset
    assert cache_module.default_root() == cache_module.Path.home() / ".cache" / "fusion"
    assert Cache("x", root=tmp_path / "explicit").root == tmp_path / "explicit"


def test_conftest_isolates_the_cache_per_test():
    home_cache = cache_module.Path.home() / ".cache" / "fusion"
    assert os.environ["FUSION_CACHE"] and cache_module.default_root() != home_cache


def test_cache_entries_skip_fsync_but_durable_writes_keep_it(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(cache_module.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    c = Cache("t", root=tmp_path)
    c.put_json(make_key("a"), {"x": 1})
    c.put_tensor(make_key("b"), torch.ones(2))
    assert synced == [] and c.get_json(make_key("a")) == {"x": 1}
    atomic_write_json(tmp_path / "record.json", {"y": 2})  # results, checkpoints: fsynced
    assert len(synced) == 1 and json.loads((tmp_path / "record.json").read_text()) == {"y": 2}


# -- joined_model_dir: weights split over several packages, joined once into <root>/models/<name>/
@pytest.fixture
def split_model(tmp_path):
    """Two part files and a side file, as split packages ship them."""
    src = tmp_path / "packages"
    src.mkdir()
    (src / "model.bin.part1").write_bytes(b"abc")
    (src / "model.bin.part2").write_bytes(b"defg")
    (src / "config.json").write_text("{}")
    return [src / "model.bin.part1", src / "model.bin.part2"], [src / "config.json"]


def test_parts_are_joined_once_with_their_side_files(split_model):
    parts, sides = split_model
    folder = cache_module.joined_model_dir("m", parts, sides)
    assert folder == cache_module.default_root() / "models" / "m"
    assert (folder / "model.bin").read_bytes() == b"abcdefg" and (folder / "config.json").read_text() == "{}"
    stamp = json.loads((folder.parent / "m.json").read_text())
    assert stamp["size"] == 7 and stamp["sha256"] == file_hash(folder / "model.bin")
    mtime = (folder / "model.bin").stat().st_mtime_ns
    assert cache_module.joined_model_dir("m", parts, sides) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == mtime  # reused, not rewritten
    assert all_files(folder.parent) == ["m.json", "m/config.json", "m/model.bin"]  # no temporary file


@pytest.mark.parametrize("damage", ["truncated", "same size, other bytes", "no stamp", "side file lost",
                                    "part reinstalled"])
def test_a_damaged_or_outdated_join_is_made_again(split_model, damage):
    parts, sides = split_model
    folder = cache_module.joined_model_dir("m", parts, sides)
    expected = b"abcdefg"
    if damage == "truncated":              # e.g. a copy interrupted by hand
        (folder / "model.bin").write_bytes(b"abc")
    elif damage == "same size, other bytes":
        (folder / "model.bin").write_bytes(b"abcdefX")
    elif damage == "no stamp":
        (folder.parent / "m.json").unlink()
    elif damage == "side file lost":
        (folder / "config.json").unlink()
    else:
        parts[1].write_bytes(b"xyz12")
        expected = b"abcxyz12"
    folder = cache_module.joined_model_dir("m", parts, sides)
    assert (folder / "model.bin").read_bytes() == expected and (folder / "config.json").is_file()
    assert json.loads((folder.parent / "m.json").read_text())["sha256"] == file_hash(folder / "model.bin")


def test_a_failed_join_leaves_no_file_and_no_stamp(split_model, monkeypatch):
    parts, sides = split_model
    original = cache_module.os.replace

    def broken_replace(src, dst):
        if str(dst).endswith("model.bin"):
            raise OSError("disk full")
        return original(src, dst)

    with monkeypatch.context() as patch:  # (monkeypatch.undo() would also undo the isolated FUSION_CACHE)
        patch.setattr(cache_module.os, "replace", broken_replace)
        with pytest.raises(OSError, match="disk full"):
            cache_module.joined_model_dir("m", parts, sides)
    root = cache_module.default_root() / "models"
    assert all_files(root) == ["m/config.json"]  # no model.bin, no temporary file, no stamp
    assert (cache_module.joined_model_dir("m", parts, sides) / "model.bin").read_bytes() == b"abcdefg"


def test_a_missing_part_is_named(split_model):
    parts, sides = split_model
    parts[1].unlink()
    with pytest.raises(FileNotFoundError, match="model.bin.part2"):
        cache_module.joined_model_dir("m", parts, sides)
