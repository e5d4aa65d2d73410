"""Running dataset recipes: lookup, directory checks, and the list of unparsed files."""

from __future__ import annotations

import inspect
from pathlib import Path

from .data import Utterance, check_unique_ids
from .errors import DatasetError


class Corpus(list):
    """A list of :class:`Utterance` plus the files a recipe could not parse (never dropped silently).

    ``skipped`` holds ``(path, reason)`` pairs; ``fusion prepare`` prints them.
    """

    def __init__(self, utterances=(), skipped=()):
        super().__init__(utterances)
        self.skipped: list[tuple[str, str]] = [(str(p), r) for p, r in skipped]


def prepare_dataset(name: str, data_dir=None, **options) -> Corpus:
    """Look up the dataset recipe ``name`` and run it on ``data_dir``.

    A recipe registered with ``data_dir_optional=True`` (``multi``, whose options name its parts'
    folders) is called with ``data_dir=None`` when none is given, and judges a given one itself."""
    from .plugins import get_component

    component = get_component("dataset", name)
    optional = bool(component.meta.get("data_dir_optional", False))
    if data_dir is None and not optional:
        data_dir = component.meta.get("default_dir")
        if callable(data_dir):
            data_dir = data_dir()
        if data_dir is None:
            raise DatasetError(f"dataset {component.name!r} needs a data directory (--data-dir)")
    if data_dir is not None:
        data_dir = Path(data_dir)
        if not optional and not data_dir.exists():
            raise DatasetError(f"dataset {component.name!r}: {data_dir} does not exist")
    prepare = component.load()
    accepted = inspect.signature(prepare).parameters
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
    unknown = [k for k in options if k not in accepted and not takes_kwargs]
    if unknown:
        valid = [p for p in accepted if p != "data_dir"]
        raise DatasetError(f"dataset {component.name!r}: unknown option(s) {', '.join(unknown)}; "
                           f"valid options: {', '.join(valid) or '(none)'}")
    result = prepare(data_dir, **options)
    corpus = result if isinstance(result, Corpus) else Corpus(result)
    if not corpus:
        raise DatasetError(f"dataset {component.name!r}: no utterances found"
                           + (f" in {data_dir}" if data_dir is not None else "")
                           + (f" ({len(corpus.skipped)} files could not be parsed)" if corpus.skipped else ""))
    bad = [u for u in corpus if not isinstance(u, Utterance)]
    if bad:
        raise DatasetError(f"dataset {component.name!r} returned {type(bad[0]).__name__}, expected Utterance")
    check_unique_ids(corpus, f"dataset {component.name!r}")
    return corpus


def maps_labels(name: str) -> bool:
    """Whether dataset recipe ``name`` renames labels to canonical ones itself (registered with
    ``maps_labels=True``, as ``multi``): it takes the user's ``label_map`` as a recipe option, and
    its output needs no recipe map of its own."""
    from .plugins import get_component

    return bool(get_component("dataset", name).meta.get("maps_labels", False))


def dataset_protocol(name: str) -> str:
    """The default fold protocol a dataset recipe declares ("speaker" if none)."""
    from .plugins import get_component

    return get_component("dataset", name).meta.get("protocol", "speaker")


def dataset_metric(name: str) -> str:
    """The headline metric a dataset recipe declares (its papers' convention; "ua" if none): model
    selection uses it unless ``train.select`` says otherwise, and reports name it."""
    from .plugins import get_component

    return get_component("dataset", name).meta.get("metric", "ua")


CORPUS_KEY = "corpus"  # Utterance.extra key: which part of a multi-corpus dataset an utterance comes from


def corpus_names(utterances) -> dict[str, str]:
    """Utterance id -> the corpus it comes from (``extra["corpus"]``, set by the ``multi`` recipe); empty
    when no utterance names one (a single-corpus dataset)."""
    return {u.id: str(u.extra[CORPUS_KEY]) for u in utterances if u.extra.get(CORPUS_KEY) is not None}
