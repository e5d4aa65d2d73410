"""MELD (Poria et al., 2019): multi-party dialogues from *Friends*, one CSV per split.

``data_dir`` holds ``train_sent_emo.csv`` and ``dev_sent_emo.csv`` (``test_sent_emo.csv`` is
optional). Columns: Sr No., Utterance, Speaker, Emotion, Sentiment, Dialogue_ID, Utterance_ID,
Season, Episode, StartTime, EndTime. Labels keep MELD's own words (neutral, joy, surprise, anger,
sadness, disgust, fear). Ids are ``{split}_dia{D}_utt{U}``; ``extra["dialogue"]`` is
``{split}_dia{D}`` so dialogues are unique across splits.

Text: each CSV is read with the csv module (quoted commas and newlines, long rows) and decoded
by the rule of :func:`fusion_corpora.collect.read_text` (UTF-8, else cp1252, else latin-1, per
file). The text is kept exactly as the file has it: MELD's mis-encoded quotes (``’``, ``\\x92``...)
are not "cleaned".

Audio (``with_audio``): the recipe works from the CSVs alone (``audio=None``). When a clip folder
of a split exists beside the CSVs (``train_splits``, ``dev_splits_complete``,
``output_repeated_splits_test``, or ``{split}/{split}_splits``...), its clips ``dia{D}_utt{U}``
(.wav, .flac or .mp4) are used and a row without a clip is listed in ``Corpus.skipped``. ``.mp4``
paths are kept as they are: fusion decodes without ffmpeg, so loading them fails later with an
error naming the file (extract the audio to .wav first). Durations are read from .wav/.flac
headers only; ``extra`` keeps StartTime/EndTime as written.

Dialogue context (``context``, default 3): ``extra["context"]`` lists up to ``context`` previous
utterances of the same dialogue (lower Utterance_ID, oldest first) as ``{"speaker", "text"}``,
text exactly as in the CSV; any row whose ids parse counts as a turn, even one skipped for its
label. ``Utterance.transcript`` stays the utterance's own words; the ``gold-context`` transcriber
(fusion-transformers) reads the context. ``context=0`` stores none. The default is not 0 because
``fusion evaluate`` runs recipes with their default options: a model trained with up to 3
previous turns is scored with them.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from fusion.data import Utterance
from fusion.errors import DatasetError
from fusion.recipes import Corpus

from .collect import CorpusCollector, check_context, layout_error, listing, read_csv, require_dir

CORPUS = "meld"
EXPECTED = "train_sent_emo.csv and dev_sent_emo.csv (test_sent_emo.csv optional)"
SPLITS = ("train", "dev", "test")
REQUIRED_SPLITS = ("train", "dev")
LABELS = ("neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear")
COLUMNS = ("Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID")
CLIP_FOLDERS = {
    "train": ("train_splits", "train/train_splits"),
    "dev": ("dev_splits_complete", "dev_splits", "dev/dev_splits_complete"),
    "test": ("output_repeated_splits_test", "test_splits", "test/output_repeated_splits_test"),
}
CLIP_SUFFIXES = (".wav", ".flac", ".mp4")
HEADER_SUFFIXES = (".wav", ".flac")  # clips whose duration soundfile can read
DEFAULT_CONTEXT = 3  # previous turns stored in extra["context"]


def prepare_meld(data_dir: Path, with_audio: bool | None = None, context: int = DEFAULT_CONTEXT) -> Corpus:
    """Parse MELD's CSVs. ``with_audio``: None = use clip folders if present, False = text only,
    True = clip folders required. ``context``: previous turns of the dialogue kept per utterance."""
    check_context(CORPUS, context)
    data_dir = require_dir(data_dir, CORPUS, EXPECTED)
    csvs = {split: data_dir / f"{split}_sent_emo.csv" for split in SPLITS}
    missing = [csvs[s].name for s in REQUIRED_SPLITS if not csvs[s].is_file()]
    if missing:
        raise layout_error(CORPUS, data_dir, f"{EXPECTED}; missing {', '.join(missing)}", listing(data_dir))
    collector = CorpusCollector()
    for split in SPLITS:
        if csvs[split].is_file():
            clips = _clip_index(data_dir, split, with_audio)
            _add_split(collector, csvs[split], split, clips, context)
    return collector.corpus()


def _clip_index(data_dir: Path, split: str, with_audio: bool | None) -> dict[str, Path] | None:
    """Clip stem -> file for one split, or None when the recipe runs text-only for it."""
    if with_audio is False:
        return None
    folders = [data_dir / name for name in CLIP_FOLDERS[split] if (data_dir / name).is_dir()]
    if not folders:
        if with_audio:
            raise DatasetError(f"{CORPUS}: with_audio=True but no clip folder for split {split!r} in "
                               f"{data_dir}; expected one of: {', '.join(CLIP_FOLDERS[split])}")
        return None
    index: dict[str, Path] = {}
    for path in sorted(folders[0].iterdir()):
        if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in CLIP_SUFFIXES:
            # prefer a decodable copy (.wav/.flac) over .mp4 when both exist
            if path.stem not in index or index[path.stem].suffix.lower() == ".mp4":
                index[path.stem] = path
    return index


def _dialogue_turns(records: list, column: dict[str, int], width: int) -> dict[int, list[tuple[int, dict]]]:
    """Dialogue_ID -> [(Utterance_ID, {"speaker", "text"})] sorted by Utterance_ID, over every row
    whose ids parse."""
    turns: dict[int, list[tuple[int, dict]]] = defaultdict(list)
    for _, row in records:
        if len(row) < width:
            continue
        try:
            dialogue, index = int(row[column["Dialogue_ID"]]), int(row[column["Utterance_ID"]])
        except ValueError:
            continue
        turns[dialogue].append((index, {"speaker": row[column["Speaker"]].strip(),
                                        "text": row[column["Utterance"]]}))
    for rows in turns.values():
        rows.sort(key=lambda r: r[0])
    return turns


def _previous_turns(turns: list[tuple[int, dict]], index: int, k: int) -> list[dict]:
    """The last ``k`` turns before Utterance_ID ``index`` (oldest first)."""
    return [turn for i, turn in turns if i < index][-k:]


def _add_split(collector: CorpusCollector, csv_path: Path, split: str, clips: dict[str, Path] | None,
               context: int) -> None:
    header, records = read_csv(csv_path)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DatasetError(f"{CORPUS}: {csv_path} has no column(s) {', '.join(missing)}; "
                           f"expected columns {', '.join(COLUMNS)}")
    column = {name: i for i, name in enumerate(header)}
    turns = _dialogue_turns(records, column, len(header)) if context else {}
    for line, row in records:
        where = f"{csv_path}:{line}"
        if len(row) < len(header):
            collector.skip(where, f"row has {len(row)} fields, the header {len(header)}")
            continue
        get = {name: row[i] for name, i in column.items()}
        label = get["Emotion"].strip().lower()
        if label not in LABELS:
            collector.skip(where, f"unknown emotion {get['Emotion']!r}; valid: {', '.join(LABELS)}")
            continue
        if not get["Speaker"].strip():
            collector.skip(where, "empty Speaker")
            continue
        try:
            dialogue, index = int(get["Dialogue_ID"]), int(get["Utterance_ID"])
        except ValueError:
            collector.skip(where, f"Dialogue_ID {get['Dialogue_ID']!r} / Utterance_ID "
                                  f"{get['Utterance_ID']!r} are not integers")
            continue
        clip_name = f"dia{dialogue}_utt{index}"
        audio = duration = None
        if clips is not None:
            audio = clips.get(clip_name)
            if audio is None:
                collector.skip(where, f"no clip {clip_name}.(wav|flac|mp4) for split {split!r}")
                continue
            if audio.suffix.lower() in HEADER_SUFFIXES:
                duration = collector.duration(audio)
                if duration is None:
                    continue
        extra = {"dialogue": f"{split}_dia{dialogue}", "utterance": index,
                 "sentiment": get["Sentiment"].strip().lower()}
        extra.update({key: get[col] for key, col in (("season", "Season"), ("episode", "Episode"),
                                                     ("start", "StartTime"), ("end", "EndTime"))
                      if col in get})
        if context:
            extra["context"] = _previous_turns(turns[dialogue], index, context)
        collector.add(Utterance(
            id=f"{split}_{clip_name}",
            audio=audio,
            label=label,
            speaker=get["Speaker"].strip(),
            transcript=get["Utterance"],
            duration=duration,
            split=split,
            extra=extra,
        ), where)
