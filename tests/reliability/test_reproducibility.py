"""Reproducibility on CPU: same config + seed -> identical metrics and predictions; every run directory
records what is needed to rerun it (config, component and package versions, data manifest hash)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from fusion.runners import load_corpus
from fusion.data import manifest_hash
from fusion.experiment import ExperimentConfig
from tests.conftest import tone
from tests.fakes import make_synthetic_corpus
from tests.inference.helpers import registered_fakes
from tests.reliability.entry_points import invoke

COMPONENTS = ("--acoustic-encoder", "fake-frames", "--text-encoder", "fake-bag", "--transcriber", "gold",
              "--head", "concat", "--epochs", "2", "--set", "train.lr=0.003")
PACKAGES = ("fusion", "python", "torch", "torchaudio", "fusion-acoustic", "fusion-corpora")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("repro")
    with registered_fakes():
        yield root, make_synthetic_corpus(root / "corpus", speakers=6, per_label=2)


def in_fresh_cache(monkeypatch, folder: Path, *args):
    """``fusion ARGS`` with an empty feature cache: every number is recomputed, none is reused."""
    monkeypatch.setenv("FUSION_CACHE", str(folder))
    return invoke(*args)


@pytest.fixture(scope="module")
def ablations(workspace):
    """The same ablation twice (separate caches), then once more from the first run's config.toml."""
    root, corpus = workspace
    args = ("ablate", "--dataset", "synthetic", "--data-dir", corpus, *COMPONENTS, "--modes", "fused", "--folds", "2",
            "--seeds", "3")
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        for name in ("first", "second"):
            result = in_fresh_cache(mp, root / f"cache-{name}", *args, "--out", root / name)
            assert result.exit_code == 0, result.output
        config = root / "first" / "config.toml"
        result = in_fresh_cache(mp, root / "cache-rerun", "ablate", "--config", config, "--out", root / "rerun")
        assert result.exit_code == 0, result.output
    for name in ("first", "second", "rerun"):
        runs[name] = json.loads((root / name / "results.json").read_text())
    return root, runs


def test_two_ablations_with_the_same_config_and_seed_are_identical(ablations):
    root, runs = ablations
    assert set(runs["first"]["modes"]) == {"fused"}
    assert runs["first"]["modes"] == runs["second"]["modes"]
    for path in sorted((root / "first" / "runs").glob("*.json")):
        first, second = json.loads(path.read_text()), json.loads((root / "second" / "runs" / path.name).read_text())
        assert first["probs"] == second["probs"] and first["curve"] == second["curve"], path.name


def test_ablate_config_of_a_run_directory_reproduces_it_exactly(ablations):
    root, runs = ablations
    assert runs["rerun"]["config"] == runs["first"]["config"]
    assert runs["rerun"]["modes"] == runs["first"]["modes"]
    assert runs["rerun"]["manifest_hash"] == runs["first"]["manifest_hash"]
    assert (root / "rerun" / "config.toml").read_text() == (root / "first" / "config.toml").read_text()


def test_an_ablation_directory_records_config_versions_components_and_manifest_hash(ablations, workspace):
    root, runs = ablations
    results = runs["first"]
    config = ExperimentConfig.from_toml(root / "first" / "config.toml")
    assert config.to_dict() == results["config"] and config.seeds == (3,) and config.train.epochs == 2
    assert all(results["versions"].get(p) for p in PACKAGES), results["versions"]
    components = results["components"]
    assert {k: v["name"] for k, v in components.items()} == {
        "dataset": "synthetic", "acoustic_encoder": "fake-frames", "text_encoder": "fake-bag",
        "transcriber": "gold", "head": "concat"}
    assert components["head"]["distribution"] == "fusion-ser"
    assert components["head"]["version"] == results["versions"]["fusion"]
    assert results["manifest_hash"] == manifest_hash(load_corpus(config))


@pytest.fixture(scope="module")
def trained(workspace):
    """`fusion train` twice with the same config and seed (separate caches), each predicting a clip."""
    import soundfile as sf

    root, corpus = workspace
    clips = [root / "a.wav", root / "b.wav"]
    for n, clip in enumerate(clips):
        sf.write(str(clip), tone(1.1, freq=180.0 + 150 * n), 16000)
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        for name in ("model-1", "model-2"):
            result = in_fresh_cache(mp, root / f"cache-{name}", "train", "--dataset", "synthetic", "--data-dir",
                                    corpus, *COMPONENTS, "--mode", "fused", "--seed", "7", "--out", root / name)
            assert result.exit_code == 0, result.output
            predicted = invoke("predict", root / name, *clips, "--json", "--transcriber", "fake-asr")
            assert predicted.exit_code == 0, predicted.output
            out[name] = json.loads(predicted.stdout)
    return root, out


def test_two_trainings_with_the_same_seed_predict_identical_probabilities(trained):
    root, out = trained
    first, second = out["model-1"]["predictions"], out["model-2"]["predictions"]
    assert len(first) == 2 and [p["probabilities"] for p in first] == [p["probabilities"] for p in second]
    assert [p["branches"] for p in first] == [p["branches"] for p in second]
    assert (root / "model-1" / "model.pt").read_bytes() != b""
    metrics = [json.loads((root / m / "metrics.json").read_text()) for m in ("model-1", "model-2")]
    assert metrics[0] == metrics[1]


def test_a_model_directory_records_config_versions_components_and_manifest_hash(trained, ablations):
    root, _ = trained
    _, runs = ablations
    model_dir = root / "model-1"
    config = tomllib.loads((model_dir / "config.toml").read_text())
    assert config["modes"] == ["fused"] and config["train"]["seed"] == 7
    info = json.loads((model_dir / "model.json").read_text())
    assert all(info["versions"].get(p) for p in PACKAGES), info["versions"]
    assert info["components"]["acoustic_encoder"]["name"] == "fake-frames"
    assert info["components"]["head"] == runs["first"]["components"]["head"]
    assert info["manifest_hash"] == runs["first"]["manifest_hash"]  # the same corpus, nothing excluded
