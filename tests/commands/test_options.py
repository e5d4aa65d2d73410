"""`fusion train` / `ablate`'s --set options (the parsing itself: tests/test_overrides.py)."""

from __future__ import annotations

import pytest

from fusion.commands.train import SET_SECTIONS, build_config
from fusion.errors import ConfigError


def test_train_sets_override_the_flags_and_name_the_valid_sections():
    cfg = build_config(None, {"dataset": "synthetic", "epochs": 3}, ("train.epochs=5", "head.n_layers=2"))
    assert cfg.train.epochs == 5 and cfg.head_config == {"n_layers": 2}
    with pytest.raises(ConfigError, match="head, unimodal, train, recipe"):
        build_config(None, {"dataset": "synthetic"}, ("model.x=1",))
    assert SET_SECTIONS["text"] == "text_config"


def test_augment_section_reaches_the_experiment_config():
    from fusion.augment import AugmentConfig

    cfg = build_config(None, {"dataset": "synthetic"}, ("augment.copies=1", "augment.snr_db=[5, 15]"))
    assert cfg.augment == AugmentConfig(copies=1, snr_db=(5.0, 15.0))
    assert build_config(None, {"dataset": "synthetic"}).augment == AugmentConfig()
    with pytest.raises(ConfigError, match=r"augment: copies must be an integer >= 0, got -2"):
        build_config(None, {"dataset": "synthetic"}, ("augment.copies=-2",))
    with pytest.raises(ConfigError, match=r"augment: unknown option\(s\) \['copis'\]"):
        build_config(None, {"dataset": "synthetic"}, ("augment.copis=1",))
