"""EmoDB, the Berlin Database of Emotional Speech (Burkhardt et al., 2005): ``wav/03a01Fa.wav``.

Name: speaker (2 digits) + text code (a01..b10) + emotion letter (German initial) + version letter.
``data_dir`` is the corpus root (holding ``wav/``) or the ``wav`` folder itself. Emotion letters:
W (Wut) angry, L (Langeweile) bored, E (Ekel) disgust, A (Angst) fearful, F (Freude) happy,
T (Trauer) sad, N neutral. The transcript is the German sentence of the text code.
"""

from __future__ import annotations

import re
from pathlib import Path

from fusion.data import Utterance
from fusion.recipes import Corpus

from .collect import (ANGRY, BORED, DISGUST, FEARFUL, HAPPY, NEUTRAL, SAD, CorpusCollector, layout_error,
                      listing, require_dir, unknown_code, visible_files)

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
    audio_dir = _audio_dir(data_dir)
    collector = CorpusCollector()
    for path in visible_files(audio_dir):
        _add_file(collector, path)
    return collector.corpus()


def _audio_dir(data_dir: Path) -> Path:
    if (data_dir / "wav").is_dir():
        return data_dir / "wav"
    if any(_NAME.match(p.stem) for p in data_dir.glob("*.wav")):
        return data_dir
    raise layout_error(CORPUS, data_dir, EXPECTED, listing(data_dir))


def _add_file(collector: CorpusCollector, path: Path) -> None:
    if path.suffix.lower() != ".wav":
        collector.skip(path, f"not a .wav file; expected {EXPECTED}")
        return
    m = _NAME.match(path.stem)
    if m is None:
        collector.skip(path, "file name does not match {speaker}{text}{emotion}{version}, e.g. 03a01Fa.wav")
        return
    speaker, text, emotion, version = m.groups()
    problem = unknown_code(("speaker", speaker, SPEAKERS), ("text", text, SENTENCES),
                           ("emotion", emotion, EMOTIONS))
    if problem:
        collector.skip(path, problem)
        return
    duration = collector.duration(path)
    if duration is None:
        return
    collector.add(Utterance(
        id=path.stem,
        audio=path,
        label=EMOTIONS[emotion],
        speaker=speaker,
        transcript=SENTENCES[text],
        duration=duration,
        extra={"text": text, "version": version, "gender": SPEAKERS[speaker]},
    ), path)
