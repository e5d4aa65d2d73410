"""fusion.labels: the canonical vocabulary, recipe maps, --label-map files, label policies, restriction."""

import numpy as np
import pytest

from fusion.data import Utterance
from fusion.errors import ConfigError, LabelMismatchError
from fusion.labels import (CANONICAL_LABELS, DEFAULT_KEEP, RECIPE_LABEL_MAPS, label_map_for, load_label_map,
                           parse_label_list, recipe_label_map, restrict_probs, restriction_note, select_labels)


def utt(uid, label, **extra):
    return Utterance(id=uid, audio=None, label=label, speaker="s", transcript="t", extra=extra)


# ----------------------------------------------------------------------------- tables

def test_every_recipe_map_targets_canonical_labels():
    for recipe, mapping in RECIPE_LABEL_MAPS.items():
        assert set(mapping.values()) <= set(CANONICAL_LABELS), recipe
    assert set(DEFAULT_KEEP) <= set(CANONICAL_LABELS)
    assert len(set(CANONICAL_LABELS)) == len(CANONICAL_LABELS)


@pytest.mark.parametrize("recipe, source, target", [
    ("meld", "joy", "happy"), ("meld", "anger", "angry"), ("meld", "sadness", "sad"), ("meld", "fear", "fearful"),
    ("meld", "surprise", "surprised"), ("meld", "disgust", "disgust"), ("meld", "neutral", "neutral"),
    ("iemocap", "excited", "happy"), ("iemocap", "happy", "happy"), ("iemocap", "frustrated", "frustrated"),
    ("dailydialog", "no emotion", "neutral"), ("dailydialog", "happiness", "happy"),
    ("dailydialog", "anger", "angry"), ("dailydialog", "fear", "fearful"), ("dailydialog", "surprise", "surprised"),
    ("goemotions", "joy", "happy"), ("goemotions", "neutral", "neutral"), ("goemotions", "sadness", "sad"),
    ("isear", "joy", "happy"), ("isear", "shame", "shame"), ("isear", "guilt", "guilt"),
    ("ravdess", "calm", "calm"), ("emodb", "bored", "bored"),
])
def test_recipe_mappings(recipe, source, target):
    assert recipe_label_map(recipe)[source] == target


def test_unknown_recipe_gets_the_identity_on_canonical_names():
    assert recipe_label_map("manifest") == {name: name for name in CANONICAL_LABELS}
    recipe_label_map("meld")["joy"] = "sad"          # a copy: the table itself is not changed
    assert RECIPE_LABEL_MAPS["meld"]["joy"] == "happy"


def test_custom_map_overrides_the_recipe_map():
    merged = label_map_for("ravdess", {"calm": "neutral"})
    assert merged["calm"] == "neutral" and merged["happy"] == "happy"
    with pytest.raises(ConfigError, match="'calm' maps to 'relaxed', not a canonical label; valid choices: neutral"):
        label_map_for("ravdess", {"calm": "relaxed"})


# ----------------------------------------------------------------------------- --label-map files

def write(tmp_path, text, name="map.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_label_map(tmp_path):
    path = write(tmp_path, '[map]\nJoy = "Happy"\n"no emotion" = "neutral"\n calm = " neutral "\n')
    assert load_label_map(path) == {"joy": "happy", "no emotion": "neutral", "calm": "neutral"}
    assert load_label_map(write(tmp_path, "[map]\n", "empty.toml")) == {}


@pytest.mark.parametrize("text, message", [
    ('[map\njoy = "happy"\n', r"not valid TOML \("),
    ('[map]\njoy = 3\n', r"map.joy must be a string \(a canonical label\), got int 3"),
    ('[map]\njoy = ["happy"]\n', "map.joy must be a string"),
    ('[map.joy]\nx = "happy"\n', "map.joy must be a string"),
    ('[map]\njoy = "elated"\n', "'joy' maps to 'elated', not a canonical label; valid choices: neutral, calm"),
    ('[map]\njoy = ""\n', "label names must not be empty"),
    ('[map]\n"" = "happy"\n', "label names must not be empty"),
    ('[map]\njoy = "happy"\nJOY = "sad"\n', "label 'joy' is mapped twice"),
    ('[map]\njoy = "happy"\n[labels]\nx = "y"\n', "unknown key\\(s\\) labels; valid keys: map"),
    ('joy = "happy"\n', "unknown key\\(s\\) joy; valid keys: map"),
    ('title = "x"\n', "unknown key"),
    ('', "has no \\[map\\] table"),
    ('map = "joy"\n', "'map' must be a table, got str"),
])
def test_load_label_map_errors(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_label_map(path)
    assert str(path) in str(info.value)


def test_load_label_map_missing_file_and_bad_encoding(tmp_path):
    with pytest.raises(ConfigError, match="gone.toml: file not found"):
        load_label_map(tmp_path / "gone.toml")
    (tmp_path / "latin.toml").write_bytes('[map]\n"joie" = "happy" # é\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="latin.toml"):
        load_label_map(tmp_path / "latin.toml")


# ----------------------------------------------------------------------------- policies

def test_parse_label_list():
    assert parse_label_list("neutral, Happy,sad,angry") == ("neutral", "happy", "sad", "angry")
    assert parse_label_list(["sad", "happy"]) == ("sad", "happy")
    with pytest.raises(ConfigError, match="unknown label\\(s\\) joy; valid choices: neutral, calm, happy"):
        parse_label_list("neutral,joy")
    with pytest.raises(ConfigError, match="happy given more than once"):
        parse_label_list("happy,sad,happy")
    for empty in ("", "happy,,sad", []):
        with pytest.raises(ConfigError, match="comma-separated canonical labels"):
            parse_label_list(empty)


def test_select_labels_maps_keeps_and_explains_every_exclusion():
    utts = [utt("a", "joy", dialogue="d1"), utt("b", "neutral"), utt("c", "fear"), utt("d", "confused"),
            utt("e", "sadness"), utt("f", "anger"), utt("g", "surprise")]
    kept, excluded = select_labels(utts, label_map=label_map_for("meld"))
    assert [(u.id, u.label) for u in kept] == [("a", "happy"), ("b", "neutral"), ("e", "sad"), ("f", "angry")]
    assert kept[0].extra == {"dialogue": "d1", "source_label": "joy"}   # the corpus' word is kept
    assert "source_label" not in kept[1].extra                           # not renamed: unchanged
    assert kept[1] is utts[1]
    assert set(excluded) == {"c", "d", "g"}                              # nothing lost silently
    assert len(kept) + len(excluded) == len(utts)
    assert excluded["c"] == ("label 'fearful' (the corpus' 'fear') is not in the kept labels "
                             "(neutral, happy, sad, angry)")
    assert excluded["d"].startswith("label 'confused' has no canonical name; map it with --label-map")
    assert "surprised" in excluded["g"]


def test_select_labels_without_a_map_passes_canonical_labels_and_suggests_a_map():
    kept, excluded = select_labels([utt("a", "happy"), utt("b", "joy"), utt("c", "calm")], keep=("happy", "calm"))
    assert [u.id for u in kept] == ["a", "c"]
    assert excluded["b"].startswith("label 'joy' has no canonical name; add 'joy' = \"happy\" to --label-map")
    kept, excluded = select_labels([utt("a", "happy"), utt("b", "joy")], keep=None, label_map={"joy": "happy"})
    assert [u.label for u in kept] == ["happy", "happy"] and excluded == {}


def test_select_labels_errors():
    with pytest.raises(ConfigError, match="unknown label\\(s\\) joy; valid choices"):
        select_labels([utt("a", "happy")], keep=("happy", "joy"))
    with pytest.raises(ConfigError, match="'joy' maps to 'elated'"):
        select_labels([utt("a", "happy")], label_map={"joy": "elated"})
    with pytest.raises(ConfigError, match="no utterance has one of the labels sad; 3 excluded, the most common "
                                          "reason: label 'happy' is not in the kept labels"):
        select_labels([utt("a", "happy"), utt("b", "happy"), utt("c", "zzz")], keep=("sad",))
    assert select_labels([], keep=("sad",)) == ([], {})


# ----------------------------------------------------------------------------- restriction

def test_restrict_probs_renormalises_and_takes_the_kept_columns_in_order():
    model = ["angry", "calm", "happy", "neutral", "sad"]
    probs = np.array([[0.10, 0.50, 0.20, 0.15, 0.05],     # calm wins overall, happy among the kept
                      [0.60, 0.10, 0.10, 0.10, 0.10]])
    out = restrict_probs(probs, model, ["neutral", "happy", "sad"])
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_allclose(out[0], np.array([0.15, 0.20, 0.05]) / 0.40)
    np.testing.assert_allclose(out[1], [1 / 3] * 3)
    assert out[0].argmax() == 1                            # happy; the unrestricted argmax was calm
    assert probs.argmax(axis=1).tolist() == [1, 0]


def test_restrict_probs_random_rows_keep_ratios():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(6), size=50)
    cols = [4, 1, 3]
    out = restrict_probs(probs, list("abcdef"), [list("abcdef")[c] for c in cols])
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_allclose(out[:, 0] / out[:, 1], probs[:, 4] / probs[:, 1])
    np.testing.assert_array_equal(out.argmax(axis=1), probs[:, cols].argmax(axis=1))


def test_restrict_probs_with_a_map_merges_renamed_columns():
    model = ["neutral", "joy", "excited", "sadness"]
    probs = np.array([[0.4, 0.2, 0.3, 0.1]])
    out = restrict_probs(probs, model, ["happy", "neutral"], label_map={"joy": "happy", "excited": "happy"})
    np.testing.assert_allclose(out, [[0.5 / 0.9, 0.4 / 0.9]])


def test_restrict_probs_zero_mass_rows_become_uniform_and_torch_is_accepted():
    torch = pytest.importorskip("torch")
    probs = torch.tensor([[0.0, 0.0, 1.0], [0.2, 0.3, 0.5]])
    out = restrict_probs(probs, ["a", "b", "c"], ["a", "b"])
    np.testing.assert_allclose(out, [[0.5, 0.5], [0.4, 0.6]], rtol=1e-6)


def test_restrict_probs_errors():
    probs = np.full((2, 3), 1 / 3)
    with pytest.raises(LabelMismatchError, match="the model has no label\\(s\\) fearful, bored "
                                                 "\\(its labels: neutral, happy, sad\\)"):
        restrict_probs(probs, ["neutral", "happy", "sad"], ["sad", "fearful", "bored"])
    with pytest.raises(ConfigError, match="shape \\(2, 3\\) do not match the model's 4 labels"):
        restrict_probs(probs, ["a", "b", "c", "d"], ["a"])
    with pytest.raises(ConfigError, match="shape \\(3,\\)"):
        restrict_probs(np.ones(3) / 3, ["a", "b", "c"], ["a"])
    with pytest.raises(ConfigError, match="finite and non-negative"):
        restrict_probs(np.array([[np.nan, 0.5, 0.5]]), ["a", "b", "c"], ["a"])
    with pytest.raises(ConfigError, match="finite and non-negative"):
        restrict_probs(np.array([[-0.1, 0.6, 0.5]]), ["a", "b", "c"], ["a"])
    with pytest.raises(ConfigError, match="non-empty list without repeats"):
        restrict_probs(probs, ["a", "b", "c"], ["a", "a"])
    with pytest.raises(ConfigError, match="non-empty list without repeats"):
        restrict_probs(probs, ["a", "b", "c"], [])


def test_restriction_note():
    assert restriction_note(["happy", "sad"], ["sad", "happy"]) is None
    note = restriction_note(["angry", "calm", "happy", "neutral", "sad"], ["neutral", "happy", "sad"])
    assert note == ("decision restricted to 3 of the model's 5 labels (neutral, happy, sad); "
                    "left out: angry, calm; probabilities renormalised")
    merged = restriction_note(["joy", "excited", "neutral"], ["happy", "neutral"],
                              {"joy": "happy", "excited": "happy"})
    assert "merged by summing" in merged and "left out" not in merged
