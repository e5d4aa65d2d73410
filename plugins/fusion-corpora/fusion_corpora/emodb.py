"""EmoDB, the Berlin Database of Emotional Speech (Burkhardt et al., 2005): ``wav/03a01Fa.wav``.

Name: speaker (2 digits) + text code (a01..b10) + emotion letter (German initial) + version letter.
``data_dir`` is the corpus root (holding ``wav/``) or the ``wav`` folder itself. Emotion letters:
W (Wut) angry, L (Langeweile) bored, E (Ekel) disgust, A (Angst) fearful, F (Freude) happy,
T (Trauer) sad, N neutral. The transcript is the German sentence of the text code.
"""

from __future__ import annotations

import re
from pathlib import Path

from fusion.recipes import Corpus

from .collect import (ANGRY, BORED, DISGUST, FEARFUL, HAPPY, NEUTRAL, SAD, ParsedName, collect_audio_files,
                      layout_error, listing, require_dir, unknown_code)

CORPUS = "emodb"
EXPECTED = "a folder wav/ (or the wav folder itself) with files like 03a01Fa.wav"

EMOTIONS = {"W": ANGRY, "L": BORED, "E": DISGUST, "A": FEARFUL, "F": HAPPY, "T": SAD, "N": NEUTRAL}
SPEAKERS = {"03": "male", "08": "female", "09": "female", "10": "male", "11": "male",
            "12": "male", "13": "female", "14": "female", "15": "male", "16": "female"}
SENTENCES = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}

_NAME = re.compile(r"^(\d\d)([ab]\d\d)([A-Z])([a-z])$")


def prepare_emodb(data_dir: Path) -> Corpus:
    """Parse EmoDB's wav folder; durations from the file headers."""
    data_dir = require_dir(data_dir, CORPUS, EXPECTED)
    return collect_audio_files([_audio_dir(data_dir)], _parse_name, suffixes=(".wav",), expected=EXPECTED)


def _audio_dir(data_dir: Path) -> Path:
    if (data_dir / "wav").is_dir():
        return data_dir / "wav"
    if any(_NAME.match(p.stem) for p in data_dir.glob("*.wav")):
        return data_dir
    raise layout_error(CORPUS, data_dir, EXPECTED, listing(data_dir))


def _parse_name(path: Path) -> ParsedName | str:
    """``03a01Fa.wav`` -> its ParsedName, or the reason to skip the file."""
    m = _NAME.match(path.stem)
    if m is None:
        return "file name does not match {speaker}{text}{emotion}{version}, e.g. 03a01Fa.wav"
    speaker, text, emotion, version = m.groups()
    problem = unknown_code(("speaker", speaker, SPEAKERS), ("text", text, SENTENCES),
                           ("emotion", emotion, EMOTIONS))
    if problem:
        return problem
    return ParsedName(
        label=EMOTIONS[emotion],
        speaker=speaker,
        transcript=SENTENCES[text],
        extra={"text": text, "version": version, "gender": SPEAKERS[speaker]},
    )
