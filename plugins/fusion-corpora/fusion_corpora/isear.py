"""ISEAR (Scherer & Wallbott, 1994): self-reported situations of seven emotions. Text only.

``data_dir`` is the folder holding ``isear.csv`` (or the file itself): pipe-separated, a header row,
every row ending with ``|``. The label is column ``Field1`` (joy, fear, anger, sadness, disgust,
shame, guilt: kept as ISEAR's own words, as MELD does; ``fusion.labels`` maps them), the text is
column ``SIT``, the respondent column ``ID``, a unique row key column ``MYKEY``.

Parsing: ``SIT`` is free text and some situations contain ``|`` themselves (about 160 rows of the
real file, where a naive split finds 44-52 fields instead of 43). The columns before ``SIT`` and
after it are fixed, so a row is split on ``|`` and ``SIT`` is everything between them, re-joined
with ``|``: the text is kept exactly as written (including the file's ``á`` line-break marks and
``\\"`` quotes, which are not "cleaned"). Rows that still cannot be read are listed in
``Corpus.skipped`` with the reason: fewer fields than the header, an unknown label, an empty text,
a respondent ``ID`` or ``MYKEY`` that is missing, and a repeated ``MYKEY`` (a duplicate id).

Speakers and splits: the speaker is the respondent (``ID``; each wrote up to 7 situations), so the
text of one person never lands in two splits. ISEAR has no splits; respondents are dealt to
``train`` / ``dev`` / ``test`` in a seeded random order, 80/10/10 of the respondents (``seed``
option, default 0), stored in ``Utterance.split``. Ids are ``isear_{MYKEY}``.
"""

from __future__ import annotations

import random
from pathlib import Path

from fusion.data import Utterance
from fusion.errors import DatasetError
from fusion.recipes import Corpus

from .collect import CorpusCollector, layout_error, listing, read_text, require_dir

CORPUS = "isear"
FILE_NAME = "isear.csv"
EXPECTED = f"{FILE_NAME}: pipe-separated, columns ID ... Field1 ... MYKEY|SIT|STATE|"
LABELS = ("joy", "fear", "anger", "sadness", "disgust", "shame", "guilt")
COLUMNS = ("ID", "Field1", "MYKEY", "SIT")
SPLIT_FRACTIONS = (("train", 0.8), ("dev", 0.1), ("test", 0.1))


def prepare_isear(data_dir: Path, seed: int = 0) -> Corpus:
    """Parse ``isear.csv``; respondents are split train/dev/test 80/10/10 in an order drawn from ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise DatasetError(f"{CORPUS}: option seed must be an integer, got {seed!r}")
    path = _csv_path(Path(data_dir))
    lines = read_text(path).splitlines()
    header = lines[0].split("|") if lines else []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DatasetError(f"{CORPUS}: {path} has no column(s) {', '.join(missing)} in its first line; "
                           f"expected {EXPECTED}")
    collector = CorpusCollector()
    rows = _read_rows(collector, path, lines, header)
    splits = split_respondents(sorted({respondent for _, _, respondent, _, _ in rows}), seed)
    for where, key, respondent, label, text in rows:  # a repeated MYKEY is skipped by the collector
        collector.add(Utterance(id=f"isear_{key}", audio=None, label=label, speaker=respondent,
                                transcript=text, split=splits[respondent]), where)
    return collector.corpus()


def _csv_path(data_dir: Path) -> Path:
    if data_dir.is_file():
        return data_dir
    data_dir = require_dir(data_dir, CORPUS, EXPECTED)
    if not (data_dir / FILE_NAME).is_file():
        raise layout_error(CORPUS, data_dir, EXPECTED, listing(data_dir))
    return data_dir / FILE_NAME


def _read_rows(collector: CorpusCollector, path: Path, lines: list[str],
               header: list[str]) -> list[tuple[str, str, str, str, str]]:
    """(file:line, MYKEY, respondent, label, text) of every readable row; the others are skipped with the
    reason."""
    column = {name: i for i, name in enumerate(header) if name}
    text_at = column["SIT"]
    after = len(header) - text_at - 1  # fields after SIT, the trailing empty one included
    rows = []
    for n, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        fields = line.split("|")
        if len(fields) < len(header):
            collector.skip(where, f"row has {len(fields)} '|'-separated fields, the header {len(header)}")
            continue
        text = "|".join(fields[text_at:len(fields) - after])  # SIT may hold '|' itself
        label = fields[column["Field1"]].strip().lower()
        respondent, key = fields[column["ID"]].strip(), fields[column["MYKEY"]].strip()
        if label not in LABELS:
            reason = f"unknown emotion {fields[column['Field1']]!r} in Field1; valid: {', '.join(LABELS)}"
        elif not text.strip():
            reason = "empty SIT (situation text)"
        elif not respondent or not key:
            reason = "empty ID (respondent)" if not respondent else "empty MYKEY"
        else:
            reason = None
        if reason:
            collector.skip(where, reason)
            continue
        rows.append((where, key, respondent, label, text))
    return rows


def split_respondents(respondents: list[str], seed: int) -> dict[str, str]:
    """Respondent -> split: the sorted respondents shuffled by ``seed``, then cut 80/10/10 in that order."""
    order = sorted(respondents)
    random.Random(seed).shuffle(order)
    out, start = {}, 0
    for i, (split, fraction) in enumerate(SPLIT_FRACTIONS):
        end = len(order) if i == len(SPLIT_FRACTIONS) - 1 else start + round(fraction * len(order))
        out.update({r: split for r in order[start:end]})
        start = end
    return out
