import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score

from fusion.training.metrics import bootstrap_difference, classification_metrics

LABELS = ["a", "b", "c", "d"]


def test_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    p = np.where(rng.random(200) < 0.6, y, rng.integers(0, 4, 200))
    m = classification_metrics(y, p, LABELS)
    assert m["ua"] == pytest.approx(balanced_accuracy_score(y, p))
    assert m["wa"] == pytest.approx(accuracy_score(y, p))
    assert m["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))
    assert m["weighted_f1"] == pytest.approx(f1_score(y, p, average="weighted"))
    assert m["confusion_counts"] == confusion_matrix(y, p).tolist()
    assert np.allclose(np.asarray(m["confusion"]).sum(1), 1.0)
    assert m["n"] == 200
    for i, label in enumerate(LABELS):
        assert m["per_class_recall"][label] == pytest.approx(np.mean(p[y == i] == i))


def test_ua_differs_from_wa_on_imbalanced_data():
    y = [0] * 90 + [1] * 10
    p = [0] * 100  # always the majority class
    m = classification_metrics(y, p, ["maj", "min"])
    assert m["wa"] == pytest.approx(0.9)
    assert m["ua"] == pytest.approx(0.5)


def test_absent_class_keeps_confusion_shape():
    m = classification_metrics([0, 0, 1], [0, 1, 1], LABELS)
    assert np.asarray(m["confusion"]).shape == (4, 4)
    assert set(m["per_class_recall"]) == {"a", "b"}


def test_bootstrap_difference_detects_a_better_model():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 400)
    good = np.where(rng.random(400) < 0.8, y, rng.integers(0, 4, 400))
    bad = np.where(rng.random(400) < 0.3, y, rng.integers(0, 4, 400))
    c = bootstrap_difference(y, good, bad, n_resamples=300)
    assert c["ci_low"] > 0 and c["diff"] > 0.3 and c["p_not_better"] < 0.01
    same = bootstrap_difference(y, good, good, n_resamples=100)
    assert same["diff"] == 0 and same["ci_low"] == 0 == same["ci_high"]


def test_ua_is_sklearns_balanced_accuracy_and_quiet_when_a_prediction_names_an_absent_class():
    import warnings

    from sklearn.metrics import balanced_accuracy_score

    y_true, y_pred = [0, 0, 1, 1, 1], [0, 2, 1, 2, 1]  # class 2 predicted, never true
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = classification_metrics(y_true, y_pred, ["a", "b", "c"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert m["ua"] == pytest.approx(balanced_accuracy_score(y_true, y_pred)) == pytest.approx((0.5 + 2 / 3) / 2)


def test_balanced_accuracy_matches_sklearn_on_random_labels():
    import warnings

    from fusion.training.metrics import balanced_accuracy

    rng = np.random.default_rng(0)
    for _ in range(50):
        y, p = rng.integers(0, 4, 30), rng.integers(0, 5, 30)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert balanced_accuracy(y, p) == pytest.approx(balanced_accuracy_score(y, p), abs=1e-12)
