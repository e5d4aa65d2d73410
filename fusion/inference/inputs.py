"""What can be predicted: files, arrays, manifest rows; and expanding CLI paths into inputs.

A problem found while expanding (an empty folder, an unreadable manifest) becomes an input
with ``error`` set, so it is reported beside the other inputs' results instead of aborting.
"""

from __future__ import annotations

import dataclasses

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..audio import AUDIO_EXTENSIONS, _is_tensor, find_audio_files
from ..data import Utterance, read_manifest
from ..errors import ConfigError, FusionError

MANIFEST_EXTENSIONS = (".jsonl",)


@dataclass(frozen=True)
class PredictInput:
    """One thing to predict."""

    id: str                                 # name in the output (path, manifest id, "array-<n>")
    source: Any = None                      # Path to an audio file, or an array [S] / [S, C] / [C, S]
    sr: int | None = None                   # sample rate of an array source
    transcript: str | None = None           # a known transcript (used as is, no speech-to-text)
    error: str | None = None                # set when the input could not even be formed
    speaker: str | None = None              # who speaks: clips of one speaker are normalised together
                                            # (models with speaker_norm); None: the input is its own group

    @property
    def file(self) -> Path | None:
        return self.source if isinstance(self.source, Path) else None


def _is_array(x: Any) -> bool:
    return isinstance(x, np.ndarray) or _is_tensor(x)


def one_input(source: Any, sr: int | None = None, transcript: str | None = None) -> PredictInput:
    """``predict(source, sr, transcript=...)``'s input: :func:`as_input`, with the transcript given instead."""
    item = as_input(source, sr)
    return item if transcript is None else dataclasses.replace(item, transcript=transcript)


def as_input(item: Any, sr: int | None = None, index: int = 0) -> PredictInput:
    """A path, an array (recorded at ``sr``), an :class:`Utterance` or a PredictInput -> PredictInput."""
    if isinstance(item, PredictInput):
        return item
    if isinstance(item, Utterance):
        if item.audio is None:
            return PredictInput(item.id, error=f"utterance {item.id!r} has no audio file")
        return PredictInput(item.id, Path(item.audio), transcript=item.transcript, speaker=item.speaker)
    if _is_array(item):
        return PredictInput(f"array-{index}", item, sr=sr)
    if isinstance(item, (str, os.PathLike)):
        return PredictInput(str(item), Path(item))
    raise ConfigError(f"cannot predict on a {type(item).__name__}; expected a file path, a numpy array "
                      "with sr=..., a fusion.Utterance or a fusion.inference.PredictInput")


def _from_manifest(path: Path) -> list[PredictInput]:
    try:
        return [as_input(u) for u in read_manifest(path)]
    except FusionError as exc:
        return [PredictInput(str(path), path, error=f"cannot read manifest: {exc}")]


def _from_directory(path: Path, recursive: bool) -> list[PredictInput]:
    files = find_audio_files(path) if recursive else sorted(
        p for p in path.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
    if not files:
        how = "below" if recursive else "directly in (use --recursive to search subfolders)"
        return [PredictInput(str(path), path, error=f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) {how} "
                                                    "this directory")]
    return [PredictInput(str(p), p) for p in files]


def expand_paths(paths: Iterable[str | os.PathLike], recursive: bool = True) -> list[PredictInput]:
    """CLI arguments -> inputs: an audio file as is, a directory -> its audio files (sorted),
    a ``.jsonl`` manifest -> its rows (id, audio, transcript). A missing path stays an input:
    predicting it reports "file not found"."""
    out: list[PredictInput] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(_from_directory(path, recursive))
        elif path.suffix.lower() in MANIFEST_EXTENSIONS and path.is_file():
            out.extend(_from_manifest(path))
        else:
            out.append(PredictInput(str(path), path))
    return out


def unique_ids(inputs: Sequence[PredictInput]) -> list[PredictInput]:
    """Suffix repeated ids with "#2", "#3"... so every output row is addressable."""
    seen: dict[str, int] = {}
    out = []
    for item in inputs:
        n = seen[item.id] = seen.get(item.id, 0) + 1
        out.append(item if n == 1 else dataclasses.replace(item, id=f"{item.id}#{n}"))
    return out
