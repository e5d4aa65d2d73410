"""Utterances, manifests (JSONL), and speaker-independent folds."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DatasetError


@dataclass(frozen=True)
class Utterance:
    """One labelled utterance. Recipes produce these; nothing downstream opens the corpus again."""

    id: str                          # unique within the corpus
    audio: Path | None               # audio file; None for text-only corpora (MELD CSVs alone)
    label: str                       # emotion label as the corpus names it (lower case)
    speaker: str                     # speaker id: the unit of speaker-independent folds
    transcript: str | None = None    # gold transcript where the corpus defines one
    duration: float | None = None    # seconds, from the file header
    split: str | None = None         # predefined split ("train" / "dev" / "test") if any
    session: str | None = None       # recording session (IEMOCAP); fold unit for protocol "session"
    extra: dict = field(default_factory=dict, compare=False)  # corpus-specific fields (dialogue id...)

    def to_dict(self, relative_to: Path | None = None) -> dict:
        d = dataclasses.asdict(self)
        if self.audio is not None:
            audio = Path(self.audio)
            if relative_to is not None:
                try:
                    audio = Path(os.path.relpath(audio, relative_to))
                except ValueError:  # different drive (Windows)
                    pass
            d["audio"] = str(audio)
        return {k: v for k, v in d.items() if v not in (None, {})}

    @classmethod
    def from_dict(cls, d: dict, base_dir: Path | None = None) -> "Utterance":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        values = {k: v for k, v in d.items() if k in names}
        extra = dict(values.pop("extra", {}) or {})
        extra.update({k: d[k] for k in unknown})
        for required in ("id", "label", "speaker"):
            if values.get(required) in (None, ""):
                raise DatasetError(f"manifest row {d!r} has no {required!r}")
        audio = values.get("audio")
        if audio not in (None, ""):
            audio = Path(audio)
            if base_dir is not None and not audio.is_absolute():
                audio = base_dir / audio
            values["audio"] = audio
        else:
            values["audio"] = None
        values["id"] = str(values["id"])
        values["speaker"] = str(values["speaker"])
        values["label"] = str(values["label"])
        return cls(**values, extra=extra)


def write_manifest(utterances: Iterable[Utterance], path: str | os.PathLike) -> Path:
    """Write JSONL atomically; audio paths relative to the manifest's folder."""
    from .cache import atomic_write_text

    path = Path(path)
    base = path.resolve().parent
    lines = [json.dumps(u.to_dict(relative_to=base), ensure_ascii=False) for u in utterances]
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))
    return path


def read_manifest(path: str | os.PathLike) -> list[Utterance]:
    """Read a JSONL manifest written by :func:`write_manifest` (relative paths resolve against it)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"manifest {path} not found")
    base = path.resolve().parent
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
            out.append(Utterance.from_dict(row, base))
    check_unique_ids(out, str(path))
    return out


def check_unique_ids(utterances: Sequence[Utterance], where: str) -> None:
    dupes = [k for k, n in Counter(u.id for u in utterances).items() if n > 1]
    if dupes:
        raise DatasetError(f"{where}: duplicate utterance ids: {', '.join(dupes[:5])}")


def clip_set_hash(utterances: Sequence[Utterance]) -> str:
    """sha256 over the utterances' resolved audio paths (ids for text-only ones), not their labels or
    ids: which clips, whichever manifest lists them, labelled or not."""
    h = hashlib.sha256()
    for name in sorted(str(Path(u.audio).resolve()) if u.audio is not None else f"id:{u.id}" for u in utterances):
        h.update(name.encode() + b"\0")
    return h.hexdigest()


def manifest_hash(utterances: Sequence[Utterance]) -> str:
    """sha256 over the manifest rows (ids, labels, speakers, transcripts, splits)."""
    h = hashlib.sha256()
    for u in sorted(utterances, key=lambda u: u.id):
        h.update(json.dumps([u.id, u.label, u.speaker, u.transcript, u.split, u.session,
                             str(u.audio) if u.audio else None]).encode())
    return h.hexdigest()


def summarize(utterances: Sequence[Utterance]) -> dict:
    """Counts per label and per speaker (printed by `fusion prepare`)."""
    return {
        "utterances": len(utterances),
        "labels": dict(sorted(Counter(u.label for u in utterances).items())),
        "speakers": dict(sorted(Counter(u.speaker for u in utterances).items())),
    }


# ----------------------------------------------------------------------------- folds

PROTOCOLS = ("speaker", "session", "predefined")


@dataclass(frozen=True)
class Fold:
    """Index lists into the utterance list. Train, validation and test are disjoint."""

    index: int
    train: tuple[int, ...]
    val: tuple[int, ...]
    test: tuple[int, ...]
    test_groups: tuple[str, ...] = ()  # speakers / sessions / split tested in this fold

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _group_of(u: Utterance, protocol: str) -> str:
    if protocol == "session":
        if u.session is None:
            raise DatasetError(f"protocol 'session' needs a session for every utterance; {u.id} has none")
        return u.session
    return u.speaker


def make_folds(
    utterances: Sequence[Utterance],
    k: int = 5,
    protocol: str = "speaker",
    seed: int = 0,
    val_fraction: float = 0.15,
) -> list[Fold]:
    """Group-disjoint folds: no speaker (or session) appears in two of train/val/test.

    * ``speaker`` / ``session``: groups are dealt to ``k`` test folds in a seeded order that
      balances utterance counts; each group is tested exactly once. Validation is a
      group-disjoint slice (about ``val_fraction``) of the remaining training groups,
      used for early stopping and model selection only.
    * ``predefined``: train = split "train"; val = "dev"; test = "test" (if there is no
      test split, test = "dev" and validation is carved from train by speaker instead).
    """
    if protocol not in PROTOCOLS:
        raise DatasetError(f"unknown fold protocol {protocol!r}; valid choices: {', '.join(PROTOCOLS)}")
    if not utterances:
        raise DatasetError("cannot make folds from an empty utterance list")
    if protocol == "predefined":
        return [_predefined_fold(utterances, seed, val_fraction)]

    groups = [_group_of(u, protocol) for u in utterances]
    sizes = Counter(groups)
    if k < 2:
        raise DatasetError(f"need at least 2 folds, got {k}")
    if len(sizes) < k:
        raise DatasetError(f"protocol {protocol!r} needs at least k={k} distinct {protocol}s, found {len(sizes)}")
    rng = random.Random(seed)
    order = sorted(sizes)
    rng.shuffle(order)
    order.sort(key=lambda g: -sizes[g])  # largest first, ties in seeded order
    buckets: list[list[str]] = [[] for _ in range(k)]
    load = [0] * k
    for g in order:  # greedy: next group to the lightest fold
        i = min(range(k), key=lambda j: (load[j], len(buckets[j]), j))
        buckets[i].append(g)
        load[i] += sizes[g]
    folds = []
    for i, test_groups in enumerate(buckets):
        rest = [g for g in order if g not in set(test_groups)]
        val_groups = _pick_val_groups(rest, sizes, val_fraction, random.Random(seed * 1000 + i))
        folds.append(_fold_from_groups(i, groups, set(test_groups), set(val_groups)))
    return folds


def folds_from_groups(utterances: Sequence[Utterance], test_groups: Sequence[Sequence[str]],
                      protocol: str = "speaker", seed: int = 0, val_fraction: float = 0.15) -> list[Fold]:
    """Folds with explicitly chosen test speakers/sessions (e.g. RAVDESS actors 01-04, 05-08...)."""
    groups = [_group_of(u, protocol) for u in utterances]
    sizes = Counter(groups)
    folds = []
    for i, tg in enumerate(test_groups):
        missing = set(tg) - set(sizes)
        if missing:
            raise DatasetError(f"fold {i}: unknown {protocol}(s) {sorted(missing)}")
        rest = sorted(g for g in sizes if g not in set(tg))
        val_groups = _pick_val_groups(rest, sizes, val_fraction, random.Random(seed * 1000 + i))
        folds.append(_fold_from_groups(i, groups, set(tg), set(val_groups)))
    return folds


def _pick_val_groups(rest: list[str], sizes: Counter, fraction: float, rng: random.Random) -> list[str]:
    if len(rest) < 2:
        raise DatasetError(f"need at least 2 training speakers/sessions to carve a group-disjoint validation "
                           f"split, found {len(rest)} ({', '.join(rest)}); use more folds' worth of speakers, "
                           "or a corpus with more speakers")
    n_val = min(len(rest) - 1, max(1, round(len(rest) * fraction)))
    pool = sorted(rest)
    rng.shuffle(pool)
    return pool[:n_val]


def _fold_from_groups(i: int, groups: list[str], test: set[str], val: set[str]) -> Fold:
    tr, va, te = [], [], []
    for n, g in enumerate(groups):
        (te if g in test else va if g in val else tr).append(n)
    return Fold(i, tuple(tr), tuple(va), tuple(te), tuple(sorted(test)))


def _predefined_fold(utterances: Sequence[Utterance], seed: int, val_fraction: float) -> Fold:
    splits = Counter(u.split for u in utterances)
    if "train" not in splits:
        raise DatasetError(f"protocol 'predefined' needs a 'train' split; found splits {sorted(map(str, splits))}")
    idx = {s: [n for n, u in enumerate(utterances) if u.split == s] for s in splits}
    if "test" in splits and "dev" in splits:
        return Fold(0, tuple(idx["train"]), tuple(idx["dev"]), tuple(idx["test"]), ("test",))
    test_name = "test" if "test" in splits else "dev"
    if test_name not in splits:
        raise DatasetError("protocol 'predefined' needs a 'dev' or 'test' split besides 'train'")
    train = idx["train"]
    # carve validation from train, disjoint by dialogue when known, else by speaker
    key = [utterances[n].extra.get("dialogue", utterances[n].speaker) for n in train]
    uniq = sorted(set(map(str, key)))
    random.Random(seed).shuffle(uniq)
    val_keys = set(uniq[: max(1, round(len(uniq) * val_fraction))])
    val = tuple(n for n, k in zip(train, key) if str(k) in val_keys)
    tr = tuple(n for n, k in zip(train, key) if str(k) not in val_keys)
    return Fold(0, tr, val, tuple(idx[test_name]), (test_name,))


def train_val_split(utterances: Sequence[Utterance], protocol: str = "speaker", seed: int = 0,
                    val_fraction: float = 0.15) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Indices (train, val) for training on a whole corpus: validation is group-disjoint
    (speakers / sessions), or the predefined dev split."""
    if protocol == "predefined":
        f = _predefined_fold(utterances, seed, val_fraction)
        if "test" in f.test_groups:  # train + dev (+ test, untouched)
            return f.train, f.val
        return f.train, f.val
    groups = [_group_of(u, protocol) for u in utterances]
    sizes = Counter(groups)
    val_groups = set(_pick_val_groups(sorted(sizes), sizes, val_fraction, random.Random(seed)))
    train = tuple(n for n, g in enumerate(groups) if g not in val_groups)
    val = tuple(n for n, g in enumerate(groups) if g in val_groups)
    return train, val
