"""The corpus of an experiment: its recipe's utterances, restricted to the configured speakers and labels."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ConfigError
from ..experiment import ExperimentConfig
from ..labels import label_map_for, select_labels
from ..recipes import Corpus, maps_labels, prepare_dataset


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
    return utts
