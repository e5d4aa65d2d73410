"""The ``paired-ravdess-meld`` recipe: RAVDESS speech clips paired by emotion with MELD texts.

Each RAVDESS speech clip (calm dropped: 7 classes) is paired, by label, with a MELD utterance of the
same emotion (:data:`LABEL_MAP`); the MELD text is the clip's "transcript" (transcriber ``gold``).
Every clip has two fixed partners, chosen once by a seeded deal that does not depend on the fold:
one from MELD train and one from MELD dev. The recipe option ``test_actors`` decides which one
becomes the transcript: dev for the clips of the test actors, train for every other clip, so a
benchmark that runs one ablation per fold (``test_actors`` = the fold's test actors) never tests on a
text it trained on. (An Utterance has one transcript and the ablation makes its folds after the
recipe ran; the recipe option is the one place where the fold is known before the transcripts are.)
``train_texts`` K deals every training clip K MELD train texts and lists it K times (same audio).
:func:`register` registers the recipe in-process (bench/accuracy/paired_fusion.py).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from pathlib import Path

from fusion import hookimpl
from fusion.data import Utterance
from fusion.errors import DatasetError
from fusion.recipes import Corpus, prepare_dataset

DATASET = "paired-ravdess-meld"
# RAVDESS label -> MELD label; RAVDESS "calm" has no MELD counterpart and is left out.
LABEL_MAP = {"neutral": "neutral", "happy": "joy", "sad": "sadness", "angry": "anger",
             "fearful": "fear", "disgust": "disgust", "surprised": "surprise"}
FOLDS = (("01", "02", "03", "04"), ("05", "06", "07", "08"), ("09", "10", "11", "12"), ("13", "14", "15", "16"))


def deal_partners(clips: list[Utterance], pool: list[Utterance], split: str, seed: int,
                  per_clip: int = 1) -> dict[str, list[Utterance]]:
    """clip id -> the ``per_clip`` MELD utterances of the mapped emotion dealt to it from ``pool`` (one
    MELD split).

    Per emotion: the pool sorted by id, shuffled by ``Random(f"{seed}:{split}:{label}")``, dealt to
    the clips in (speaker, id) order, one text per clip per round, cycled when the pool runs out; a
    clip's texts are distinct while the pool holds at least ``per_clip``. Round 0 is the whole deal of
    ``per_clip=1`` (the n-th clip gets the n-th text), so more texts per clip only add texts.
    """
    by_label: dict[str, list[Utterance]] = defaultdict(list)
    for m in sorted(pool, key=lambda m: m.id):
        by_label[m.label].append(m)
    partners = {}
    for label in sorted({c.label for c in clips}):
        candidates = list(by_label.get(LABEL_MAP[label], []))
        if not candidates:
            raise DatasetError(f"dataset {DATASET!r}: MELD {split} has no {LABEL_MAP[label]!r} utterance "
                               f"to pair with RAVDESS {label!r}")
        random.Random(f"{seed}:{split}:{label}").shuffle(candidates)
        group = sorted((c for c in clips if c.label == label), key=lambda c: (c.speaker, c.id))
        for n, clip in enumerate(group):  # round 0: the n-th clip gets the n-th text
            partners[clip.id] = [candidates[n % len(candidates)]]
        deck = len(group)  # later rounds deal on from the same cycled deck, skipping a clip's own texts
        for _ in range(1, per_clip):
            for clip in group:
                own = {m.id for m in partners[clip.id]}
                while len(own) < len(candidates) and candidates[deck % len(candidates)].id in own:
                    deck += 1
                partners[clip.id].append(candidates[deck % len(candidates)])
                deck += 1
    return partners


def prepare_paired(data_dir: Path, test_actors: tuple[str, ...] | list[str] | str = (), seed: int = 0,
                   train_texts: int = 1) -> Corpus:
    """RAVDESS clips (``data_dir/ravdess``) with MELD texts (``data_dir/meld``) as transcripts.

    ``test_actors``: actors whose clips get their MELD dev partner (test); all others get their MELD
    train partner. ``seed``: the pairing deal. ``extra["meld_split"]`` marks the text's MELD split.
    ``train_texts``: MELD train partners per non-test clip: the clip is listed that many times, same
    audio, one text each (ids ``CLIP``, ``CLIP+t1``, ...); test clips always have one (dev) text.
    """
    data_dir = Path(data_dir)
    if isinstance(train_texts, bool) or not isinstance(train_texts, int) or train_texts < 1:
        raise DatasetError(f"dataset {DATASET!r}: train_texts must be a whole number >= 1, got {train_texts!r}")
    for sub in ("ravdess", "meld"):
        if not (data_dir / sub).is_dir():
            raise DatasetError(f"dataset {DATASET!r}: {data_dir} needs a 'ravdess' and a 'meld' folder "
                               f"(e.g. ../shared/data); {data_dir / sub} is missing")
    ravdess = prepare_dataset("ravdess", data_dir / "ravdess")
    meld = prepare_dataset("meld", data_dir / "meld", with_audio=False)
    skipped = [*ravdess.skipped, *meld.skipped]
    clips = []
    for clip in ravdess:
        if clip.label in LABEL_MAP:
            clips.append(clip)
        else:
            skipped.append((str(clip.audio), f"RAVDESS {clip.label!r} has no MELD emotion to pair with"))
    actors = sorted({c.speaker for c in clips})
    test = set(test_actors.split(",") if isinstance(test_actors, str) else map(str, test_actors)) - {""}
    if test - set(actors):
        raise DatasetError(f"dataset {DATASET!r}: unknown test actor(s) {sorted(test - set(actors))}; "
                           f"valid actors: {', '.join(actors)}")
    partners = {split: deal_partners(clips, [m for m in meld if m.split == split], split, seed,
                                     per_clip=train_texts if split == "train" else 1)
                for split in ("train", "dev")}
    utterances = []
    for clip in clips:
        split = "dev" if clip.speaker in test else "train"
        for k, partner in enumerate(partners[split][clip.id]):
            utterances.append(Utterance(
                id=clip.id if k == 0 else f"{clip.id}+t{k}", audio=clip.audio, label=clip.label,
                speaker=clip.speaker, transcript=partner.transcript, duration=clip.duration,
                extra={**clip.extra, "meld_split": split, "meld_id": partner.id, "meld_label": partner.label,
                       "ravdess_sentence": clip.transcript}))
    return Corpus(utterances, skipped)


class PairedCorpusPlugin:
    """In-process plugin registering the ``paired-ravdess-meld`` recipe."""

    @hookimpl
    def register_datasets(self, register):
        register(DATASET, prepare_paired, protocol="speaker",
                 description="RAVDESS clips paired by emotion with MELD texts (train texts; dev for test_actors)")


def register() -> None:
    """Register the recipe once per process."""
    from fusion.plugins import pm, register_plugin

    if not pm.has_plugin(DATASET):
        register_plugin(PairedCorpusPlugin(), name=DATASET, distribution="bench/accuracy/paired_fusion.py")


def recipe_options(test_actors, seed: int, train_texts: int = 1) -> dict:
    """The recipe's options; ``train_texts`` only when > 1, so a one-text run's config is what it always was."""
    return {"test_actors": list(test_actors), "seed": seed, **({"train_texts": train_texts} if train_texts > 1 else {})}


def check_fold(utts: list[Utterance], records, test_actors: tuple[str, ...]) -> dict:
    """The fold's run ``records`` tested exactly the clips with MELD dev texts, all of ``test_actors``;
    how many test texts also occur verbatim among the fold's training pairs."""
    dev = {u.id for u in utts if u.extra["meld_split"] == "dev"}
    tested = {i for record in records for i in record.ids}
    if tested != dev or any(u.speaker not in test_actors for u in utts if u.id in dev):
        raise RuntimeError(f"fold {','.join(test_actors)}: test utterances are not exactly the MELD-dev-text clips "
                           "of the test actors")
    train_texts = {u.transcript for u in utts if u.id not in dev}
    dev_utts = [u for u in utts if u.id in dev]
    return {"test_actors": list(test_actors), "n_test": len(dev_utts), "n_train_val": len(utts) - len(dev),
            "test_meld_ids": len({u.extra["meld_id"] for u in dev_utts}),
            "test_texts_seen_verbatim_in_training_pairs": sum(u.transcript in train_texts for u in dev_utts)}


def pairing_stats(data_dir: Path, seed: int, train_texts: int = 1) -> dict:
    """How often each MELD utterance is used, per split (every clip's dev and train partners)."""
    stats = {}
    for split, test_actors in (("train", ()), ("dev", sorted({a for f in FOLDS for a in f}))):
        utts = prepare_dataset(DATASET, data_dir, **recipe_options(test_actors, seed, train_texts))
        uses = Counter(u.extra["meld_id"] for u in utts)
        per_label = defaultdict(set)
        for u in utts:
            per_label[u.label].add(u.extra["meld_id"])
        stats[split] = {"clips": len({u.audio for u in utts}), "pairs": len(utts),
                        "distinct_meld_utterances": len(uses), "max_uses": max(uses.values()),
                        "distinct_per_label": {label: len(ids) for label, ids in sorted(per_label.items())}}
    return stats
