"""A corpus described by your own table: ``fusion prepare manifest FILE.csv``.

``data_dir`` is a ``.csv`` or ``.jsonl`` file, or a folder holding ``manifest.csv`` or
``manifest.jsonl``. Columns (CSV header or JSON keys):

=============  ==============================================================================
``path``       audio file (``audio`` is accepted too); relative paths resolve against the
               manifest's folder. Required; an empty cell is an error naming the row.
``label``      emotion label (stored lower case). Required; an empty cell is an error. With
               ``require_labels=False`` (unlabelled clips, e.g. ``fusion compose --adapt``)
               the column may be absent and an empty cell reads as :data:`UNLABELLED`.
``speaker``    optional. When the column or the cell is empty the speaker is the **name of
               the audio file's parent folder** (speaker-independent folds need real speaker
               ids, never one shared "unknown"): lay files out as ``<speaker>/<clip>.wav`` or
               give the column.
``transcript`` optional gold transcript (an empty cell means none).
``split``      optional predefined split; "val", "valid", "validation" are read as "dev".
``session``    optional recording session.
``id``         optional; default: the audio path relative to the manifest's folder, without
               the extension ("spk1/clip03").
=============  ==============================================================================

Other columns go to ``extra``. Rows whose audio file is missing or unreadable, and rows that
repeat an id, are listed in ``Corpus.skipped``. Durations come from the audio headers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fusion.data import Utterance
from fusion.errors import DatasetError
from fusion.recipes import Corpus

from .collect import CorpusCollector, read_csv, read_text

CORPUS = "manifest"
FILE_NAMES = ("manifest.csv", "manifest.jsonl")
SUFFIXES = (".csv", ".jsonl")
PATH_COLUMNS = ("path", "audio")
KNOWN_COLUMNS = (*PATH_COLUMNS, "label", "speaker", "transcript", "split", "session", "id")
SPLIT_ALIASES = {"val": "dev", "valid": "dev", "validation": "dev"}
UNLABELLED = "unlabelled"  # the label of a clip without one, read with require_labels=False


def prepare_manifest(data_dir: Path, require_labels: bool = True) -> Corpus:
    """Read a CSV/JSONL table of path,label[,speaker][,transcript][,split][,session][,id]
    (``require_labels=False``: ``label`` is optional, a missing one reads as :data:`UNLABELLED`)."""
    manifest = _manifest_file(Path(data_dir))
    read = _read_csv if manifest.suffix.lower() == ".csv" else _read_jsonl
    rows = read(manifest, require_labels)
    base = manifest.resolve().parent
    collector = CorpusCollector()
    for where, row in rows:
        _add_row(collector, base, where, row, require_labels)
    return collector.corpus()


def _manifest_file(data_dir: Path) -> Path:
    if data_dir.is_file():
        if data_dir.suffix.lower() not in SUFFIXES:
            raise DatasetError(f"{CORPUS}: {data_dir} is not a .csv or .jsonl file")
        return data_dir
    if not data_dir.is_dir():
        raise DatasetError(f"{CORPUS}: {data_dir} does not exist; expected a .csv/.jsonl file or a "
                           f"folder holding {' or '.join(FILE_NAMES)}")
    found = [data_dir / name for name in FILE_NAMES if (data_dir / name).is_file()]
    if not found:
        raise DatasetError(f"{CORPUS}: {data_dir} holds no {' or '.join(FILE_NAMES)}; "
                           "pass the manifest file itself")
    if len(found) > 1:
        raise DatasetError(f"{CORPUS}: {data_dir} holds both {' and '.join(FILE_NAMES)}; "
                           "pass the one to use")
    return found[0]


def _read_csv(path: Path, require_labels: bool = True) -> list[tuple[str, dict]]:
    header, records = read_csv(path)
    _check_columns(path, header, require_labels)
    rows = []
    for line, fields in records:
        row = dict(zip(header, fields))
        if len(fields) > len(header):
            row[None] = fields[len(header):]
        rows.append((f"{path}:{line}", row))
    return rows


def _read_jsonl(path: Path, require_labels: bool = True) -> list[tuple[str, dict]]:
    rows = []
    for n, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{CORPUS}: {path}:{n}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise DatasetError(f"{CORPUS}: {path}:{n}: expected a JSON object, got {type(row).__name__}")
        rows.append((f"{path}:{n}", row))
    _check_columns(path, {key for _, row in rows for key in row}, require_labels)
    return rows


def _check_columns(path: Path, columns, require_labels: bool = True) -> None:
    if not any(c in columns for c in PATH_COLUMNS):
        raise DatasetError(f"{CORPUS}: {path} has no 'path' column; columns: path,label[,speaker]"
                           "[,transcript][,split][,session][,id]")
    if "label" not in columns and require_labels:
        raise DatasetError(f"{CORPUS}: {path} has no 'label' column; columns: path,label[,speaker]"
                           "[,transcript][,split][,session][,id]")


def _cell(row: dict, *names: str) -> str | None:
    """The first non-empty value among ``names`` as a stripped string, else None."""
    for name in names:
        value = row.get(name)
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def _add_row(collector: CorpusCollector, base: Path, where: str, row: dict, require_labels: bool = True) -> None:
    if None in row:  # surplus fields of a CSV row
        collector.skip(where, f"row has more fields than the header ({row[None]!r} left over)")
        return
    path_text, label = _cell(row, *PATH_COLUMNS), _cell(row, "label")
    if path_text is None:
        raise DatasetError(f"{CORPUS}: {where}: empty path (row {row!r})")
    if label is None and require_labels:
        raise DatasetError(f"{CORPUS}: {where}: empty label for {path_text}")
    label = label or UNLABELLED
    audio = Path(path_text)
    if not audio.is_absolute():
        audio = base / audio
    if not audio.is_file():
        problem = "is a directory, not an audio file" if audio.is_dir() else "audio file not found"
        collector.skip(audio, f"{problem} (listed at {where})")
        return
    duration = collector.duration(audio)
    if duration is None:
        return
    split = _cell(row, "split")
    if split is not None:
        split = SPLIT_ALIASES.get(split.lower(), split.lower())
    collector.add(Utterance(
        id=_cell(row, "id") or _default_id(audio, base),
        audio=audio,
        label=label.lower(),
        speaker=_cell(row, "speaker") or audio.parent.name,
        transcript=_cell(row, "transcript"),
        duration=duration,
        split=split,
        session=_cell(row, "session"),
        extra={k: v for k, v in row.items() if k not in KNOWN_COLUMNS and v not in (None, "")},
    ), audio)


def _default_id(audio: Path, base: Path) -> str:
    relative = Path(os.path.relpath(audio, base))
    return relative.with_suffix("").as_posix()
