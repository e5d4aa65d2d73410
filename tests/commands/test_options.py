"""--set parsing shared by train, ablate, predict and serve."""

from __future__ import annotations

import pytest

from fusion.commands.options import PREDICTOR_SECTIONS, parse_sets, parse_value
from fusion.commands.train import SET_SECTIONS, _apply_sets
from fusion.errors import ConfigError


def test_values_are_json_when_they_parse():
    assert parse_value("3") == 3 and parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value("[1, 2]") == [1, 2] and parse_value('"7"') == "7"
    assert parse_value("/data/model") == "/data/model"


def test_sections_map_to_their_targets_and_only_present_ones_appear():
    out = parse_sets(("vad.max_segment=10", "transcriber.model=/m", "transcriber.window=0"), PREDICTOR_SECTIONS)
    assert out == {"vad": {"max_segment": 10}, "transcriber_config": {"model": "/m", "window": 0}}


@pytest.mark.parametrize("item", ["vad", "vad.max_segment", "nosuch.key=1", "vad.=1", ".x=1"])
def test_malformed_or_unknown_sections_list_the_valid_ones(item):
    with pytest.raises(ConfigError, match=r"expected SECTION.KEY=VALUE with SECTION one of predict, vad, transcriber"):
        parse_sets((item,), PREDICTOR_SECTIONS)


def test_train_sets_merge_into_the_config_dict():
    base = {"head_config": {"n_layers": 1, "dropout": 0.1}}
    out = _apply_sets(base, ("head.n_layers=2", "train.lr=3e-4", "recipe.context=true"))
    assert out == {"head_config": {"n_layers": 2, "dropout": 0.1}, "train": {"lr": 3e-4},
                   "recipe_options": {"context": True}}
    with pytest.raises(ConfigError, match="head, unimodal, train, recipe"):
        _apply_sets({}, ("model.x=1",))
    assert SET_SECTIONS["text"] == "text_config"


def test_augment_section_reaches_the_experiment_config():
    from fusion.augment import AugmentConfig
    from fusion.commands.train import build_config

    cfg = build_config(None, {"dataset": "synthetic"}, ("augment.copies=1", "augment.snr_db=[5, 15]"))
    assert cfg.augment == AugmentConfig(copies=1, snr_db=(5.0, 15.0))
    assert build_config(None, {"dataset": "synthetic"}).augment == AugmentConfig()
    with pytest.raises(ConfigError, match=r"augment: copies must be an integer >= 0, got -2"):
        build_config(None, {"dataset": "synthetic"}, ("augment.copies=-2",))
    with pytest.raises(ConfigError, match=r"augment: unknown option\(s\) \['copis'\]"):
        build_config(None, {"dataset": "synthetic"}, ("augment.copis=1",))
