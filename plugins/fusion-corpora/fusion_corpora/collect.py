"""What every recipe shares: collecting utterances and skipped files, header durations, layout errors.

Rules common to all recipes of this plugin:

* Hidden files (names starting with ``.``, e.g. macOS ``._x.wav`` / ``.DS_Store``) are not corpus
  files and are ignored.
* Any other file a recipe looks at and cannot use goes to ``Corpus.skipped`` with a reason:
  an unparseable name, an unknown code, an unreadable header, a duplicate id.
* Durations come from the audio header (:func:`fusion.audio.info`); nothing is decoded.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fusion.audio import info
from fusion.data import Utterance
from fusion.errors import AudioError, DatasetError
from fusion.recipes import Corpus

# Label words shared by the acted corpora (RAVDESS, CREMA-D, TESS, EmoDB, IEMOCAP), so that
# cross-corpus experiments compare like with like. MELD keeps its own label names.
NEUTRAL, CALM, HAPPY, SAD, ANGRY = "neutral", "calm", "happy", "sad", "angry"
FEARFUL, DISGUST, SURPRISED, BORED = "fearful", "disgust", "surprised", "bored"

_LFS_MAGIC = b"version https://git-lfs"


class CorpusCollector:
    """Accumulates utterances and ``(path, reason)`` skips; refuses duplicate ids with a skip."""

    def __init__(self) -> None:
        self.utterances: list[Utterance] = []
        self.skipped: list[tuple[str, str]] = []
        self._first_path: dict[str, str] = {}  # utterance id -> the file that produced it first

    def skip(self, path: str | os.PathLike, reason: str) -> None:
        self.skipped.append((str(path), reason))

    def add(self, utterance: Utterance, path: str | os.PathLike | None = None) -> None:
        """Keep ``utterance`` unless its id is taken (then skip ``path`` naming the first file)."""
        where = str(path if path is not None else utterance.audio)
        first = self._first_path.get(utterance.id)
        if first is not None:
            self.skip(where, f"duplicate utterance id {utterance.id!r} (first seen in {first})")
            return
        self._first_path[utterance.id] = where
        self.utterances.append(utterance)

    def duration(self, path: Path) -> float | None:
        """Seconds from the header; on failure the file is skipped and ``None`` returned."""
        try:
            return info(path).duration
        except AudioError as exc:
            self.skip(path, _unreadable_reason(path, exc))
            return None

    def corpus(self) -> Corpus:
        return Corpus(self.utterances, self.skipped)


def _unreadable_reason(path: Path, exc: AudioError) -> str:
    try:
        with open(path, "rb") as f:
            if f.read(len(_LFS_MAGIC)) == _LFS_MAGIC:
                return "a Git LFS pointer, not audio (run `git lfs pull` in the corpus checkout)"
    except OSError:
        pass
    return exc.reason


@dataclass(frozen=True)
class ParsedName:
    """What a recipe reads from an audio file's name (and folder): the Utterance fields other than
    the id (the file stem), the audio (the file) and the duration (its header)."""

    label: str                                  # emotion label, in the words shared by the acted corpora
    speaker: str                                # speaker id: the unit of speaker-independent folds
    transcript: str                             # the sentence the file's name stands for
    extra: dict                                 # corpus-specific fields (gender, intensity, ...)


NameParser = Callable[[Path], ParsedName | str]  # a file -> its ParsedName, or the reason to skip it


def collect_audio_files(folders: Iterable[Path], parse_name: NameParser, *, suffixes: tuple[str, ...],
                        expected: str) -> Corpus:
    """The corpus of the visible files in ``folders`` (folder by folder, each sorted by name).

    Each file is checked in this order, the first failure skipping it with its reason: a suffix in
    ``suffixes`` (case-insensitive), ``parse_name`` returning a :class:`ParsedName` rather than a
    reason, a readable header (the duration). Kept files become an Utterance with the stem as id;
    a second file with the same stem is skipped as a duplicate.
    """
    collector = CorpusCollector()
    for folder in folders:
        for path in visible_files(folder):
            _add_audio_file(collector, path, parse_name, suffixes, expected)
    return collector.corpus()


def _add_audio_file(collector: CorpusCollector, path: Path, parse_name: NameParser,
                    suffixes: tuple[str, ...], expected: str) -> None:
    if path.suffix.lower() not in suffixes:
        collector.skip(path, f"not a {'/'.join(suffixes)} file; expected {expected}")
        return
    parsed = parse_name(path)
    if isinstance(parsed, str):
        collector.skip(path, parsed)
        return
    duration = collector.duration(path)
    if duration is None:
        return
    collector.add(Utterance(
        id=path.stem,
        audio=path,
        label=parsed.label,
        speaker=parsed.speaker,
        transcript=parsed.transcript,
        duration=duration,
        extra=parsed.extra,
    ), path)


def unknown_code(*checks: tuple[str, str, Mapping]) -> str | None:
    """The skip reason for the first ``(field, code, table)`` whose code is not in ``table``."""
    for field, code, table in checks:
        if code not in table:
            return f"unknown {field} code {code}; valid: {', '.join(table)}"
    return None


def read_text(path: Path) -> str:
    """A text file's content, decoded by one rule per file.

    Rule: UTF-8 (a BOM is dropped) if the whole file decodes, else cp1252 (the Windows encoding
    that mis-encoded corpora usually come from), else latin-1, which decodes any byte. Nothing
    is "cleaned": the characters are the file's own.
    """
    data = Path(path).read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def read_csv(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header (names stripped) and the non-blank records as ``(line number, fields)``.

    Decoded by :func:`read_text`; parsed by the csv module (quoted commas and newlines). The line
    number is where the record ends (1 = the header), for messages like ``file.csv:12``.
    """
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    header = [name.strip() for name in next(reader, [])]
    records = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    return header, records


def visible_files(folder: Path) -> list[Path]:
    """Regular files in ``folder`` (sorted), without hidden ones."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def check_context(corpus: str, context) -> int:
    """The ``context`` option of a dialogue recipe (previous turns kept per utterance), checked."""
    if isinstance(context, bool) or not isinstance(context, int) or context < 0:
        raise DatasetError(f"{corpus}: option context must be an integer >= 0 (previous turns), got {context!r}")
    return context


def require_dir(data_dir: Path, corpus: str, expected: str) -> Path:
    """``data_dir`` as a directory, or a DatasetError describing the expected layout."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        what = "does not exist" if not data_dir.exists() else "is not a directory"
        raise DatasetError(f"{corpus}: {data_dir} {what}; expected {expected}")
    return data_dir


def layout_error(corpus: str, data_dir: Path, expected: str, found: Iterable[str] = ()) -> DatasetError:
    """The error for a folder that does not look like the corpus."""
    names = sorted(found)
    seen = f" (found: {', '.join(names[:8])}{', ...' if len(names) > 8 else ''})" if names else " (folder is empty)"
    return DatasetError(f"{corpus}: {data_dir} does not look like {corpus}; expected {expected}{seen}")


def listing(folder: Path) -> list[str]:
    """Visible entry names of ``folder`` for error messages."""
    return [p.name + ("/" if p.is_dir() else "") for p in folder.iterdir() if not p.name.startswith(".")]
