"""IEMOCAP (Busso et al., 2008): five sessions of dyadic, improvised and scripted dialogues.

Layout below ``data_dir`` (the release root holding ``Session1``..``Session5``, or one session
folder)::

    SessionN/dialog/EmoEvaluation/<dialog>.txt      [6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[V, A, D]
    SessionN/dialog/transcriptions/<dialog>.txt     Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.
    SessionN/sentences/wav/<dialog>/<utterance>.wav

Each session has one female and one male actor: the speaker is the session plus the gender
letter that starts the utterance id's last part ("Ses01_F"); ``session`` is the folder name
("Session1"), the unit of the "session" fold protocol.

``labels``:

* ``"4class"`` (default, the usual benchmark): neutral, happy (hap + exc merged), sad, angry.
* ``"all"``: every majority label, as words (neu neutral, hap happy, exc excited, sad, ang angry,
  fru frustrated, sur surprised, fea fearful, dis disgust, oth other).

Utterances outside the chosen set, and ``xxx`` (no majority label), are listed in
``Corpus.skipped`` with the reason, e.g. "label 'fru' not in the 4-class set"; so are lines that
do not parse and utterances whose wav file is missing or unreadable. ``extra`` keeps the dialog,
the original label code, start/end times and the valence/arousal/dominance ratings.
"""

from __future__ import annotations

import re
from pathlib import Path

from fusion.data import Utterance
from fusion.errors import DatasetError
from fusion.recipes import Corpus

from .collect import (ANGRY, DISGUST, FEARFUL, HAPPY, NEUTRAL, SAD, SURPRISED, CorpusCollector,
                      layout_error, listing, read_text, require_dir, visible_files)

CORPUS = "iemocap"
EXPECTED = ("Session1..Session5 folders with dialog/EmoEvaluation/*.txt, dialog/transcriptions/*.txt "
            "and sentences/wav/<dialog>/<utterance>.wav")

ALL_LABELS = {"neu": NEUTRAL, "hap": HAPPY, "exc": "excited", "sad": SAD, "ang": ANGRY,
              "fru": "frustrated", "sur": SURPRISED, "fea": FEARFUL, "dis": DISGUST, "oth": "other"}
FOUR_CLASS = {"neu": NEUTRAL, "hap": HAPPY, "exc": HAPPY, "sad": SAD, "ang": ANGRY}
LABEL_SETS = {"4class": FOUR_CLASS, "all": ALL_LABELS}
NO_MAJORITY = "xxx"

_SESSION_DIR = re.compile(r"^Session\d+$")
_EVALUATION = re.compile(r"^\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s+(\S+)\s+(\S+)\s+\[([^\]]*)\]")
_TRANSCRIPT = re.compile(r"^(\S+)\s+\[[^\]]*\]:\s?(.*)$")
_UTTERANCE_ID = re.compile(r"^Ses(\d\d)[FM]_.+_([FM])[^_]*$")


def prepare_iemocap(data_dir: Path, labels: str = "4class") -> Corpus:
    """Parse IEMOCAP's EmoEvaluation files; ``labels`` is "4class" (default) or "all"."""
    if labels not in LABEL_SETS:
        raise DatasetError(f"{CORPUS}: unknown labels {labels!r}; valid choices: {', '.join(LABEL_SETS)}")
    data_dir = require_dir(data_dir, CORPUS, EXPECTED)
    collector = CorpusCollector()
    for session_dir in _session_dirs(data_dir):
        evaluation_dir = session_dir / "dialog" / "EmoEvaluation"
        if not evaluation_dir.is_dir():
            collector.skip(session_dir, "no dialog/EmoEvaluation folder in this session")
            continue
        for evaluation in visible_files(evaluation_dir):
            if evaluation.suffix.lower() == ".txt":
                _add_dialog(collector, session_dir, evaluation, labels)
    return collector.corpus()


def _session_dirs(data_dir: Path) -> list[Path]:
    if _SESSION_DIR.match(data_dir.name) and (data_dir / "dialog").is_dir():
        return [data_dir]
    found = sorted((p for p in data_dir.iterdir() if p.is_dir() and _SESSION_DIR.match(p.name)),
                   key=lambda p: int(p.name[len("Session"):]))
    if not found:
        raise layout_error(CORPUS, data_dir, EXPECTED, listing(data_dir))
    return found


def _transcripts(session_dir: Path, dialog: str) -> dict[str, str]:
    """Utterance id -> transcript of one dialog (empty when the file is absent)."""
    path = session_dir / "dialog" / "transcriptions" / f"{dialog}.txt"
    if not path.is_file():
        return {}
    matches = (_TRANSCRIPT.match(line.strip()) for line in read_text(path).splitlines())
    return {m.group(1): m.group(2).strip() for m in matches if m}


def _add_dialog(collector: CorpusCollector, session_dir: Path, evaluation: Path, labels: str) -> None:
    dialog = evaluation.stem
    label_map = LABEL_SETS[labels]
    transcripts = _transcripts(session_dir, dialog)
    for number, line in enumerate(read_text(evaluation).splitlines(), 1):
        if not line.startswith("["):  # header (%), annotator lines (C-E1:, A-E2:), blank lines
            continue
        where = f"{evaluation}:{number}"
        m = _EVALUATION.match(line)
        if m is None:
            collector.skip(where, "evaluation line does not match [start - end] <id> <label> [V, A, D]")
            continue
        start, end, utt_id, code, vad = m.groups()
        ids = _UTTERANCE_ID.match(utt_id)
        if ids is None:
            collector.skip(where, f"utterance id {utt_id!r} does not match SesNN<F|M>_<dialog>_<F|M>NNN")
            continue
        audio = session_dir / "sentences" / "wav" / dialog / f"{utt_id}.wav"
        if code not in label_map:
            collector.skip(audio, _excluded_reason(code, labels))
            continue
        duration = collector.duration(audio)
        if duration is None:
            continue
        extra = {"dialog": dialog, "code": code, "start": float(start), "end": float(end)}
        extra.update(_vad(vad))
        collector.add(Utterance(
            id=utt_id,
            audio=audio,
            label=label_map[code],
            speaker=f"Ses{ids.group(1)}_{ids.group(2)}",
            transcript=transcripts.get(utt_id),
            duration=duration,
            session=session_dir.name,
            extra=extra,
        ), audio)


def _excluded_reason(code: str, labels: str) -> str:
    if code == NO_MAJORITY:
        return "label 'xxx' (annotators reached no majority) is excluded"
    if code in ALL_LABELS:
        return (f"label {code!r} not in the 4-class set ({', '.join(FOUR_CLASS)}); "
                "labels='all' keeps it")
    return f"unknown label {code!r}; valid: {', '.join(ALL_LABELS)}"


def _vad(text: str) -> dict[str, float]:
    """"2.5000, 3.0000, 2.0000" -> valence/arousal/dominance (empty if it does not parse)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        return {}
    return dict(zip(("valence", "arousal", "dominance"), values)) if len(values) == 3 else {}
