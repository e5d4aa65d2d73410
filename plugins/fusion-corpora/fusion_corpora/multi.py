"""Several corpora as one dataset: ``--dataset ravdess --data-dir A --dataset demo``, or
``--dataset multi --set recipe.parts='["ravdess=A", "demo"]'``.

``parts`` lists the corpora, each ``NAME`` or ``NAME=DIR`` (a registered dataset recipe; without a
folder the recipe's default one, e.g. the bundled demo corpus). A comma-separated string is read
as a list. Every part is read by its own recipe with its default options; then:

* **Namespaces.** Utterance ids, speakers, sessions and ``extra["dialogue"]`` are prefixed with the
  part's name, ``ravdess/03-01-05-01-01-01-01`` and speaker ``ravdess/01``: speakers of different
  corpora never merge, so speaker-independent folds hold out whole speakers of every corpus.
  ``extra["corpus"]`` names the part (per-corpus metrics read it).
* **Labels.** Each part's labels go through its recipe's map onto the canonical vocabulary
  (:func:`fusion.labels.label_map_for`, MELD ``joy`` -> ``happy``...), with ``label_map`` (the
  ``--label-map`` of train / ablate / evaluate) over every part's map. An utterance whose label has
  no canonical name is left out and listed in ``Corpus.skipped`` with the reason, under its
  namespaced id; the parts' own skipped files are listed too.
* **Splits** are kept as each recipe set them (``protocol=predefined`` uses them). The dataset's
  default protocol is ``speaker``.
* **The same recipe twice** with different folders (two ``manifest`` CSVs of your own) is allowed:
  the first is named after the recipe, the next ones ``NAME#2``, ``NAME#3``... The same recipe on
  the same folder twice is an error (its clips would count twice), as is ``multi`` inside ``multi``.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

from fusion.data import Utterance
from fusion.errors import ConfigError, DatasetError
from fusion.labels import label_map_for, select_labels
from fusion.plugins import get_component
from fusion.recipes import CORPUS_KEY, Corpus, prepare_dataset

CORPUS = "multi"
USAGE = ("give the parts as --dataset NAME [--data-dir DIR] repeated, or --set recipe.parts="
         "'[\"ravdess=/data/ravdess\", \"demo\"]'")


@dataclasses.dataclass(frozen=True)
class Part:
    """One corpus of a multi-corpus dataset."""

    recipe: str              # registered recipe name (an alias resolved)
    data_dir: str | None     # None: the recipe's default folder
    name: str                # namespace of its ids and speakers


def parse_parts(parts) -> list[Part]:
    """``["ravdess=/a", "demo"]`` (or ``"ravdess=/a,demo"``) -> checked :class:`Part` s, in order."""
    if isinstance(parts, str):
        parts = [p for p in parts.split(",") if p.strip()]
    if not isinstance(parts, (list, tuple)) or not parts:
        raise DatasetError(f"{CORPUS}: no parts given; {USAGE}")
    entries = []
    for item in parts:
        if not isinstance(item, str):
            raise DatasetError(f"{CORPUS}: part {item!r} is not a string; each part is NAME or NAME=DIR")
        name, eq, folder = (s.strip() for s in item.partition("="))
        if not name or (eq and not folder):
            raise DatasetError(f"{CORPUS}: part {item!r}: expected NAME or NAME=DIR")
        recipe = get_component("dataset", name).name  # UnknownComponentError lists the recipes
        if recipe == CORPUS:
            raise DatasetError(f"{CORPUS}: a part cannot be {CORPUS} itself; list its parts instead")
        entries.append((recipe, str(Path(folder).expanduser()) if eq else None))
    seen: set[tuple[str, str | None]] = set()
    for recipe, folder in entries:
        where = None if folder is None else str(Path(folder).resolve())
        if (recipe, where) in seen:
            raise DatasetError(f"{CORPUS}: part {recipe}" + (f"={folder}" if folder else "")
                               + " is listed twice (its clips would count twice)")
        seen.add((recipe, where))
    count: Counter = Counter()
    out = []
    for recipe, folder in entries:
        count[recipe] += 1
        out.append(Part(recipe, folder, recipe if count[recipe] == 1 else f"{recipe}#{count[recipe]}"))
    return out


def namespaced(u: Utterance, name: str) -> Utterance:
    """``u`` with id, speaker, session and dialogue prefixed ``name/`` and ``extra["corpus"] = name``."""
    extra = {**u.extra, CORPUS_KEY: name}
    if extra.get("dialogue") is not None:
        extra["dialogue"] = f"{name}/{extra['dialogue']}"
    return dataclasses.replace(u, id=f"{name}/{u.id}", speaker=f"{name}/{u.speaker}",
                               session=None if u.session is None else f"{name}/{u.session}", extra=extra)


def prepare_multi(data_dir=None, parts=None, label_map: dict | None = None) -> Corpus:
    """Read every part with its recipe, namespace it and map its labels to canonical names."""
    if data_dir is not None:
        raise DatasetError(f"{CORPUS}: takes no data directory of its own (got {data_dir}); {USAGE}")
    if label_map is not None and not isinstance(label_map, dict):
        raise DatasetError(f"{CORPUS}: label_map must be a table of corpus label = canonical label, "
                           f"got {type(label_map).__name__}")
    utterances: list[Utterance] = []
    skipped: list[tuple[str, str]] = []
    for part in parse_parts(parts):
        corpus = prepare_dataset(part.recipe, part.data_dir)
        skipped += corpus.skipped
        try:
            kept, excluded = select_labels(corpus, keep=None, label_map=label_map_for(part.recipe, label_map))
        except ConfigError as exc:
            raise DatasetError(f"{CORPUS}: part {part.name}: {exc}") from exc
        skipped += [(f"{part.name}/{uid}", reason) for uid, reason in excluded.items()]
        utterances += [namespaced(u, part.name) for u in kept]
    return Corpus(utterances, skipped)
