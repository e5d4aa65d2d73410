"""The corpus of an experiment: its recipe's utterances, restricted to the configured speakers and labels."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence

from ..data import Utterance
from ..errors import ConfigError
from ..experiment import ExperimentConfig
from ..labels import label_map_for, select_labels
from ..recipes import CORPUS_KEY, Corpus, maps_labels, prepare_dataset

CAPPED_SPLITS = ("train", "dev")  # the predefined splits max_per_label subsamples; test is always kept whole


def recipe_call(dataset: str, options: Mapping | None, label_map: Mapping[str, str] | None) -> tuple[dict, dict]:
    """``(recipe options, the label map left for the policy step)``.

    A recipe that maps labels itself (``maps_labels``: ``multi``) gets the user's ``label_map`` as its
    ``label_map`` option, so the map reaches every part before their labels are judged, and the policy
    step then renames nothing more; any other recipe's options are passed as they are."""
    options = dict(options or {})
    if not label_map or not maps_labels(dataset):
        return options, dict(label_map or {})
    if options.get("label_map") not in (None, dict(label_map)):
        raise ConfigError(f"dataset {dataset!r}: a label map is given twice (--label-map and recipe.label_map); "
                          "give it once")
    return {**options, "label_map": dict(label_map)}, {}


def load_corpus(cfg: ExperimentConfig) -> Corpus:
    """``cfg.dataset``'s utterances: ``cfg.speakers`` only, when set; with ``cfg.labels`` or
    ``cfg.label_map``, renamed to canonical labels and restricted to the kept ones
    (:func:`fusion.labels.select_labels`). The recipe's skipped files and every utterance the label
    policy leaves out are listed in ``skipped`` with their reasons."""
    options, policy_map = recipe_call(cfg.dataset, cfg.recipe_options, cfg.label_map)
    utts = prepare_dataset(cfg.dataset, cfg.data_dir, **options)
    if cfg.speakers:
        keep = set(cfg.speakers)
        utts = Corpus([u for u in utts if u.speaker in keep], utts.skipped)
        if not utts:
            raise ConfigError(f"no utterances for speakers {sorted(keep)}")
    if cfg.labels is not None or cfg.label_map:
        from ..plugins import get_component

        recipe = get_component("dataset", cfg.dataset).name  # the registered name, not an alias
        kept, excluded = select_labels(utts, keep=cfg.labels, label_map=label_map_for(recipe, policy_map))
        utts = Corpus(kept, [*utts.skipped, *excluded.items()])
    if cfg.train.max_per_label:
        kept, dropped = capped(utts, cfg.train.max_per_label, seed=cfg.train.seed)
        utts = Corpus(kept, [*utts.skipped, *dropped])
    return utts


def capped(utts: Sequence[Utterance], n: int, seed: int = 0) -> tuple[list[Utterance], list[tuple[str, str]]]:
    """At most ``n`` utterances per (corpus, predefined split, label) of the ``train`` and ``dev`` splits,
    a seeded random draw; the ``test`` split and utterances without a predefined split are all kept
    (their scores stay comparable). Returns ``(kept in corpus order, [(id, reason)] of the rest)``:
    large text corpora (DailyDialog: 72k of 87k train utterances are "no emotion") train on a balanced
    sample at a fraction of the featurization cost."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, u in enumerate(utts):
        if u.split in CAPPED_SPLITS:
            groups[(u.extra.get(CORPUS_KEY, ""), u.split, u.label)].append(i)
    rng = random.Random(seed)
    drop: dict[int, str] = {}
    for (corpus, split, label), members in groups.items():
        if len(members) > n:
            keep = set(rng.sample(members, n))
            reason = (f"max_per_label={n}: one of {len(members)} {split} utterances labelled {label!r}"
                      + (f" in {corpus}" if corpus else "") + ", not drawn")
            drop.update({i: reason for i in members if i not in keep})
    return [u for i, u in enumerate(utts) if i not in drop], [(utts[i].id, r) for i, r in sorted(drop.items())]
