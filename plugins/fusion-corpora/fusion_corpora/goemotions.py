"""GoEmotions (Demszky et al., 2020), Reddit comments with Ekman's six emotions + neutral. Text only.

``data_dir`` holds ``train.tsv`` and ``dev.tsv`` (``test.tsv`` optional): one comment per line,
``text<TAB>label ids<TAB>comment id``, the ids comma-separated (a comment may have several), and
``labels.txt``, one label name per line, line ``i`` naming id ``i``. Without ``labels.txt`` the
Ekman order of the released files is used: 0 anger, 1 disgust, 2 fear, 3 joy, 4 neutral,
5 sadness, 6 surprise. Splits are stored as ``train`` / ``dev`` / ``test``.

Labels keep GoEmotions' own words, as MELD does (``fusion.labels`` maps joy -> happy, ...).

**Multi-label comments are skipped**, each listed in ``Corpus.skipped`` with its labels: fusion
trains single-label classifiers, and picking one of several labels would invent an annotation
(about 9 % of each split of the real release). A repeated id (``3,3``) counts once.

Speakers: Reddit authors are not in the files, so each comment is its own pseudo speaker
(``speaker`` = the comment id); the splits are the corpus' own. Ids are ``{split}_{comment id}``.
Text is kept as written (Reddit markup, ``[NAME]`` placeholders). Lines that do not have three
tab-separated fields, an empty text, or an id outside ``labels.txt`` are skipped with the reason.
"""

from __future__ import annotations

from pathlib import Path

from fusion.data import Utterance
from fusion.recipes import Corpus

from .collect import CorpusCollector, layout_error, listing, read_text, require_dir

CORPUS = "goemotions"
EXPECTED = "train.tsv and dev.tsv (test.tsv optional) with text<TAB>label ids<TAB>comment id, and labels.txt"
SPLITS = ("train", "dev", "test")
REQUIRED_SPLITS = ("train", "dev")
EKMAN_LABELS = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")  # labels.txt order


def prepare_goemotions(data_dir: Path) -> Corpus:
    """Parse GoEmotions' TSV files (single-label comments; multi-label ones are listed as skipped)."""
    data_dir = require_dir(data_dir, CORPUS, EXPECTED)
    missing = [f"{s}.tsv" for s in REQUIRED_SPLITS if not (data_dir / f"{s}.tsv").is_file()]
    if missing:
        raise layout_error(CORPUS, data_dir, f"{EXPECTED}; missing {', '.join(missing)}", listing(data_dir))
    names = _label_names(data_dir / "labels.txt")
    collector = CorpusCollector()
    for split in SPLITS:
        if (data_dir / f"{split}.tsv").is_file():
            _add_split(collector, data_dir / f"{split}.tsv", split, names)
    return collector.corpus()


def _label_names(path: Path) -> tuple[str, ...]:
    if not path.is_file():
        return EKMAN_LABELS
    return tuple(line.strip().lower() for line in read_text(path).splitlines() if line.strip())


def _add_split(collector: CorpusCollector, path: Path, split: str, names: tuple[str, ...]) -> None:
    for n, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        fields = line.split("\t")
        if len(fields) != 3:
            collector.skip(where, f"line has {len(fields)} tab-separated fields; expected 3 "
                                  "(text, label ids, comment id)")
            continue
        text, codes, comment = fields[0].strip(), fields[1].strip(), fields[2].strip()
        if not text or not comment:
            collector.skip(where, "empty text" if not text else "empty comment id")
            continue
        ids = list(dict.fromkeys(c.strip() for c in codes.split(",")))
        bad = [c for c in ids if not (c.isdigit() and int(c) < len(names))]
        if bad:
            collector.skip(where, f"label id(s) {', '.join(map(repr, bad))} not in labels.txt "
                                  f"(0..{len(names) - 1}: {', '.join(names)})")
            continue
        labels = [names[int(c)] for c in ids]
        if len(labels) > 1:
            collector.skip(where, f"multi-label comment ({', '.join(labels)}); only single-label comments are kept")
            continue
        collector.add(Utterance(id=f"{split}_{comment}", audio=None, label=labels[0], speaker=comment,
                                transcript=fields[0], split=split), where)
