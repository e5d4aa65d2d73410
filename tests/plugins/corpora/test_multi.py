"""The ``multi`` recipe: several corpora as one, namespaced, labels mapped to canonical names."""

from __future__ import annotations

from collections import Counter

import pytest

from fusion.errors import ConfigError, DatasetError, UnknownComponentError
from fusion.experiment import ExperimentConfig
from fusion.plugins import get_component
from fusion.recipes import corpus_names, dataset_protocol, maps_labels, prepare_dataset
from fusion.runners import load_corpus
from fusion_corpora.multi import parse_parts
from tests.fakes import make_fake_meld, make_fake_ravdess


@pytest.fixture
def ravdess_dir(tmp_path):
    return make_fake_ravdess(tmp_path / "ravdess", actors=("01", "02"))


@pytest.fixture
def meld_dir(tmp_path):
    return make_fake_meld(tmp_path / "meld", dialogues=3)


def write_manifest(path, rows, make_wav):
    """A manifest CSV of short clips: rows of (clip, label, speaker, split)."""
    lines = ["path,label,speaker,split"]
    for clip, label, speaker, split in rows:
        make_wav(f"{path.parent.name}/{clip}", duration=0.2)
        lines.append(f"{clip},{label},{speaker},{split}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_registered_with_the_speaker_protocol_and_no_folder_of_its_own():
    component = get_component("dataset", "multi")
    assert component.plugin == "corpora" and component.description
    assert component.meta["data_dir_optional"] is True and maps_labels("multi") and not maps_labels("meld")
    assert dataset_protocol("multi") == "speaker"


def test_ids_speakers_dialogues_namespaced_labels_canonical_splits_kept(ravdess_dir, meld_dir):
    corpus = prepare_dataset("multi", parts=[f"ravdess={ravdess_dir}", f"meld={meld_dir}"])
    by_corpus = Counter(u.extra["corpus"] for u in corpus)
    assert by_corpus == {"ravdess": 40, "meld": 25}  # 2 actors x 20 clips; 5 MELD dialogues x 5 rows
    rav = next(u for u in corpus if u.id == "ravdess/03-01-05-01-01-01-01")
    assert (rav.speaker, rav.label, rav.split) == ("ravdess/01", "angry", None)
    meld = next(u for u in corpus if u.id == "meld/train_dia0_utt1")
    assert (meld.speaker, meld.label, meld.split) == ("meld/Speaker0", "happy", "train")  # MELD joy -> happy
    assert meld.extra["source_label"] == "joy" and meld.extra["dialogue"] == "meld/train_dia0"
    assert {u.split for u in corpus if u.extra["corpus"] == "meld"} == {"train", "dev"}
    assert Counter(u.label for u in corpus) == {"neutral": 13, "calm": 8, "happy": 13, "sad": 13, "angry": 13,
                                                "fearful": 5}
    assert sorted({u.speaker for u in corpus}) == ["meld/Speaker0", "meld/Speaker1", "meld/Speaker2",
                                                   "ravdess/01", "ravdess/02"]
    assert corpus_names(corpus)["meld/train_dia0_utt1"] == "meld"
    assert corpus_names(prepare_dataset("ravdess", ravdess_dir)) == {}  # a single corpus names none


def test_a_label_without_canonical_name_is_skipped_with_its_reason(tmp_path, make_wav):
    mine = write_manifest(tmp_path / "mine" / "m.csv", [("a.wav", "sad", "x", "train"), ("b.wav", "exc", "y", "dev"),
                                                       ("c.wav", "Joy", "y", "dev")], make_wav)
    corpus = prepare_dataset("multi", parts=[f"manifest={mine}"])
    assert [u.id for u in corpus] == ["manifest/a"]
    skipped = dict(corpus.skipped)
    assert set(skipped) == {"manifest/b", "manifest/c"}
    assert "'exc' has no canonical name" in skipped["manifest/b"] and "'joy'" in skipped["manifest/c"]
    # a user map reaches the parts (the --label-map of train / ablate / evaluate)
    corpus = prepare_dataset("multi", parts=[f"manifest={mine}"], label_map={"exc": "happy", "joy": "happy"})
    assert sorted((u.id, u.label, u.split) for u in corpus) == [
        ("manifest/a", "sad", "train"), ("manifest/b", "happy", "dev"), ("manifest/c", "happy", "dev")]


def test_the_label_map_flag_is_applied_through_load_corpus_once(tmp_path, make_wav):
    mine = write_manifest(tmp_path / "mine" / "m.csv", [("a.wav", "sad", "x", "train"), ("b.wav", "exc", "y", "dev"),
                                                       ("c.wav", "neutral", "y", "dev")], make_wav)
    cfg = ExperimentConfig(dataset="multi", recipe_options={"parts": [f"manifest={mine}"]},
                           label_map={"exc": "happy"}, labels=("happy", "sad"))
    corpus = load_corpus(cfg)
    assert sorted((u.id, u.label) for u in corpus) == [("manifest/a", "sad"), ("manifest/b", "happy")]
    assert "not in the kept labels" in dict(corpus.skipped)["manifest/c"]
    # a swap applied twice would undo itself: the recipe applies the map, the policy step does not again
    swapped = load_corpus(cfg.replace(label_map={"exc": "happy", "sad": "neutral", "neutral": "sad"},
                                      labels=None))
    assert sorted((u.id, u.label) for u in swapped) == [("manifest/a", "neutral"), ("manifest/b", "happy"),
                                                        ("manifest/c", "sad")]
    with pytest.raises(ConfigError, match="label map is given twice"):
        load_corpus(cfg.replace(recipe_options={"parts": [f"manifest={mine}"], "label_map": {"exc": "sad"}}))


def test_the_same_recipe_on_two_folders_gets_numbered_names(tmp_path, make_wav):
    a = write_manifest(tmp_path / "a" / "m.csv", [("x.wav", "sad", "s1", "train")], make_wav)
    b = write_manifest(tmp_path / "b" / "m.csv", [("x.wav", "happy", "s1", "train")], make_wav)
    corpus = prepare_dataset("multi", parts=f"manifest={a},manifest={b}")  # a comma-separated string works too
    assert sorted((u.id, u.speaker, u.label) for u in corpus) == [
        ("manifest#2/x", "manifest#2/s1", "happy"), ("manifest/x", "manifest/s1", "sad")]


def test_parts_default_folder_and_aliases(fake_plugins):
    parts = parse_parts(["demo", "crema-d=/data/cremad"])
    assert [(p.recipe, p.data_dir, p.name) for p in parts] == [("demo", None, "demo"),
                                                              ("cremad", "/data/cremad", "cremad")]
    corpus = prepare_dataset("multi", parts=["demo"])  # the bundled demo corpus: the recipe's default folder
    assert len(corpus) > 0 and all(u.id.startswith("demo/") and u.speaker.startswith("demo/") for u in corpus)


@pytest.mark.parametrize("parts, message", [
    (None, "no parts given"),
    ([], "no parts given"),
    (["demo", "demo"], "part demo is listed twice"),
    (["multi"], "cannot be multi itself"),
    (["=x"], "expected NAME or NAME=DIR"),
    (["demo="], "expected NAME or NAME=DIR"),
    ([3], "is not a string"),
])
def test_bad_parts_are_clear_errors(parts, message):
    with pytest.raises(DatasetError, match=message):
        prepare_dataset("multi", parts=parts)


def test_more_errors(tmp_path, ravdess_dir):
    with pytest.raises(UnknownComponentError, match="ravdess"):
        prepare_dataset("multi", parts=["ravdesss"])
    with pytest.raises(DatasetError, match="takes no data directory"):
        prepare_dataset("multi", tmp_path, parts=["demo"])
    with pytest.raises(DatasetError, match="does not exist"):
        prepare_dataset("multi", parts=[f"ravdess={tmp_path / 'nowhere'}"])
    with pytest.raises(DatasetError, match="listed twice"):  # the same folder spelled twice
        prepare_dataset("multi", parts=[f"ravdess={ravdess_dir}", f"ravdess={ravdess_dir}/../ravdess"])
    with pytest.raises(DatasetError, match="unknown option"):
        prepare_dataset("multi", parts=["demo"], colour="red")
