"""Repeated --dataset / --data-dir on train, ablate and evaluate: several corpora as one multi dataset."""

from __future__ import annotations

import json

import pytest

from fusion.errors import ConfigError
from fusion.experiment import ExperimentConfig
from fusion.commands.datasets import dataset_parts
from tests.fakes import make_synthetic_corpus
from tests.reliability.entry_points import FAKES, invoke


@pytest.fixture
def corpora(tmp_path):
    a = make_synthetic_corpus(tmp_path / "a", speakers=4, per_label=2, seed=0)
    b = make_synthetic_corpus(tmp_path / "b", speakers=4, per_label=2, seed=1)
    return a, b / "manifest.csv"


def test_each_data_dir_belongs_to_the_dataset_before_it():
    order = ["dataset", "data_dir", "mode", "dataset", "dataset", "data_dir"]
    assert dataset_parts(["ravdess", "demo", "meld"], ["/r", "/m"], order) == ["ravdess=/r", "demo", "meld=/m"]
    with pytest.raises(ConfigError, match="--data-dir /r comes before any --dataset"):
        dataset_parts(["ravdess", "demo"], ["/r"], ["data_dir", "dataset", "dataset"])
    with pytest.raises(ConfigError, match="--dataset ravdess has two --data-dir"):
        dataset_parts(["ravdess", "demo"], ["/r", "/s"], ["dataset", "data_dir", "data_dir", "dataset"])


def test_train_on_two_corpora_writes_a_multi_config(fake_plugins, corpora, tmp_path):
    a, b = corpora
    out = tmp_path / "model"
    result = invoke("train", "--dataset", "synthetic", "--data-dir", a, "--mode", "text", *FAKES,
                    "--dataset", "manifest", "--data-dir", b, "--out", out)
    assert result.exit_code == 0, result.output
    cfg = ExperimentConfig.from_toml(out)
    assert (cfg.dataset, cfg.data_dir) == ("multi", None)
    assert cfg.recipe_options == {"parts": [f"synthetic={a}", f"manifest={b}"]}
    assert json.loads((out / "metrics.json").read_text())["n_train"] > 0
    # evaluate on the same two corpora: per-corpus scores, in the table and in the JSON
    result = invoke("evaluate", out, "--dataset", "synthetic", "--data-dir", a, "--dataset", "manifest",
                    "--data-dir", b)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    table = lines[lines.index("per corpus:") + 1:]
    assert table[0].split() == ["corpus", "n", "UA", "WA", "macro-F1"]
    assert [row.split()[:2] for row in table[1:]] == [["synthetic", "32"], ["manifest", "32"]]
    result = invoke("evaluate", out, "--dataset", "manifest", "--data-dir", b, "--dataset", "synthetic",
                    "--data-dir", a, "--json")
    m = json.loads(result.stdout)
    assert list(m["per_corpus"]) == ["manifest", "synthetic"] and m["n"] == 64


def test_one_dataset_behaves_as_before_in_any_order(fake_plugins, corpora, tmp_path):
    a, _ = corpora
    out = tmp_path / "model"
    result = invoke("train", "--data-dir", a, "--mode", "audio", *FAKES, "--dataset", "synthetic", "--out", out)
    assert result.exit_code == 0, result.output
    cfg = ExperimentConfig.from_toml(out)
    assert (cfg.dataset, cfg.data_dir, cfg.recipe_options) == ("synthetic", str(a), {})
    result = invoke("evaluate", out, "--dataset", "synthetic", "--data-dir", a, "--json")
    assert result.exit_code == 0 and "per_corpus" not in json.loads(result.stdout)


def test_ablate_on_two_corpora(fake_plugins, corpora, tmp_path):
    a, b = corpora
    out = tmp_path / "run"
    result = invoke("ablate", "--dataset", "synthetic", "--data-dir", a, "--dataset", "manifest", "--data-dir", b,
                    *FAKES, "--modes", "text", "--folds", "2", "--out", out)
    assert result.exit_code == 0, result.output
    res = json.loads((out / "results.json").read_text())
    assert res["dataset"] == "multi" and set(res["per_corpus"]) == {"synthetic", "manifest"}
    assert "## Per corpus" in (out / "report.md").read_text()


@pytest.mark.parametrize("args, message", [
    (("--dataset", "synthetic", "--dataset", "manifest", "--set", "recipe.parts=[\"demo\"]"),
     "error: the corpora are given twice"),
    (("--data-dir", "A", "--dataset", "synthetic", "--dataset", "demo"), "error: --data-dir A comes before any"),
    (("--dataset", "synthetic", "--data-dir", "A", "--data-dir", "B"), "error: 2 --data-dir options for one --dataset"),
    (("--dataset", "demo", "--dataset", "demo"), "error: multi: part demo is listed twice"),
])
def test_bad_combinations_are_one_error_line(fake_plugins, tmp_path, args, message):
    for command in ("train", "ablate"):
        extra = ("--mode", "text") if command == "train" else ()
        result = invoke(command, *args, *extra, *FAKES, "--out", tmp_path / command)
        assert result.exit_code == 1 and "Traceback" not in result.output
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and errors[0].startswith(message), result.output
