"""Composed models: the product-of-experts maths, calibration, cross-fitting, member label mapping,
and compose_model_dir / evaluate_model_dir on composed directories."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from fusion.errors import ConfigError, LabelMismatchError
from fusion.experiment import ExperimentConfig
from fusion.runners import compose_model_dir, evaluate_model_dir, train_model_dir
from fusion.runners.calibration import cross_fit, fit_pool_params, fold_assignment, mean_nll
from fusion.runners.composed import ComposedSpec, member_label_map
from fusion.runners.product_of_experts import PoolParams, branch_probs, expert_factors, pool
from fusion.training.trainer import TrainConfig
from tests.fakes import make_synthetic_corpus
from tests.inference.helpers import registered_fakes, train_members

QUIET = dict(log=lambda msg: None)


# ---------------------------------------------------------------------- the maths
def test_pool_is_the_weighted_tempered_product_computed_by_hand():
    fa = np.array([[0.7, 0.2, 0.1], [0.2, 0.3, 0.5]])
    ft = np.array([[0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
    params = PoolParams({"audio": 2.0, "text": 0.5}, {"audio": 1.6, "text": 0.8})
    want = fa ** (2.0 / 1.6) * ft ** (0.5 / 0.8)
    np.testing.assert_allclose(pool({"audio": fa, "text": ft}, params), want / want.sum(1, keepdims=True))
    plain = fa * ft  # equal weights and temperatures: the normalised product of the posteriors
    np.testing.assert_allclose(pool({"audio": fa, "text": ft}), plain / plain.sum(1, keepdims=True))
    np.testing.assert_allclose(branch_probs(fa, 2.0), np.sqrt(fa) / np.sqrt(fa).sum(1, keepdims=True))


def test_a_class_an_expert_lacks_gets_a_uniform_factor():
    output = ("neutral", "happy", "sad", "angry")
    meld = {"joy": "happy", "sadness": "sad", "anger": "angry"}
    factors = expert_factors([[0.1, 0.6, 0.3]], ("joy", "sadness", "anger"), meld, output)
    np.testing.assert_allclose(factors, [[1 / 3, 0.1, 0.6, 0.3]])
    audio = np.array([[0.4, 0.3, 0.2, 0.1]])
    # an expert that is uniform over its own classes contributes nothing, not even to the class it lacks
    uniform = expert_factors([[1 / 3] * 3], ("joy", "sadness", "anger"), meld, output)
    np.testing.assert_allclose(pool({"audio": audio, "text": uniform}), audio)
    # a confident expert ranks a class it lacks below its favourite and above the classes it rules out
    sure = expert_factors([[0.9, 0.05, 0.05]], ("joy", "sadness", "anger"), meld, output)
    p = pool({"audio": np.full((1, 4), 0.25), "text": sure})[0]
    assert p[1] > p[0] > p[2] == pytest.approx(p[3])


def test_member_labels_are_renamed_restricted_and_merged():
    # IEMOCAP-style: two labels mapped to happy are summed; a label outside the output set is dropped
    factors = expert_factors([[0.2, 0.3, 0.1, 0.4]], ("hap", "exc", "fru", "sad"),
                             {"hap": "happy", "exc": "happy", "sad": "sad"}, ("happy", "sad"))
    np.testing.assert_allclose(factors, [[0.5 / 0.9, 0.4 / 0.9]])
    with pytest.raises(LabelMismatchError, match="models none of the output labels"):
        expert_factors([[0.5, 0.5]], ("calm", "bored"), {"calm": "calm", "bored": "bored"}, ("happy", "sad"))


def test_member_label_map_follows_the_recipe_and_the_run_map(tmp_path):
    labels = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
    (tmp_path / "meld").mkdir()
    (tmp_path / "meld" / "config.toml").write_text(ExperimentConfig(dataset="meld").to_toml())
    recipe, mapping = member_label_map(tmp_path / "meld", labels)
    assert recipe == "meld" and mapping == {"anger": "angry", "disgust": "disgust", "fear": "fearful", "joy": "happy",
                                            "neutral": "neutral", "sadness": "sad", "surprise": "surprised"}
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "config.toml").write_text(ExperimentConfig(dataset="meld", label_map={"surprise": "happy"}).to_toml())
    assert member_label_map(tmp_path / "own", labels)[1]["surprise"] == "happy"
    (tmp_path / "bare").mkdir()  # no config: only canonical names count
    assert member_label_map(tmp_path / "bare", ("happy", "joy", "sad")) == (None, {"happy": "happy", "sad": "sad"})


# ---------------------------------------------------------------------- calibration
def _noisy_text_set(n: int, seed: int = 0):
    """Four classes; the audio expert is informative, the text expert is confident noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    logits = 2.0 * np.eye(4)[y] + rng.normal(0, 1, (n, 4))
    audio = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    text = rng.dirichlet(np.full(4, 0.3), n)
    return {"audio": audio, "text": text}, y


def test_calibration_down_weights_a_noise_modality_and_improves_nll():
    factors, y = _noisy_text_set(48)
    params = fit_pool_params(factors, y)
    assert params.exponents["text"] < 0.5 * params.exponents["audio"]
    equal, fitted = mean_nll(pool(factors), y), mean_nll(pool(factors, params), y)
    assert fitted < equal - 0.2
    keys = [f"clip{i}" for i in range(len(y))]
    crossed = cross_fit(factors, keys, [f"spk{i % 4}" for i in range(len(y))], factors, y, keys)
    assert mean_nll(crossed.probs, y) < equal - 0.2  # also on clips the weights were not fitted on
    fresh, y_fresh = _noisy_text_set(200, seed=1)
    assert mean_nll(pool(fresh, params), y_fresh) < mean_nll(pool(fresh), y_fresh)


def test_the_prior_keeps_small_sets_near_equal_weights():
    assert fit_pool_params(*_noisy_text_set(0)) == PoolParams()
    small, large = fit_pool_params(*_noisy_text_set(4)), fit_pool_params(*_noisy_text_set(400))
    assert abs(np.log(small.weights["text"])) < abs(np.log(large.weights["text"]))


def test_cross_fitting_never_scores_a_clip_with_parameters_fitted_on_it():
    factors, y = _noisy_text_set(40)
    keys, speakers = [f"clip{i}" for i in range(40)], [f"spk{i % 4}" for i in range(40)]
    fit = cross_fit(factors, keys, speakers, factors, y, keys)
    assert fit.by == "speaker" and len(fit.folds) == 4
    assert sorted(i for f in fit.folds for i in f["scored"]) == list(range(40))
    for f in fit.folds:
        assert not {keys[i] for i in f["scored"]} & {keys[j] for j in f["fitted_on"]}
        assert len({speakers[i] for i in f["scored"]}) == 1  # a speaker's clips stay together
    # by construction: relabelling one fold's clips cannot change that fold's scores, only the others'
    fold = fit.folds[0]["scored"]
    y2 = y.copy()
    y2[fold] = (y2[fold] + 1) % 4
    refit = cross_fit(factors, keys, speakers, factors, y2, keys)
    np.testing.assert_array_equal(refit.probs[fold], fit.probs[fold])
    rest = [i for i in range(40) if i not in fold]
    assert not np.allclose(refit.probs[rest], fit.probs[rest])


def test_one_speaker_is_cross_fitted_clip_by_clip():
    factors, y = _noisy_text_set(12)
    keys = [f"c{i}" for i in range(12)]
    fit = cross_fit(factors, keys, ["one"] * 12, factors, y, keys)
    assert fit.by == "clip" and len(fit.folds) == 5 and all(len(f["scored"]) in (2, 3) for f in fit.folds)
    assert fold_assignment(["a", "a", "b", "c", "c", "c"]) == [[3, 4, 5], [0, 1], [2]]


# ---------------------------------------------------------------------- composed model directories
@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """The trained members; the fake plugins stay registered while the module's tests run."""
    with registered_fakes():
        yield train_members(tmp_path_factory.mktemp("members"))


def test_compose_without_calibration_copies_the_members_with_equal_weights(members, tmp_path):
    doc = compose_model_dir(members["audio"], members["text"], tmp_path / "comp", **QUIET)
    assert doc["weights"] == {"audio": 1.0, "text": 1.0} and doc["temperatures"] == {"audio": 1.0, "text": 1.0}
    assert doc["labels"] == ["angry", "happy", "neutral", "sad"] and doc["calibration"] is None
    for role in ("audio", "text"):
        assert (tmp_path / "comp" / role / "model.pt").read_bytes() == (members[role] / "model.pt").read_bytes()
    assert not (tmp_path / "comp" / "calibration.json").exists()
    assert ComposedSpec.load(tmp_path / "comp").params == PoolParams()


def test_composed_evaluation_reports_each_member_as_a_branch(members, tmp_path):
    compose_model_dir(members["audio"], members["text"], tmp_path / "comp", **QUIET)
    m = evaluate_model_dir(tmp_path / "comp", "synthetic", members["corpus"], **QUIET)
    assert m["n"] == 96 and not m["composition"]["cross_fitted"] and m["transcriber"] == "gold"
    assert m["branches"]["fused"]["ua"] == m["ua"]
    for role in ("audio", "text"):  # a branch is the member on its own
        assert m["branches"][role]["ua"] == evaluate_model_dir(members[role], "synthetic", members["corpus"], **QUIET)["ua"]
    c = m["fused_vs_best_branch"]
    assert c["best_branch"] == max(("audio", "text"), key=lambda b: m["branches"][b]["ua"])
    assert c["ci_low"] <= c["diff"] <= c["ci_high"]
    sub = evaluate_model_dir(tmp_path / "comp", "synthetic", members["corpus"], labels=("happy", "sad"), **QUIET)
    assert sub["n"] == 48 and sub["restricted_to"] == ["happy", "sad"] and sub["branches"]["text"]["n"] == 48


def test_calibrated_compose_is_cross_fitted_on_its_own_manifest(members, tmp_path):
    manifest = members["corpus"] / "manifest.csv"
    logs = []
    doc = compose_model_dir(members["audio"], members["text"], tmp_path / "comp", calibrate=manifest, log=logs.append)
    report = doc["calibration"]
    assert report["n"] == 96 and report["nll"]["calibrated"] <= report["nll"]["equal_weights"]
    assert any("calibrated on 96 clips" in line and "cross-fitted" in line for line in logs)
    rows = json.loads((tmp_path / "comp" / "calibration.json").read_text())["rows"]
    assert len(rows) == 96 and {"id", "speaker", "clip", "label", "audio", "text"} <= set(rows[0])

    logs.clear()
    m = evaluate_model_dir(tmp_path / "comp", "manifest", manifest, log=logs.append)
    c = m["composition"]
    assert c["cross_fitted"] and "calibration manifest" in c["reason"] and c["by"] == "speaker"
    assert sum(f["n_scored"] for f in c["folds"]) == 96 and all(f["n_fitted_on"] == 96 - f["n_scored"] for f in c["folds"])
    assert any(line.startswith("cross-fitting:") for line in logs)

    moved = tmp_path / "moved"  # the same audio under another manifest: found by content, still cross-fitted
    shutil.copytree(members["corpus"], moved)
    m = evaluate_model_dir(tmp_path / "comp", "manifest", moved / "manifest.csv", **QUIET)
    assert m["composition"]["cross_fitted"] and "96 of its clips are calibration clips" in m["composition"]["reason"]

    other = make_synthetic_corpus(tmp_path / "other", seed=7)  # new clips: the stored weights
    m = evaluate_model_dir(tmp_path / "comp", "manifest", other / "manifest.csv", **QUIET)
    assert not m["composition"]["cross_fitted"] and m["composition"]["weights"] == doc["weights"]


def test_a_member_with_meld_label_names_is_mapped(members, tmp_path, monkeypatch):
    import fusion.labels

    corpus = make_synthetic_corpus(tmp_path / "meldish")
    meld_words = {"happy": "joy", "angry": "anger", "sad": "sadness", "neutral": "neutral"}
    lines = (corpus / "manifest.csv").read_text().splitlines()
    rows = [line.split(",") for line in lines[1:]]
    (corpus / "manifest.csv").write_text("\n".join([lines[0]] + [",".join([r[0], meld_words[r[1]], *r[2:]]) for r in rows]) + "\n")
    monkeypatch.setitem(fusion.labels.RECIPE_LABEL_MAPS, "synthetic",
                        {"joy": "happy", "anger": "angry", "sadness": "sad", "neutral": "neutral"})
    cfg = ExperimentConfig(dataset="synthetic", data_dir=str(corpus), modes=("text",), text_encoder="fake-bag",
                           transcriber="gold", train=TrainConfig(epochs=6, batch_size=8, lr=3e-3))
    train_model_dir(cfg, tmp_path / "meld-text", **QUIET)
    doc = compose_model_dir(members["audio"], tmp_path / "meld-text", tmp_path / "comp", **QUIET)
    assert doc["labels"] == ["angry", "happy", "neutral", "sad"]
    assert doc["members"]["text"]["label_map"] == {"anger": "angry", "joy": "happy", "neutral": "neutral", "sadness": "sad"}
    own = evaluate_model_dir(tmp_path / "meld-text", "synthetic", corpus, **QUIET)  # in its own words
    m = evaluate_model_dir(tmp_path / "comp", "synthetic", members["corpus"], **QUIET)
    assert m["branches"]["text"]["ua"] == own["ua"] > 0.5
    assert m["branches"]["text"]["confusion_counts"] == own["confusion_counts"]  # same label order: angry..sad


def test_compose_errors_name_what_is_wrong(members, tmp_path):
    with pytest.raises(ConfigError, match="--audio .* is a text model; --audio takes a model trained with --mode audio"):
        compose_model_dir(members["text"], members["text"], tmp_path / "c", **QUIET)
    with pytest.raises(LabelMismatchError, match="calm modelled by neither member"):
        compose_model_dir(members["audio"], members["text"], tmp_path / "c", labels="happy,sad,calm", **QUIET)
    with pytest.raises(ConfigError, match="give --calibrate"):
        compose_model_dir(members["audio"], members["text"], tmp_path / "c", label_map={"joy": "happy"}, **QUIET)
    with pytest.raises(ConfigError, match="overlaps the audio member"):
        compose_model_dir(members["audio"], members["text"], members["audio"] / "inner", **QUIET)
    compose_model_dir(members["audio"], members["text"], tmp_path / "c", labels="happy,sad", **QUIET)
    with pytest.raises(LabelMismatchError, match=r"\['angry', 'neutral'\] .* not among the composed model's"):
        evaluate_model_dir(tmp_path / "c", "synthetic", members["corpus"], **QUIET)
    with pytest.raises(LabelMismatchError, match="has no label"):
        evaluate_model_dir(tmp_path / "c", "synthetic", members["corpus"], labels=("happy", "angry"), **QUIET)
