"""Emotion labels across corpora: one canonical vocabulary, each recipe's mapping onto it, label policies.

Recipes emit labels in their own words where the corpus has words of its own (MELD ``joy``,
DailyDialog ``happiness``, ISEAR ``shame``) and in the canonical words where the corpus only has
codes (RAVDESS ``03`` is emitted as ``happy``). Nothing is renamed at parse time, so a recipe's
output never changes when this table grows. Renaming happens at the **policy step**,
:func:`select_labels`, which a runner applies when asked (``--labels`` / ``--label-map``):

1. the label goes through the map: the recipe's built-in map (:data:`RECIPE_LABEL_MAPS`) overridden
   by the user's (:func:`load_label_map`); a canonical label missing from the map stays as it is;
2. a label that ends up outside :data:`CANONICAL` is excluded ("no canonical name");
3. a canonical label outside the kept set is excluded ("not in the kept labels").

Every excluded utterance is returned with its reason. A model trained on one label set can be
scored on a corpus whose labels are a subset of its own with :func:`restrict_probs`.

A custom map is a TOML file with one ``[map]`` table, source name = canonical name::

    [map]
    calm = "neutral"          # RAVDESS calm counted as neutral
    "no emotion" = "neutral"  # quoted keys for names with spaces
    excitement = "happy"
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .data import Utterance
from .errors import ConfigError, LabelMismatchError

# The canonical vocabulary: name -> what it covers. The first eight are RAVDESS' set (the acted
# corpora's shared words); the rest exist because a recipe emits them and nothing else means the same.
CANONICAL: dict[str, str] = {
    "neutral": "no particular emotion (MELD/GoEmotions neutral, DailyDialog 'no emotion')",
    "calm": "calm, relaxed (RAVDESS only; map it to neutral with --label-map to merge)",
    "happy": "joy, happiness, excitement (MELD/GoEmotions/ISEAR joy, DailyDialog happiness, IEMOCAP hap + exc)",
    "sad": "sadness",
    "angry": "anger",
    "fearful": "fear",
    "disgust": "disgust",
    "surprised": "surprise",
    "bored": "boredom (EmoDB)",
    "frustrated": "frustration (IEMOCAP with labels='all')",
    "other": "IEMOCAP's 'oth' (labels='all'): an emotion outside its list",
    "shame": "shame (ISEAR)",
    "guilt": "guilt (ISEAR)",
}
CANONICAL_LABELS: tuple[str, ...] = tuple(CANONICAL)
DEFAULT_KEEP: tuple[str, ...] = ("neutral", "happy", "sad", "angry")  # the usual 4-class benchmark set


def _identity(*names: str) -> dict[str, str]:
    return {name: name for name in names}


# Recipe name -> {label the recipe emits -> canonical label}. Every label a recipe can emit is listed,
# so a table test can check it against the recipe's own constants.
RECIPE_LABEL_MAPS: dict[str, dict[str, str]] = {
    "ravdess": _identity("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"),
    "cremad": _identity("angry", "disgust", "fearful", "happy", "neutral", "sad"),
    "tess": _identity("angry", "disgust", "fearful", "happy", "neutral", "sad", "surprised"),
    "emodb": _identity("angry", "bored", "disgust", "fearful", "happy", "sad", "neutral"),
    # labels='4class' (default) already emits hap and exc as happy; labels='all' emits "excited",
    # merged into happy here as in the 4-class convention
    "iemocap": {**_identity("neutral", "happy", "sad", "angry", "frustrated", "surprised", "fearful", "disgust",
                            "other"), "excited": "happy"},
    "demo": _identity("neutral", "happy", "sad", "angry"),
    "meld": {"neutral": "neutral", "joy": "happy", "surprise": "surprised", "anger": "angry",
             "sadness": "sad", "disgust": "disgust", "fear": "fearful"},
    "dailydialog": {"no emotion": "neutral", "anger": "angry", "disgust": "disgust", "fear": "fearful",
                    "happiness": "happy", "sadness": "sad", "surprise": "surprised"},
    "goemotions": {"anger": "angry", "disgust": "disgust", "fear": "fearful", "joy": "happy",
                   "neutral": "neutral", "sadness": "sad", "surprise": "surprised"},
    "isear": {"joy": "happy", "fear": "fearful", "anger": "angry", "sadness": "sad", "disgust": "disgust",
              "shame": "shame", "guilt": "guilt"},
}

# Common non-canonical words, only used to suggest a --label-map line in exclusion reasons (a label
# is never renamed by guessing: recipes not in RECIPE_LABEL_MAPS, such as manifest, need the map).
_SUGGESTIONS = {source: target for m in RECIPE_LABEL_MAPS.values() for source, target in m.items()
                if source != target} | {"happiness": "happy", "fear": "fearful", "disgusted": "disgust",
                                         "boredom": "bored", "frustration": "frustrated", "neu": "neutral",
                                         "hap": "happy", "exc": "happy", "ang": "angry"}


def recipe_label_map(dataset: str) -> dict[str, str]:
    """The built-in map of recipe ``dataset`` (its registered name, not an alias).

    A recipe without a table (``manifest``, a third-party recipe) gets the identity on the canonical
    names: its canonical labels pass, any other label needs a ``--label-map`` line."""
    return dict(RECIPE_LABEL_MAPS.get(dataset, _identity(*CANONICAL_LABELS)))


def label_map_for(dataset: str, custom: Mapping[str, str] | None = None) -> dict[str, str]:
    """The recipe's map overridden, key by key, by ``custom`` (from :func:`load_label_map`)."""
    merged = recipe_label_map(dataset)
    merged.update(_checked_map(custom or {}, "label map"))
    return merged


def load_label_map(path: str | os.PathLike) -> dict[str, str]:
    """Read a ``--label-map`` TOML file: a single ``[map]`` table of ``source = "canonical"`` strings.

    Names are stripped and lower-cased (recipes store labels lower case). ConfigError, naming the
    file, for: a missing file, invalid TOML, a top-level key other than ``map``, a missing or
    non-table ``map``, a non-string or empty name, two keys equal after lower-casing, and a target
    outside the canonical vocabulary (the error lists it)."""
    path = Path(path)
    where = f"label map {path}"
    if not path.is_file():
        raise ConfigError(f"{where}: file not found")
    try:
        with open(path, "rb") as f:
            document = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text ({exc.reason})") from exc
    unknown = sorted(set(document) - {"map"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: map "
                          '(a [map] table of source = "canonical" lines)')
    table = document.get("map")
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: " + ("has no [map] table" if table is None else
                                          f"'map' must be a table, got {type(table).__name__}")
                          + '; expected [map] followed by source = "canonical" lines')
    out: dict[str, str] = {}
    for key, value in table.items():
        if not isinstance(value, str):
            raise ConfigError(f"{where}: map.{key} must be a string (a canonical label), "
                              f"got {type(value).__name__} {value!r}")
        source = key.strip().lower()
        if not source or not value.strip():
            raise ConfigError(f"{where}: map.{key!r} = {value!r}: label names must not be empty")
        if source in out:
            raise ConfigError(f"{where}: label {source!r} is mapped twice (names are compared lower case)")
        out[source] = value.strip().lower()
    return _checked_map(out, where)


def _checked_map(mapping: Mapping[str, str], where: str) -> dict[str, str]:
    for source, target in mapping.items():
        if target not in CANONICAL:
            raise ConfigError(f"{where}: {source!r} maps to {target!r}, not a canonical label; "
                              f"valid choices: {', '.join(CANONICAL_LABELS)}")
    return dict(mapping)


def parse_label_list(text: str | Iterable[str]) -> tuple[str, ...]:
    """``"neutral,happy,sad,angry"`` (or a sequence of names) -> checked canonical names, in order.

    ConfigError for an empty list, a repeated name, or a name outside the canonical vocabulary
    (naming the valid choices)."""
    names = [n.strip().lower() for n in (text.split(",") if isinstance(text, str) else text)]
    if not names or any(not n for n in names):
        raise ConfigError(f"labels {text!r}: give comma-separated canonical labels, "
                          f"e.g. {','.join(DEFAULT_KEEP)}")
    repeated = sorted(n for n, c in Counter(names).items() if c > 1)
    if repeated:
        raise ConfigError(f"labels: {', '.join(repeated)} given more than once")
    unknown = [n for n in names if n not in CANONICAL]
    if unknown:
        raise ConfigError(f"unknown label(s) {', '.join(unknown)}; valid choices: {', '.join(CANONICAL_LABELS)}")
    return tuple(names)


def select_labels(utterances: Iterable[Utterance], keep: Iterable[str] | None = DEFAULT_KEEP,
                  label_map: Mapping[str, str] | None = None) -> tuple[list[Utterance], dict[str, str]]:
    """Apply a label policy: ``(kept, excluded)``, ``excluded`` = utterance id -> reason.

    Each label is renamed through ``label_map`` (see the module doc; ``None`` = canonical names
    only); a kept utterance carries the canonical label, and ``extra["source_label"]`` keeps the
    corpus' word when it was renamed. ``keep`` is a list of canonical labels (``None`` = all of
    them). ``kept`` is a plain list in input order; a :class:`fusion.recipes.Corpus`' ``skipped``
    files are the caller's to carry on. ConfigError when ``keep`` or the map names a non-canonical
    label, and when no utterance is kept (naming the labels found)."""
    keep = CANONICAL_LABELS if keep is None else parse_label_list(keep)
    mapping = _checked_map(label_map or {}, "label map")
    kept_set = set(keep)
    kept: list[Utterance] = []
    excluded: dict[str, str] = {}
    for u in utterances:
        target = mapping.get(u.label, u.label if u.label in CANONICAL else None)
        if target is None:
            excluded[u.id] = _no_canonical_reason(u.label)
        elif target not in kept_set:
            renamed = f" (the corpus' {u.label!r})" if target != u.label else ""
            excluded[u.id] = f"label {target!r}{renamed} is not in the kept labels ({', '.join(keep)})"
        elif target == u.label:
            kept.append(u)
        else:
            kept.append(dataclasses.replace(u, label=target, extra={**u.extra, "source_label": u.label}))
    if not kept and excluded:
        found = sorted(Counter(excluded.values()).items(), key=lambda kv: -kv[1])[0][0]
        raise ConfigError(f"no utterance has one of the labels {', '.join(keep)}; "
                          f"{len(excluded)} excluded, the most common reason: {found}")
    return kept, excluded


def _no_canonical_reason(label: str) -> str:
    hint = _SUGGESTIONS.get(label)
    fix = f'add {label!r} = "{hint}" to --label-map' if hint else "map it with --label-map"
    return f"label {label!r} has no canonical name; {fix} (canonical: {', '.join(CANONICAL_LABELS)})"


def restrict_probs(probs, model_labels: Sequence[str], keep: Sequence[str],
                   label_map: Mapping[str, str] | None = None) -> np.ndarray:
    """A model's probabilities ``[N, C]`` (columns = ``model_labels``) restricted to ``keep``: ``[N, K]``.

    The columns of ``keep`` (in ``keep``'s order) are taken and each row renormalised to sum to 1,
    i.e. the posterior conditioned on the true class being one of ``keep``; the argmax is the
    model's best label among them. With ``label_map`` the model's labels are renamed first and
    columns renamed to the same label are summed (merged classes). A row whose kept mass is 0
    becomes uniform. LabelMismatchError names the kept labels the model lacks."""
    p = np.asarray(probs, dtype=np.float64)
    model_labels = [str(label) for label in model_labels]
    if p.ndim != 2 or p.shape[1] != len(model_labels):
        raise ConfigError(f"probabilities of shape {tuple(p.shape)} do not match the model's "
                          f"{len(model_labels)} labels; expected [N, {len(model_labels)}]")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ConfigError("probabilities must be finite and non-negative")
    keep = list(keep)
    repeated = sorted(n for n, c in Counter(keep).items() if c > 1)
    if not keep or repeated:
        raise ConfigError(f"labels to keep must be a non-empty list without repeats, got {keep}")
    names = [(label_map or {}).get(label, label) for label in model_labels]
    missing = [k for k in keep if k not in names]
    if missing:
        raise LabelMismatchError(f"the model has no label(s) {', '.join(missing)} "
                                 f"(its labels: {', '.join(dict.fromkeys(names))})")
    columns = np.array([[1.0 if name == k else 0.0 for k in keep] for name in names])  # [C, K]
    sub = p @ columns                                                                   # [N, K]
    total = sub.sum(axis=1, keepdims=True)                                              # [N, 1]
    uniform = np.full_like(sub, 1.0 / len(keep))
    return np.where(total > 0, sub / np.where(total > 0, total, 1.0), uniform)          # [N, K]


def restriction_note(model_labels: Sequence[str], keep: Sequence[str],
                     label_map: Mapping[str, str] | None = None) -> str | None:
    """One line saying how :func:`restrict_probs` changes the decision, or None when it does not."""
    names = list(dict.fromkeys((label_map or {}).get(str(label), str(label)) for label in model_labels))
    dropped = [n for n in names if n not in set(keep)]
    merged = len(names) < len(model_labels)
    if not dropped and not merged:
        return None
    parts = [f"decision restricted to {len(list(keep))} of the model's {len(model_labels)} labels "
             f"({', '.join(keep)})"]
    if dropped:
        parts.append(f"left out: {', '.join(dropped)}")
    if merged:
        parts.append("renamed labels merged by summing their probabilities")
    return "; ".join(parts) + "; probabilities renormalised"
