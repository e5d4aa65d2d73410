"""Recipe of the ``demo`` dataset: read the committed manifest and check the audio is there."""

from __future__ import annotations

from pathlib import Path

from fusion.data import read_manifest
from fusion.errors import DatasetError
from fusion.recipes import Corpus

MANIFEST = "manifest.jsonl"


def prepare_demo(data_dir) -> Corpus:
    """The synthetic demo corpus in ``data_dir`` (``manifest.jsonl`` + ``audio/``).

    Each :class:`~fusion.data.Utterance` has the spoken sentence as ``transcript`` and, in
    ``extra``, which channels carry the emotion (``evidence``: both / text / audio / none),
    the emotion keywords of the sentence and the synthesis and recording settings.
    A row whose audio file is missing is reported in ``Corpus.skipped``, not dropped silently.
    """
    data_dir = Path(data_dir)
    manifest = data_dir / MANIFEST
    if not manifest.is_file():
        raise DatasetError(f"dataset 'demo': {manifest} not found; the committed corpus lives in "
                           "fusion_corpora/demo/data, or regenerate it with "
                           f"`python -m fusion_corpora.demo.generate --out {data_dir}`")
    utterances, skipped = [], []
    for utt in read_manifest(manifest):
        if utt.audio is None or not Path(utt.audio).is_file():
            skipped.append((str(utt.audio or utt.id), f"demo clip {utt.id}: audio file missing"))
            continue
        if not utt.transcript:
            skipped.append((str(utt.audio), f"demo clip {utt.id}: no transcript in the manifest"))
            continue
        utterances.append(utt)
    return Corpus(utterances, skipped)
