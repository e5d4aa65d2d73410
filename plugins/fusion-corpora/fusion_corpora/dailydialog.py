"""DailyDialog (Li et al., 2017): everyday conversational English, written two-person dialogues. Text only.

``data_dir`` holds, per split, ``dialogues_{split}.txt`` (one dialogue per line, each utterance
followed by ``__eou__``) and ``dialogues_emotion_{split}.txt`` (one line per dialogue, one label id
per utterance), either directly or in a ``{split}/`` folder (the release zip's layout). Splits
``train`` and ``validation`` are required, ``test`` is optional; DailyDialog's ``validation`` is
stored as ``split="dev"``, the name MELD and the ``predefined`` fold protocol use.

Labels keep DailyDialog's own words, as MELD does (``fusion.labels`` maps them onto the canonical
vocabulary at the policy step): 0 ``no emotion``, 1 ``anger``, 2 ``disgust``, 3 ``fear``,
4 ``happiness``, 5 ``sadness``, 6 ``surprise``.

Speakers: the corpus names none. The dialogue is the speaker (``{split}_dia{D}``, also in
``extra["dialogue"]``), so speaker-disjoint folds never split a conversation. Ids are
``{split}_dia{D}_utt{U}``, ``D`` the 0-based line of the dialogue, ``U`` the 0-based turn.

Text: each utterance is stripped of the spaces around ``__eou__`` and otherwise kept as written
(tokenised, ``Say , Jim , how ...``). ``extra["context"]`` lists up to ``context`` previous turns
(default 3, as MELD) as ``{"speaker", "text"}``, the speakers named ``A`` and ``B`` by alternation
(the corpus' dialogues alternate turns).

Mismatches are reported, never fatal: when a dialogue has more utterances than labels (one train
dialogue of the real release has 12 and 11), labels are taken as aligned from the first turn and the
extra utterances are listed in ``Corpus.skipped``; so are extra labels, unknown label ids, empty
utterances and dialogue lines the other file does not have.
"""

from __future__ import annotations

from pathlib import Path

from fusion.data import Utterance
from fusion.errors import DatasetError
from fusion.recipes import Corpus

from .collect import CorpusCollector, check_context, layout_error, listing, read_text, require_dir

CORPUS = "dailydialog"
EXPECTED = ("dialogues_{train,validation}.txt and dialogues_emotion_{train,validation}.txt "
            "(test optional), directly or in {split}/ folders")
SPLITS = {"train": "train", "validation": "dev", "test": "test"}  # file name -> Utterance.split
REQUIRED_SPLITS = ("train", "validation")
LABELS = {"0": "no emotion", "1": "anger", "2": "disgust", "3": "fear", "4": "happiness", "5": "sadness",
          "6": "surprise"}
SEPARATOR = "__eou__"
DEFAULT_CONTEXT = 3


def prepare_dailydialog(data_dir: Path, context: int = DEFAULT_CONTEXT) -> Corpus:
    """Parse DailyDialog's text and label files; ``context``: previous turns kept per utterance."""
    check_context(CORPUS, context)
    data_dir = require_dir(data_dir, CORPUS, EXPECTED)
    files = {split: _split_files(data_dir, split) for split in SPLITS}
    missing = [f"dialogues_{s}.txt" for s in REQUIRED_SPLITS if files[s] is None]
    if missing:
        raise layout_error(CORPUS, data_dir, f"{EXPECTED}; missing {', '.join(missing)}", listing(data_dir))
    collector = CorpusCollector()
    for split, paths in files.items():
        if paths is not None:
            _add_split(collector, *paths, SPLITS[split], context)
    return collector.corpus()


def _split_files(data_dir: Path, split: str) -> tuple[Path, Path] | None:
    """(dialogues, emotions) of ``split``, or None when there is no dialogue file for it."""
    for folder in (data_dir, data_dir / split):
        text, labels = folder / f"dialogues_{split}.txt", folder / f"dialogues_emotion_{split}.txt"
        if text.is_file():
            if not labels.is_file():
                raise DatasetError(f"{CORPUS}: {text} has no label file {labels.name} beside it")
            return text, labels
    return None


def _lines(path: Path) -> list[str]:
    lines = read_text(path).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _add_split(collector: CorpusCollector, text_path: Path, label_path: Path, split: str, context: int) -> None:
    dialogues, label_lines = _lines(text_path), _lines(label_path)
    for n in range(len(dialogues), len(label_lines)):
        collector.skip(f"{label_path}:{n + 1}", f"label line has no dialogue line in {text_path.name}")
    for n, line in enumerate(dialogues):
        where = f"{text_path}:{n + 1}"
        if n >= len(label_lines):
            collector.skip(where, f"dialogue has no label line in {label_path.name}")
            continue
        parts = line.split(SEPARATOR)
        turns = [p.strip() for p in parts[:-1]]
        if parts[-1].strip():  # text after the last separator: an utterance without its __eou__
            turns.append(parts[-1].strip())
        _add_dialogue(collector, where, turns, label_lines[n].split(), f"{split}_dia{n}", split, context)


def _add_dialogue(collector: CorpusCollector, where: str, turns: list[str], ids: list[str], dialogue: str,
                  split: str, context: int) -> None:
    if len(turns) != len(ids):
        first, last = min(len(turns), len(ids)) + 1, max(len(turns), len(ids))
        what = ("utterance" if len(turns) > len(ids) else "label") + ("s" if last > first else "")
        span = f"{first}..{last}" if last > first else f"{first}"
        collector.skip(where, f"dialogue has {len(turns)} utterances but {len(ids)} labels; labels taken as "
                              f"aligned from the first turn, {what} {span} skipped")
    history: list[dict] = []
    for k, (text, code) in enumerate(zip(turns, ids)):
        turn = {"speaker": "AB"[k % 2], "text": text}
        previous = history[-context:] if context else []
        history.append(turn)
        if code not in LABELS:
            collector.skip(f"{where} turn {k + 1}", f"unknown label id {code!r}; valid: "
                                                     + ", ".join(f"{i} {w}" for i, w in LABELS.items()))
            continue
        if not text:
            collector.skip(f"{where} turn {k + 1}", "empty utterance")
            continue
        extra = {"dialogue": dialogue, "utterance": k}
        if context:
            extra["context"] = previous
        collector.add(Utterance(id=f"{dialogue}_utt{k}", audio=None, label=LABELS[code], speaker=dialogue,
                                transcript=text, split=split, extra=extra), where)
