"""fusion.overrides: --set parsing, shared by train, ablate, predict, serve and the benchmarks."""

from __future__ import annotations

import pytest

from fusion.commands.options import PREDICTOR_SECTIONS
from fusion.errors import ConfigError
from fusion.experiment import ExperimentConfig
from fusion.overrides import EXPERIMENT_SECTIONS, apply_sets, parse_sets, parse_value


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


def test_sets_merge_into_the_config_dict_in_place():
    base = {"head_config": {"n_layers": 1, "dropout": 0.1}}
    out = apply_sets(base, ["head.n_layers=2", "train.lr=3e-4", "recipe.context=true", "train.lr=1e-3"])
    assert out is base
    assert out == {"head_config": {"n_layers": 2, "dropout": 0.1}, "train": {"lr": 1e-3},
                   "recipe_options": {"context": True}}
    with pytest.raises(ConfigError, match="head, unimodal, train, recipe, augment"):
        apply_sets({}, ("model.x=1",))


def test_every_section_names_a_field_of_the_experiment_config():
    import dataclasses

    fields = {f.name for f in dataclasses.fields(ExperimentConfig)}
    assert set(EXPERIMENT_SECTIONS.values()) <= fields
    cfg = ExperimentConfig(dataset="synthetic")
    changed = ExperimentConfig.from_dict(apply_sets(cfg.to_dict(), ["train.seed=3", "acoustic.model=\"base\""]))
    assert changed.train.seed == 3 and changed.acoustic_config == {"model": "base"}
    assert changed.train.epochs == cfg.train.epochs  # the other training options are kept
