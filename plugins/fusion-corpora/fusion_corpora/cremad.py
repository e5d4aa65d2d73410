"""CREMA-D (Cao et al., 2014): ``AudioWAV/{actor}_{sentence}_{emotion}_{level}.wav``.

``data_dir`` is the corpus root (holding ``AudioWAV/``) or ``AudioWAV`` itself. The speaker is the
actor id (1001..1091); the transcript is the sentence the code stands for; ``extra`` holds the
intensity level (LO/MD/HI/XX -> low/medium/high/unspecified) and, when the root has the corpus'
``VideoDemographics.csv``, the actor's gender. Labels use the words shared by the acted corpora
(anger -> angry, fear -> fearful). Older copies of the release name one file ``1040_ITH_SAD_X.wav``;
level ``X`` is read like ``XX``. Unparseable names, unknown codes and unreadable files (e.g. Git LFS
pointers of a checkout without ``git lfs pull``) are listed in ``Corpus.skipped``.
"""

from __future__ import annotations

import csv
import re
from functools import partial
from pathlib import Path

from fusion.recipes import Corpus

from .collect import (ANGRY, DISGUST, FEARFUL, HAPPY, NEUTRAL, SAD, ParsedName, collect_audio_files,
                      layout_error, listing, require_dir, unknown_code)

CORPUS = "cremad"
EXPECTED = "a folder AudioWAV/ (or the AudioWAV folder itself) with files like 1001_DFA_ANG_XX.wav"

SENTENCES = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}
EMOTIONS = {"ANG": ANGRY, "DIS": DISGUST, "FEA": FEARFUL, "HAP": HAPPY, "NEU": NEUTRAL, "SAD": SAD}
LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified", "X": "unspecified"}

_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{1,2})$")


def prepare_cremad(data_dir: Path) -> Corpus:
    """Parse CREMA-D's AudioWAV folder; durations from the file headers."""
    data_dir = require_dir(data_dir, CORPUS, EXPECTED)
    audio_dir = _audio_dir(data_dir)
    genders = _genders(audio_dir.parent / "VideoDemographics.csv")
    return collect_audio_files([audio_dir], partial(_parse_name, genders=genders), suffixes=(".wav",),
                               expected=EXPECTED)


def _audio_dir(data_dir: Path) -> Path:
    if (data_dir / "AudioWAV").is_dir():
        return data_dir / "AudioWAV"
    if data_dir.name == "AudioWAV" or any(_NAME.match(p.stem) for p in data_dir.glob("*.wav")):
        return data_dir
    raise layout_error(CORPUS, data_dir, EXPECTED, listing(data_dir))


def _genders(demographics: Path) -> dict[str, str]:
    """Actor id -> "male"/"female" from VideoDemographics.csv (empty when the file is absent)."""
    if not demographics.is_file():
        return {}
    with open(demographics, encoding="utf-8-sig", newline="") as f:
        return {row["ActorID"].strip(): row["Sex"].strip().lower()
                for row in csv.DictReader(f) if row.get("ActorID") and row.get("Sex")}


def _parse_name(path: Path, genders: dict[str, str]) -> ParsedName | str:
    """``1001_DFA_ANG_XX.wav`` -> its ParsedName (gender from ``genders`` when known), or the
    reason to skip the file."""
    m = _NAME.match(path.stem)
    if m is None:
        return "file name does not match {actor}_{sentence}_{emotion}_{level}, e.g. 1001_DFA_ANG_XX.wav"
    actor, sentence, emotion, level = m.groups()
    problem = unknown_code(("sentence", sentence, SENTENCES), ("emotion", emotion, EMOTIONS),
                           ("level", level, LEVELS))
    if problem:
        return problem
    extra = {"sentence": sentence, "intensity": LEVELS[level]}
    if actor in genders:
        extra["gender"] = genders[actor]
    return ParsedName(label=EMOTIONS[emotion], speaker=actor, transcript=SENTENCES[sentence], extra=extra)
