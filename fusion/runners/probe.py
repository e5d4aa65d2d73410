"""The linear probe: logistic regression on the same cached frozen features, folds and selection rule.

A baseline every ablation can show beside its trained models (``--modes audio,probe``): if a trained
model does not beat a linear classifier on the features it was trained on, training did not help.
Each utterance's featurize output ``[T, ...]`` is averaged over time and then over any middle axis
(Whisper's layers ``[T, L+1, D]`` -> ``[D]``: the mean of the block outputs), standardised with
the training set's statistics, and classified by a class-balanced L2 logistic regression whose
inverse regularisation ``C`` is chosen on the validation speakers by the selection metric (UA),
the smallest ``C`` on ties. The chosen probe is not refitted on validation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError
from ..experiment import PROBE_MODES, Inputs
from ..training.metrics import classification_metrics
from .fit import RunRecord

C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)


def pooled_features(inputs: Inputs, indices: Sequence[int], modality: str) -> np.ndarray:
    """[N, D] float64: each utterance's features averaged over time, then over the middle axes."""
    store = inputs.audio if modality == "audio" else inputs.text
    rows = []
    for n in indices:
        x = store[inputs.utterances[n].id]
        if not x.is_floating_point():
            raise ConfigError(f"probe: the {modality} features are not real-valued vectors ({x.dtype}); "
                              "the probe needs an encoder whose featurize returns frozen states")
        v = x.float().mean(dim=0)                                # [..., D]
        rows.append(v.reshape(-1, v.shape[-1]).mean(dim=0).numpy() if v.dim() > 1 else v.numpy())  # [D]
    return np.asarray(rows, dtype=np.float64)


def probe_and_score(inputs: Inputs, train_idx: Sequence[int], val_idx: Sequence[int], test_idx: Sequence[int],
                    *, mode: str = "probe", seed: int = 0, fold: int | None = None,
                    test_groups: Sequence[str] = ()) -> RunRecord:
    """Fit the probe on ``train_idx``, choose ``C`` on ``val_idx``, score ``test_idx``: a RunRecord."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if mode not in PROBE_MODES:
        raise ConfigError(f"probe: unknown mode {mode!r}; valid choices: {', '.join(PROBE_MODES)}")
    modality = PROBE_MODES[mode]
    labels = inputs.labels
    y_of = lambda idx: np.asarray([labels.index(inputs.utterances[n].label) for n in idx], dtype=int)  # noqa: E731
    scaler = StandardScaler().fit(pooled_features(inputs, train_idx, modality))
    x_train = scaler.transform(pooled_features(inputs, train_idx, modality))   # [N, D]
    y_train = y_of(train_idx)

    def fit(c: float):
        return LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed).fit(x_train, y_train)

    curve, best, best_score = [], None, -1.0
    if len(val_idx):
        x_val, y_val = scaler.transform(pooled_features(inputs, val_idx, modality)), y_of(val_idx)
        for c in C_GRID:
            clf = fit(c)
            ua = classification_metrics(y_val, clf.predict(x_val), labels)["ua"]
            curve.append({"C": c, "val_ua": ua})
            if ua > best_score + 1e-9:
                best, best_score = clf, ua
    else:  # no validation speakers: the library default
        best, best_score = fit(1.0), float("nan")
        curve.append({"C": 1.0})
    record = RunRecord(mode=mode, seed=seed, fold=fold, test_groups=list(test_groups), best_epoch=0,
                       best_val_ua=float(best_score), curve=curve)
    if len(test_idx):
        probs = np.zeros((len(test_idx), len(labels)))                           # [N, C]
        probs[:, best.classes_] = best.predict_proba(scaler.transform(pooled_features(inputs, test_idx, modality)))
        y = y_of(test_idx).tolist()
        record.metrics = classification_metrics(y, probs.argmax(1), labels)
        record.ids = [inputs.utterances[n].id for n in test_idx]
        record.y_true, record.probs = y, np.round(probs, 6).tolist()
    return record


def chosen_c(record: RunRecord) -> float | None:
    """The ``C`` the probe of ``record`` kept (the best validation UA, smallest ``C`` on ties)."""
    scored = [row for row in record.curve if "val_ua" in row]
    if not scored:
        return record.curve[0].get("C") if record.curve else None
    return max(scored, key=lambda row: (row["val_ua"], -row["C"]))["C"]
