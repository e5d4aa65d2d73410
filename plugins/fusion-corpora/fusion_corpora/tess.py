"""TESS, the Toronto emotional speech set (Dupuis & Pichora-Fuller, 2010).

Layout: emotion folders such as ``OAF_angry/OAF_back_angry.wav`` or
``YAF_pleasant_surprised/YAF_back_ps.wav`` anywhere below ``data_dir`` (searched recursively, so
the Kaggle copy's extra top folder is fine). Two speakers, both female: OAF (older, 64 years) and
YAF (younger, 26 years). Every clip is "Say the word X".

Rules, because the real release is not fully consistent (folder names in mixed case, a few files
whose name disagrees with their folder):

* label: the **last token of the file name** (``..._neutral.wav`` is neutral wherever it sits);
  the folder's emotion is used only when the file name has none; ``ps`` / ``pleasant_surprise(d)``
  become "surprised" and "fear" becomes "fearful" (the words shared with the other acted corpora).
  When file and folder disagree, ``extra["folder_label"]`` keeps the folder's reading.
* speaker: the file name's first token if it is OAF/YAF, else the folder's prefix.
* word: the tokens between speaker and emotion.
* id: the file stem; a second file with the same stem (e.g. a duplicated copy of the corpus)
  is listed in ``Corpus.skipped``.
"""

from __future__ import annotations

import re
from pathlib import Path

from fusion.recipes import Corpus

from .collect import (ANGRY, DISGUST, FEARFUL, HAPPY, NEUTRAL, SAD, SURPRISED, ParsedName,
                      collect_audio_files, layout_error, listing, require_dir)

CORPUS = "tess"
EXPECTED = "folders like OAF_angry/ and YAF_pleasant_surprised/ holding files like OAF_back_angry.wav"
SPEAKERS = {"OAF": "older", "YAF": "younger"}  # speaker code -> age group

EMOTIONS = {
    "angry": ANGRY, "anger": ANGRY,
    "disgust": DISGUST, "disgusted": DISGUST,
    "fear": FEARFUL, "fearful": FEARFUL,
    "happy": HAPPY, "happiness": HAPPY,
    "neutral": NEUTRAL,
    "sad": SAD, "sadness": SAD,
    "ps": SURPRISED, "pleasant_surprise": SURPRISED, "pleasant_surprised": SURPRISED,
    "surprise": SURPRISED, "surprised": SURPRISED,
}

_FOLDER = re.compile(r"^(OAF|YAF)[_ -](.+)$", re.IGNORECASE)
_PLEASANT = re.compile(r"_pleasant[_ -]surprised?$", re.IGNORECASE)


def prepare_tess(data_dir: Path) -> Corpus:
    """Parse TESS emotion folders; durations from the file headers."""
    data_dir = require_dir(data_dir, CORPUS, EXPECTED)
    folders = sorted(p for p in [data_dir, *data_dir.rglob("*")]
                     if p.is_dir() and not p.name.startswith(".") and _FOLDER.match(p.name))
    if not folders:
        raise layout_error(CORPUS, data_dir, EXPECTED, listing(data_dir))
    return collect_audio_files(folders, _parse_name, suffixes=(".wav",), expected=EXPECTED)


def _emotion_of(text: str) -> str | None:
    return EMOTIONS.get(text.lower().replace(" ", "_").replace("-", "_"))


def _parse_name(path: Path) -> ParsedName | str:
    """``OAF_angry/OAF_back_angry.wav`` -> its ParsedName, or the reason to skip the file."""
    folder_speaker, folder_emotion = _FOLDER.match(path.parent.name).groups()
    folder_label = _emotion_of(folder_emotion)
    stem = _PLEASANT.sub("_ps", path.stem)
    tokens = stem.split("_")
    file_label = _emotion_of(tokens[-1]) if len(tokens) >= 2 else None
    label = file_label or folder_label
    if label is None:
        return f"no emotion in the file name or the folder name; valid: {', '.join(sorted(EMOTIONS))}"
    speaker = tokens[0].upper() if tokens[0].upper() in SPEAKERS else folder_speaker.upper()
    word_tokens = tokens[1:-1] if file_label else tokens[1:]
    if not word_tokens:
        return "file name has no word; expected {speaker}_{word}_{emotion}.wav"
    word = "_".join(word_tokens).lower()
    extra = {"word": word, "age_group": SPEAKERS[speaker]}
    if folder_label is not None and folder_label != label:
        extra["folder_label"] = folder_label
    return ParsedName(label=label, speaker=speaker, transcript=f"Say the word {word}", extra=extra)
