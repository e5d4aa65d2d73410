"""The corpus of an experiment: its recipe's utterances, restricted to the configured speakers."""

from __future__ import annotations

from ..errors import ConfigError
from ..experiment import ExperimentConfig
from ..recipes import Corpus, prepare_dataset


def load_corpus(cfg: ExperimentConfig) -> Corpus:
    """``cfg.dataset``'s utterances (``cfg.speakers`` only, when set); the recipe's skipped files stay reported."""
    utts = prepare_dataset(cfg.dataset, cfg.data_dir, **cfg.recipe_options)
    if cfg.speakers:
        keep = set(cfg.speakers)
        utts = Corpus([u for u in utts if u.speaker in keep], utts.skipped)
        if not utts:
            raise ConfigError(f"no utterances for speakers {sorted(keep)}")
    return utts
