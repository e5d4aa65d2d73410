"""RAVDESS speech (Livingstone & Russo, 2018): ``Actor_XX/03-01-EE-II-SS-RR-AA.wav|.flac``.

Name fields: modality (03 audio-only) - vocal channel (01 speech, 02 song) - emotion - intensity
(01 normal, 02 strong) - statement (01/02) - repetition (01/02) - actor (01..24, odd = male).

Rule for what is kept: only audio-only speech (``03-01-...``) in ``.wav`` or ``.flac``. Song files
(``03-02-...``), other modalities, other file types and names that do not parse are listed in
``Corpus.skipped`` with the reason. The speaker is the actor number of the file name ("01".."24").
``data_dir`` is the folder holding the ``Actor_XX`` folders (or one level above it).
"""

from __future__ import annotations

import re
from pathlib import Path

from fusion.recipes import Corpus

from .collect import (ANGRY, CALM, DISGUST, FEARFUL, HAPPY, NEUTRAL, SAD, SURPRISED, ParsedName,
                      collect_audio_files, layout_error, listing, require_dir, unknown_code)

CORPUS = "ravdess"
EXPECTED = "Actor_XX folders with 03-01-EE-II-SS-RR-AA.wav|.flac files"
AUDIO_SUFFIXES = (".wav", ".flac")

EMOTIONS = {"01": NEUTRAL, "02": CALM, "03": HAPPY, "04": SAD,
            "05": ANGRY, "06": FEARFUL, "07": DISGUST, "08": SURPRISED}
INTENSITIES = {"01": "normal", "02": "strong"}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
ACTORS = tuple(f"{n:02d}" for n in range(1, 25))

_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")
_ACTOR_DIR = re.compile(r"^Actor_\d\d$")


def prepare_ravdess(data_dir: Path) -> Corpus:
    """Parse RAVDESS speech (``.wav`` or ``.flac``); durations from the file headers."""
    data_dir = require_dir(data_dir, CORPUS, EXPECTED)
    return collect_audio_files(_actor_dirs(data_dir), _parse_name, suffixes=AUDIO_SUFFIXES, expected=EXPECTED)


def _actor_dirs(data_dir: Path) -> list[Path]:
    """``Actor_XX`` folders in data_dir, else one level down (zip extracted into a subfolder)."""
    if _ACTOR_DIR.match(data_dir.name):
        return [data_dir]
    for pattern in ("Actor_*", "*/Actor_*"):
        found = sorted(p for p in data_dir.glob(pattern) if p.is_dir() and _ACTOR_DIR.match(p.name))
        if found:
            return found
    raise layout_error(CORPUS, data_dir, EXPECTED, listing(data_dir))


def _parse_name(path: Path) -> ParsedName | str:
    """``03-01-EE-II-SS-RR-AA`` -> its ParsedName, or the reason to skip the file."""
    m = _NAME.match(path.stem)
    if m is None:
        return f"file name does not match 03-01-EE-II-SS-RR-AA ({EXPECTED})"
    modality, channel, emotion, intensity, statement, repetition, actor = m.groups()
    if modality != "03":
        return f"modality {modality} is not audio-only (03)"
    if channel != "01":
        what = "song" if channel == "02" else f"unknown vocal channel {channel}"
        return f"{what}: the recipe covers speech (vocal channel 01) only"
    problem = unknown_code(("emotion", emotion, EMOTIONS), ("intensity", intensity, INTENSITIES),
                           ("statement", statement, STATEMENTS), ("actor", actor, ACTORS))
    if problem:
        return problem
    return ParsedName(
        label=EMOTIONS[emotion],
        speaker=actor,
        transcript=STATEMENTS[statement],
        extra={
            "intensity": INTENSITIES[intensity],
            "statement": statement,
            "repetition": int(repetition),
            "gender": "male" if int(actor) % 2 else "female",
        },
    )
