"""Fitting a composition's weights and temperatures on a small labelled in-domain set, and cross-fitting.

A calibration set is small (a few dozen clips), so only four numbers are fitted, each a MAP estimate
under a log-normal prior centred on 1 (``log θ ~ N(0, σ²)``, ``σ`` = :data:`PRIOR_SD`):

1. **Temperatures**, each expert on its own (temperature scaling)::

       T_e = argmin  sum_i -log branch_e(x_i)[y_i]  +  (log T_e)² / (2σ²)

2. **Weights**, the temperatures fixed, on the pooled posterior (:mod:`.product_of_experts`)::

       w = argmin  sum_i -log p(y_i | a_i, t_i; w, T)  +  sum_e (log w_e)² / (2σ²)

Only ``w_e / T_e`` changes the pool; fitting ``T`` on each expert alone first and then ``w`` on the
pool makes both identifiable: ``T_e`` says how over- or under-confident expert ``e`` is on this
domain, ``w_e`` how far the pool trusts it beyond that. Each stage is an L-BFGS-B search (analytic
gradient) over log-parameters bounded to ``[-4, 4]``. Summed (not averaged) NLL against the prior: the
more clips, the further the data may pull a parameter from 1; with no clips everything stays 1.

**Cross-fitting.** Parameters fitted on a clip must not score that clip. :func:`cross_fit` splits
the clips to score into K folds (K = min(5, number of groups)), grouping by speaker when there are
at least two speakers (a calibrated model is meant for new speakers of the domain) and by clip
otherwise; fold k is scored with parameters fitted on the calibration rows whose clip (content
hash) is not in fold k. Which rows fitted which fold is returned, so the claim can be checked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from .product_of_experts import EPS, ROLES, PoolParams, branch_probs, log_factors, pool

PRIOR_SD = 1.0     # sd of log(weight) and log(temperature) under the prior
LOG_BOUND = 4.0    # |log θ| <= 4: every parameter within a factor e^4 (~55) of 1
MAX_FOLDS = 5      # cross-fitting folds at most


def mean_nll(probs, y: Sequence[int]) -> float:
    """Mean negative log-likelihood (nats per clip) of labels ``y`` under ``probs`` ``[N, K]``."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y, dtype=int)
    if not len(y):
        return float("nan")
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], EPS, None))))


def _fit_log_scales(logs: Sequence[np.ndarray], y: np.ndarray, base: Sequence[float], sign: float,
                    prior_sd: float) -> np.ndarray:
    """argmin over v of NLL(softmax(sum_j base_j exp(sign v_j) logs_j)) + |v|² / (2σ²)  ->  v."""
    rows = np.arange(len(y))
    base = np.asarray(base, dtype=np.float64)

    def objective(v: np.ndarray):
        alpha = base * np.exp(sign * v)                                        # [J]
        z = sum(a * lf for a, lf in zip(alpha, logs))                          # [N, K]
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))               # [N, K]
        p = np.exp(log_p)
        nll = -log_p[rows, y].sum()
        # d NLL / d alpha_j = sum_i (E_p[logs_j] - logs_j[y_i])
        d_alpha = np.array([((p * lf).sum(axis=1) - lf[rows, y]).sum() for lf in logs])  # [J]
        grad = d_alpha * alpha * sign + v / prior_sd ** 2
        return nll + float((v ** 2).sum()) / (2 * prior_sd ** 2), grad

    result = minimize(objective, np.zeros(len(logs)), jac=True, method="L-BFGS-B",
                      bounds=[(-LOG_BOUND, LOG_BOUND)] * len(logs))
    return result.x


def fit_pool_params(factors: Mapping[str, np.ndarray], y: Sequence[int], prior_sd: float = PRIOR_SD) -> PoolParams:
    """The two-stage MAP fit of the module doc on the experts' factors ``[N, K]`` and labels ``y``."""
    y = np.asarray(y, dtype=int)
    if not len(y):
        return PoolParams()
    logs = {r: log_factors(factors[r]) for r in ROLES}                          # [N, K] each
    temperatures = {r: float(np.exp(_fit_log_scales([logs[r]], y, [1.0], -1.0, prior_sd)[0])) for r in ROLES}
    v = _fit_log_scales([logs[r] for r in ROLES], y, [1.0 / temperatures[r] for r in ROLES], 1.0, prior_sd)
    return PoolParams({r: float(np.exp(x)) for r, x in zip(ROLES, v)}, temperatures)


def fold_assignment(groups: Sequence[str], max_folds: int = MAX_FOLDS) -> list[list[int]]:
    """Indices ``0..N-1`` in K = min(max_folds, #groups) folds, each group whole: largest groups
    first, each to the fold with the fewest clips so far (deterministic)."""
    sizes = Counter(groups)
    k = min(max_folds, len(sizes))
    folds: list[list[int]] = [[] for _ in range(k)]
    for group, _ in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])):
        target = min(range(k), key=lambda f: (len(folds[f]), f))
        folds[target].extend(i for i, g in enumerate(groups) if g == group)
    return [sorted(f) for f in folds if f]


@dataclass
class CrossFit:
    """Cross-fitted scores of some clips: each fold scored by parameters fitted without its clips."""

    probs: np.ndarray                  # [N, K] pooled
    branches: dict[str, np.ndarray]    # role -> [N, K] calibrated branch
    by: str                            # "speaker" | "clip": what the folds keep together
    folds: list[dict]                  # {"scored": [clip index], "fitted_on": [calibration row], "params": {...}}


def cross_fit(factors: Mapping[str, np.ndarray], keys: Sequence[str], speakers: Sequence[str],
              cal_factors: Mapping[str, np.ndarray], cal_y: Sequence[int], cal_keys: Sequence[str],
              prior_sd: float = PRIOR_SD, max_folds: int = MAX_FOLDS) -> CrossFit:
    """Score clips (``factors`` ``[N, K]`` per expert, clip identities ``keys``, ``speakers``) with
    parameters fitted on the calibration rows (``cal_*``) minus each fold's clips (module doc)."""
    n = len(keys)
    first = factors[ROLES[0]]
    probs = np.zeros((n, first.shape[1]))                                        # [N, K]
    branches = {r: np.zeros_like(probs) for r in ROLES}
    by = "speaker" if len(set(speakers)) >= 2 else "clip"
    groups = list(speakers) if by == "speaker" else [f"{i}" for i in range(n)]
    cal_y = np.asarray(cal_y, dtype=int)
    folds = []
    for scored in fold_assignment(groups, max_folds):
        held = {keys[i] for i in scored}
        fitted_on = [j for j, key in enumerate(cal_keys) if key not in held]
        params = fit_pool_params({r: np.asarray(cal_factors[r])[fitted_on] for r in ROLES}, cal_y[fitted_on],
                                 prior_sd)
        part = {r: np.asarray(factors[r])[scored] for r in ROLES}
        probs[scored] = pool(part, params)
        for r in ROLES:
            branches[r][scored] = branch_probs(part[r], params.temperatures[r])
        folds.append({"scored": scored, "fitted_on": fitted_on, "params": params.to_dict()})
    return CrossFit(probs, branches, by, folds)
