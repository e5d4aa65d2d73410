"""Content-addressed on-disk cache with atomic writes and corruption recovery.

Layout: ``<root>/<namespace>/<key[:2]>/<key>.<ext>``. ``root`` is ``$FUSION_CACHE`` or
``~/.cache/fusion``. Keys come from :func:`make_key`: sha256 over the input content hash
and a JSON description of the component (name, config, fusion version). A file that
fails to load is deleted and recomputed, with a warning, never trusted.

Model weights shipped split over several pip packages are joined once into
``<root>/models/<name>/`` (:func:`joined_model_dir`), verified by size and sha256 before reuse.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO


def default_root() -> Path:
    return Path(os.environ.get("FUSION_CACHE") or Path.home() / ".cache" / "fusion")


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, durable: bool = True) -> Iterator[BinaryIO]:
    """A binary file written under a temporary name in ``path``'s folder, fsynced (``durable``) and
    renamed to ``path`` when the block ends normally; removed (``path`` untouched) when it raises.
    Readers never see a half-written file. ``durable=False`` skips the fsync (about 5 ms a file):
    for cache entries, where a crash can at worst leave an entry that fails to decode, which
    :class:`Cache` treats as a miss and recomputes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes, durable: bool = True) -> None:
    """Write to a temporary file in the same folder, fsync (``durable``), then ``os.replace``."""
    with atomic_file(path, durable) as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def file_hash(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def file_hash_once(path: str | os.PathLike) -> str:
    """:func:`file_hash`, computed once per process while the file's size and mtime are unchanged.

    For large model checkpoints that identify a component in cache keys.
    """
    path = Path(path).resolve()
    st = path.stat()
    return _file_hash_memo(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _file_hash_memo(path: str, size: int, mtime_ns: int) -> str:
    return file_hash(path)


def joined_model_dir(name: str, parts: Sequence[str | os.PathLike], side_files: Iterable[str | os.PathLike] = (),
                     filename: str = "model.bin") -> Path:
    """``<root>/models/<name>/``: ``parts`` concatenated in order into ``filename``, beside copies of
    ``side_files`` (config, tokenizer...), for weights split over several pip packages.

    Joined once: the file is written under a temporary name, its size checked, then renamed, and
    ``<root>/models/<name>.json`` records the parts (path, size, mtime) and the joined file's size and
    sha256. A later call reuses the folder only while the parts are unchanged and the file still has
    that size and hash (hashed once per process); an interrupted, damaged or outdated copy is joined
    again. Raises FileNotFoundError naming missing parts, OSError when the join cannot be written.
    """
    parts, side_files = [Path(p) for p in parts], [Path(p) for p in side_files]
    missing = [str(p) for p in [*parts, *side_files] if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"model {name!r}: file(s) missing: {', '.join(missing)}")
    folder = default_root() / "models" / name
    stamp_path = folder.with_name(f"{name}.json")
    sources = [[str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns] for p in parts]
    if _joined_intact(folder, filename, stamp_path, sources, side_files):
        return folder
    stamp_path.unlink(missing_ok=True)  # no stamp while the folder is being rewritten
    for side in side_files:
        with atomic_file(folder / side.name) as out, side.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
    digest, expected = hashlib.sha256(), sum(size for _, size, _ in sources)
    with atomic_file(folder / filename) as out:
        for part in parts:
            with part.open("rb") as src:
                while block := src.read(1 << 20):
                    digest.update(block)
                    out.write(block)
        if out.tell() != expected:
            raise OSError(f"model {name!r}: joined {out.tell()} bytes, the parts hold {expected}")
    atomic_write_json(stamp_path, {"parts": sources, "size": expected, "sha256": digest.hexdigest()})
    return folder


def _joined_intact(folder: Path, filename: str, stamp_path: Path, sources: list, side_files: list[Path]) -> bool:
    """The folder was joined from exactly these parts and its file still has the recorded size and sha256."""
    try:
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
        joined = folder / filename
        return (stamp["parts"] == sources and joined.stat().st_size == stamp["size"]
                and all((folder / s.name).stat().st_size == s.stat().st_size for s in side_files)
                and file_hash_once(joined) == stamp["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def make_key(*parts: Any) -> str:
    """sha256 of the JSON of ``parts`` (content hashes, component descriptions...)."""
    from . import __version__

    blob = json.dumps([__version__, *parts], sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


class Cache:
    """A namespace of the on-disk cache (e.g. "transcripts", "features")."""

    def __init__(self, namespace: str, root: str | os.PathLike | None = None, enabled: bool = True):
        self.root = Path(root) if root is not None else default_root()
        self.dir = self.root / namespace
        self.enabled = enabled
        self.hits = 0
        self.misses = 0

    def path(self, key: str, ext: str) -> Path:
        return self.dir / key[:2] / f"{key}.{ext}"

    # -- JSON values (transcripts, small records)
    def get_json(self, key: str) -> Any | None:
        return self._get(key, "json", lambda b: json.loads(b.decode("utf-8")))

    def put_json(self, key: str, value: Any) -> None:
        if self.enabled:
            atomic_write_bytes(self.path(key, "json"), json.dumps(value, ensure_ascii=False).encode(), durable=False)

    # -- tensors (features, frozen-encoder outputs)
    def get_tensor(self, key: str) -> Any | None:
        import torch

        return self._get(key, "pt", lambda b: torch.load(io.BytesIO(b), weights_only=True))

    def put_tensor(self, key: str, value: Any) -> None:
        if not self.enabled:
            return
        import torch

        buf = io.BytesIO()
        torch.save(value, buf)
        atomic_write_bytes(self.path(key, "pt"), buf.getvalue(), durable=False)

    def get_or_compute_tensor(self, key: str, compute: Callable[[], Any]) -> Any:
        value = self.get_tensor(key)
        if value is None:
            value = compute()
            self.put_tensor(key, value)
        return value

    def get_or_compute_json(self, key: str, compute: Callable[[], Any]) -> Any:
        value = self.get_json(key)
        if value is None:
            value = compute()
            self.put_json(key, value)
        return value

    def _get(self, key: str, ext: str, decode: Callable[[bytes], Any]) -> Any | None:
        if not self.enabled:
            self.misses += 1
            return None
        path = self.path(key, ext)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self.misses += 1
            return None
        try:
            value = decode(data)
        except Exception as exc:
            warnings.warn(f"cache entry {path} is corrupt ({type(exc).__name__}); recomputing", stacklevel=3)
            path.unlink(missing_ok=True)
            self.misses += 1
            return None
        self.hits += 1
        return value
