"""The corpus of an experiment: its recipe's utterances, restricted to the configured speakers and labels."""

from __future__ import annotations

from ..errors import ConfigError
from ..experiment import ExperimentConfig
from ..labels import label_map_for, select_labels
from ..recipes import Corpus, prepare_dataset


def load_corpus(cfg: ExperimentConfig) -> Corpus:
    """``cfg.dataset``'s utterances: ``cfg.speakers`` only, when set; with ``cfg.labels`` or
    ``cfg.label_map``, renamed to canonical labels and restricted to the kept ones
    (:func:`fusion.labels.select_labels`). The recipe's skipped files and every utterance the label
    policy leaves out are listed in ``skipped`` with their reasons."""
    utts = prepare_dataset(cfg.dataset, cfg.data_dir, **cfg.recipe_options)
    if cfg.speakers:
        keep = set(cfg.speakers)
        utts = Corpus([u for u in utts if u.speaker in keep], utts.skipped)
        if not utts:
            raise ConfigError(f"no utterances for speakers {sorted(keep)}")
    if cfg.labels is not None or cfg.label_map:
        from ..plugins import get_component

        recipe = get_component("dataset", cfg.dataset).name  # the registered name, not an alias
        kept, excluded = select_labels(utts, keep=cfg.labels, label_map=label_map_for(recipe, cfg.label_map))
        utts = Corpus(kept, [*utts.skipped, *excluded.items()])
    return utts
