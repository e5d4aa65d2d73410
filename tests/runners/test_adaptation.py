"""Adapting a composed model to a domain's class balance without labels (fusion.runners.adaptation),
and the biases it stores in the pooling parameters (fusion.runners.product_of_experts, step 6)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from fusion.errors import CheckpointError, ConfigError, DatasetError
from fusion.runners import compose_model_dir, evaluate_model_dir
from fusion.runners.adaptation import LOG_BOUND, balancing_bias, member_bias
from fusion.runners.composed import ComposedSpec
from fusion.runners.product_of_experts import PoolParams, branch_probs, pool
from tests.inference.helpers import registered_fakes, train_members

QUIET = dict(log=lambda msg: None)


def _skewed_factors(n: int = 200, k: int = 4, seed: int = 0) -> np.ndarray:
    """Posteriors of an expert that over-predicts label 0 and under-predicts label k-1."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, k)) + np.linspace(1.5, -1.5, k)                         # [N, K]
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_the_balancing_bias_makes_the_average_branch_uniform(temperature):
    f = _skewed_factors()
    assert branch_probs(f, temperature).mean(axis=0)[0] > 0.3  # skewed before
    b = balancing_bias(f, temperature)
    np.testing.assert_allclose(branch_probs(f, temperature, b).mean(axis=0), 0.25, atol=1e-5)
    assert b[0] < 0 < b[-1] and abs(b.mean()) < 1e-9
    ranks = branch_probs(f, temperature, b).argmax(1)
    assert len(set(ranks)) == 4  # every label is decided somewhere once balanced


def test_the_balancing_bias_is_bounded_and_zero_without_clips():
    f = np.tile([0.97, 0.01, 0.01, 0.01], (10, 1))  # label 0 everywhere: no finite bias balances it
    b = balancing_bias(f)
    assert np.all(np.abs(b) <= 2 * LOG_BOUND) and np.all(np.isfinite(b))
    assert np.array_equal(balancing_bias(np.zeros((0, 3))), np.zeros(3))
    uniform = np.full((5, 4), 0.25)
    np.testing.assert_allclose(balancing_bias(uniform), 0.0, atol=1e-12)


def test_a_label_the_member_lacks_keeps_a_zero_bias_and_its_uniform_factor():
    from fusion.runners.product_of_experts import expert_factors

    skewed = _skewed_factors(k=3)  # the member models angry, happy, sad; the output adds neutral
    f = expert_factors(skewed, ["angry", "happy", "sad"], {}, ["angry", "happy", "neutral", "sad"])   # [N, 4]
    b = member_bias(f, 1.0, [0, 1, 3])
    assert b[2] == 0.0
    q = branch_probs(f, 1.0, b)
    over_modelled = q[:, [0, 1, 3]] / q[:, [0, 1, 3]].sum(1, keepdims=True)
    np.testing.assert_allclose(over_modelled.mean(axis=0), 1 / 3, atol=1e-5)  # balanced where it has evidence


def test_biases_enter_each_branch_and_the_pool_as_computed_by_hand():
    fa = np.array([[0.7, 0.2, 0.1], [0.2, 0.3, 0.5]])
    ft = np.array([[0.1, 0.6, 0.3], [0.3, 0.3, 0.4]])
    ba, bt = np.array([-0.5, 0.2, 0.3]), np.array([0.1, 0.0, -0.1])
    params = PoolParams({"audio": 2.0, "text": 0.5}, {"audio": 1.6, "text": 0.8}, {"audio": tuple(ba), "text": tuple(bt)})
    want = np.exp(2.0 * (np.log(fa) / 1.6 + ba) + 0.5 * (np.log(ft) / 0.8 + bt))
    np.testing.assert_allclose(pool({"audio": fa, "text": ft}, params), want / want.sum(1, keepdims=True))
    branch = np.exp(np.log(fa) / 1.6 + ba)
    np.testing.assert_allclose(branch_probs(fa, 1.6, ba), branch / branch.sum(1, keepdims=True))
    assert PoolParams.from_dict(params.to_dict()) == params
    assert "biases" not in PoolParams().to_dict()  # compositions without them read and write as before


@pytest.mark.parametrize("biases, message", [
    ({"audio": (0.0, 1.0)}, "an entry for each of audio, text"),
    ({"audio": (0.0, 1.0), "text": (0.0,)}, "one per output label"),
    ({"audio": (0.0, float("nan")), "text": (0.0, 0.0)}, "finite"),
])
def test_bad_biases_are_errors(biases, message):
    with pytest.raises(ConfigError, match=message):
        PoolParams(biases=biases)


def test_a_bias_of_the_wrong_length_for_the_labels_is_an_error():
    params = PoolParams(biases={"audio": (0.0, 0.1), "text": (0.0, 0.0)})
    with pytest.raises(ConfigError, match="2 entries for 3 output labels"):
        pool({"audio": np.full((1, 3), 1 / 3), "text": np.full((1, 3), 1 / 3)}, params)


# ---------------------------------------------------------------------- compose --adapt
@pytest.fixture(scope="module")
def members(tmp_path_factory):
    with registered_fakes():
        yield train_members(tmp_path_factory.mktemp("members"))


def _unlabelled(corpus, out):
    """The corpus' manifest without its label column (absolute audio paths)."""
    header, *rows = [line.split(",") for line in (corpus / "manifest.csv").read_text().splitlines()]
    out.write_text("\n".join(",".join([r[0] if r is header else str(corpus / r[0]), *r[2:]])
                             for r in [header, *rows]) + "\n")
    return out


def test_compose_adapt_balances_each_member_on_unlabelled_clips(members, tmp_path):
    manifest = _unlabelled(members["corpus"], tmp_path / "clips.csv")
    logs = []
    doc = compose_model_dir(members["audio"], members["text"], tmp_path / "comp", adapt=manifest,
                            log=lambda s: logs.append(s) if s.startswith("adapted") else None)
    info = doc["adaptation"]
    assert info["n"] == 96 and info["manifest"] == str(manifest.resolve()) and info["transcriber"] == "gold"
    for role in ("audio", "text"):
        assert sum(info["mean_after"][role].values()) == pytest.approx(1.0)
        assert all(v == pytest.approx(0.25, abs=1e-4) for v in info["mean_after"][role].values())
        assert len(doc["biases"][role]) == 4
    assert len(logs) == 2 and "unlabelled clips" in logs[0]
    assert doc["weights"] == {"audio": 1.0, "text": 1.0} and doc["calibration"] is None
    spec = ComposedSpec.load(tmp_path / "comp")
    assert spec.params.biases == {r: tuple(doc["biases"][r]) for r in ("audio", "text")}
    broken = tmp_path / "broken"
    shutil.copytree(tmp_path / "comp", broken)
    stored = json.loads((broken / "compose.json").read_text())
    stored["biases"] = {r: b[:3] for r, b in stored["biases"].items()}  # three biases for four labels
    (broken / "compose.json").write_text(json.dumps(stored))
    with pytest.raises(CheckpointError, match="biases of {'audio': 3, 'text': 3} entries for 4 output labels"):
        ComposedSpec.load(broken)
    stored["biases"]["text"] = [0.0, 0.0]  # the two members disagree
    (broken / "compose.json").write_text(json.dumps(stored))
    with pytest.raises(CheckpointError, match="biases must be finite and one per output label"):
        ComposedSpec.load(broken)
    assert json.loads((tmp_path / "comp" / "compose.json").read_text())["adaptation"]["n"] == 96

    logs = []
    m = evaluate_model_dir(tmp_path / "comp", "manifest", members["corpus"] / "manifest.csv", log=logs.append)
    assert m["composition"]["adapted"] and m["composition"]["adapted_on_these_clips"]
    assert any("adapted on these same clips" in line for line in logs)
    plain_dir = tmp_path / "plain"
    compose_model_dir(members["audio"], members["text"], plain_dir, **QUIET)
    plain = evaluate_model_dir(plain_dir, "manifest", members["corpus"] / "manifest.csv", **QUIET)
    assert not plain["composition"]["adapted"] and "biases" not in plain["composition"]
    assert m["composition"]["biases"] == doc["biases"] and max(abs(b) for b in doc["biases"]["audio"]) > 1e-3


def test_a_prediction_of_an_adapted_model_uses_its_biases(members, tmp_path):
    import fusion

    manifest = _unlabelled(members["corpus"], tmp_path / "clips.csv")
    compose_model_dir(members["audio"], members["text"], tmp_path / "comp", adapt=manifest, **QUIET)
    compose_model_dir(members["audio"], members["text"], tmp_path / "plain", **QUIET)
    clip = members["corpus"] / "spk0_happy_0.wav"
    adapted = fusion.load(tmp_path / "comp", transcriber="gold").predict(clip, transcript="i feel glad today")
    plain = fusion.load(tmp_path / "plain", transcriber="gold").predict(clip, transcript="i feel glad today")
    spec = ComposedSpec.load(tmp_path / "comp")
    labels = spec.labels
    raw = {r: np.array([[plain.branches[r][k] for k in labels]]) for r in ("audio", "text")}  # equal weights, T=1
    pooled, branches = spec.combine(raw)
    np.testing.assert_allclose([adapted.probabilities[k] for k in labels], pooled[0], atol=1e-6)
    np.testing.assert_allclose([adapted.branches["audio"][k] for k in labels], branches["audio"][0], atol=1e-6)


def test_adapt_and_calibrate_together_are_an_error(members, tmp_path):
    manifest = members["corpus"] / "manifest.csv"
    with pytest.raises(ConfigError, match="--adapt and --calibrate: choose one"):
        compose_model_dir(members["audio"], members["text"], tmp_path / "c", adapt=manifest, calibrate=manifest,
                          **QUIET)
    assert not (tmp_path / "c").exists()


def test_too_few_adaptation_clips_are_an_error_and_few_a_warning(members, tmp_path):
    header, *rows = _unlabelled(members["corpus"], tmp_path / "all.csv").read_text().splitlines()
    (tmp_path / "three.csv").write_text("\n".join([header, *rows[:3]]) + "\n")
    with pytest.raises(DatasetError, match="3 clip\\(s\\) scored by both members; balancing 4 labels needs at least 4"):
        compose_model_dir(members["audio"], members["text"], tmp_path / "c", adapt=tmp_path / "three.csv", **QUIET)
    assert not (tmp_path / "c").exists()
    (tmp_path / "eight.csv").write_text("\n".join([header, *rows[:8]]) + "\n")
    logs = []
    compose_model_dir(members["audio"], members["text"], tmp_path / "c", adapt=tmp_path / "eight.csv", log=logs.append)
    assert "warning: adapting on only 8 clips: each label's average is noisy" in logs
