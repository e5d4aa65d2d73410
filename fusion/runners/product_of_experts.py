"""Combining an audio expert and a text expert: a weighted product of experts (log-linear pooling).

A composed model (``fusion compose``) has output labels ``K`` (canonical names, :mod:`fusion.labels`)
and two experts ``e`` in {audio, text}: models trained on their own, possibly on different corpora
with different label names. The maths, step by step:

1. **Naming.** Each expert's labels are renamed to canonical names through the label map of the
   recipe it was trained on (MELD ``joy`` -> ``happy``, ...); columns renamed to the same name are
   summed. ``S_e`` = the output labels expert ``e`` models (its canonical names that are in ``K``).

2. **Restriction.** ``q_e(y) = p_e(y | x_e, y in S_e)``: the expert's posterior over ``S_e``,
   renormalised (:func:`fusion.labels.restrict_probs`; a row with no mass on ``S_e`` is uniform).

3. **Classes an expert lacks.** For ``y`` in ``K \\ S_e`` the expert has no evidence either way.
   Read the expert as a likelihood: with a uniform prior over its classes, ``p(x_e | y) ∝ q_e(y)``
   for ``y`` in ``S_e``. For a class it never saw, the uninformed assumption is that the evidence is
   as likely as it is on average, ``p(x_e | y) = p(x_e) = mean_{s in S_e} p(x_e | s) ∝ 1 / |S_e|``.
   The expert's factor is therefore::

       f_e(y) = q_e(y)       for y in S_e
       f_e(y) = 1 / |S_e|    for y not in S_e    (a uniform factor)

   An expert that is uniform over its classes gives every class the same factor (it contributes
   nothing); one that is confident in ``s`` ranks a class it lacks below ``s`` and above the
   classes it rules out. A class neither expert models cannot be an output label.

4. **Pooling.** With a weight ``w_e`` and a temperature ``T_e`` per expert::

       p(y | a, t) = prod_e f_e(y) ** (w_e / T_e) / Z,   Z = sum over y' in K of the same product

   computed in log space (``log p = sum_e (w_e / T_e) log f_e - logsumexp``). With ``w = T = 1``
   this is the plain product of the two posteriors: the Bayes combination when audio and text are
   independent given the class and the class prior is uniform. ``w_e -> 0`` removes an expert;
   ``T_e > 1`` flattens an over-confident one. Only ``w_e / T_e`` changes the pooled posterior;
   :mod:`.calibration` fits the two separately so that both mean something.

5. **Branches.** Each expert's own calibrated distribution over ``K`` (what ``fusion evaluate``
   and predictions report as its branch) is ``f_e ** (1 / T_e)``, normalised.

6. **Domain biases** (optional, ``fusion compose --adapt``, :mod:`.adaptation`). An expert may carry
   a log-bias ``b_e`` over ``K``, fitted without labels so that its branch gives every label the same
   mass on average over the target domain's clips. It enters each expert's log-branch before pooling::

       branch_e = softmax(log f_e / T_e + b_e),   log p = sum_e w_e (log f_e / T_e + b_e) - logsumexp

   With ``b_e = 0`` (the default) steps 4-5 are unchanged.

Probabilities are clipped to at least :data:`EPS` before the logarithm, so that a probability that
underflowed to 0 cannot veto a class for good.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError, LabelMismatchError
from ..labels import restrict_probs

EPS = 1e-12  # floor of a probability before its logarithm
ROLES = ("audio", "text")  # the experts of a composed model, in this order


@dataclass(frozen=True)
class PoolParams:
    """Per-expert weight ``w_e`` and temperature ``T_e`` (both positive; 1 = no change), and optional
    per-expert log-biases ``b_e`` over the output labels (step 6; absent = 0)."""

    weights: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ROLES, 1.0))
    temperatures: dict[str, float] = field(default_factory=lambda: dict.fromkeys(ROLES, 1.0))
    biases: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def __post_init__(self):
        for what, values in (("weight", self.weights), ("temperature", self.temperatures)):
            if set(values) != set(ROLES):
                raise ConfigError(f"composition: need a {what} for each of {', '.join(ROLES)}, got {sorted(values)}")
            bad = {k: v for k, v in values.items() if not (np.isfinite(v) and v > 0)}
            if bad:
                raise ConfigError(f"composition: {what}s must be finite and > 0, got {bad}")
        if self.biases and set(self.biases) != set(ROLES):
            raise ConfigError(f"composition: biases need an entry for each of {', '.join(ROLES)}, "
                              f"got {sorted(self.biases)}")
        sizes = {len(b) for b in self.biases.values()}
        if len(sizes) > 1 or not all(np.isfinite(x) for b in self.biases.values() for x in b):
            raise ConfigError(f"composition: biases must be finite and one per output label, got {self.biases}")

    def bias(self, role: str, k: int) -> np.ndarray:
        """``b_e`` ``[K]`` (zeros when there are none); ConfigError when its length is not ``k``."""
        if role not in self.biases:
            return np.zeros(k)
        b = np.asarray(self.biases[role], dtype=np.float64)
        if b.shape != (k,):
            raise ConfigError(f"composition: the {role} bias has {b.size} entries for {k} output labels")
        return b

    def with_biases(self, biases: Mapping[str, Sequence[float]]) -> "PoolParams":
        return PoolParams(dict(self.weights), dict(self.temperatures),
                          {r: tuple(float(x) for x in biases[r]) for r in biases})

    @property
    def exponents(self) -> dict[str, float]:
        """``w_e / T_e``: the power each expert's factor is raised to in the pool."""
        return {r: self.weights[r] / self.temperatures[r] for r in ROLES}

    def to_dict(self) -> dict:
        out = {"weights": {r: float(self.weights[r]) for r in ROLES},
               "temperatures": {r: float(self.temperatures[r]) for r in ROLES}}
        if self.biases:
            out["biases"] = {r: [float(x) for x in self.biases[r]] for r in ROLES}
        return out

    @classmethod
    def from_dict(cls, d: Mapping) -> "PoolParams":
        try:
            biases = {r: tuple(float(x) for x in d["biases"][r]) for r in ROLES} if d.get("biases") else {}
            weights, temperatures = ({r: float(d[key][r]) for r in ROLES} for key in ("weights", "temperatures"))
        except (KeyError, TypeError, ValueError) as exc:
            given = {key: d.get(key) for key in ("weights", "temperatures", "biases")}
            raise ConfigError(f"composition: weights/temperatures (and biases) must map {' and '.join(ROLES)} to "
                              f"numbers, got {given}") from exc
        return cls(weights, temperatures, biases)


def modelled_labels(member_labels: Sequence[str], label_map: Mapping[str, str], output: Sequence[str]) -> list[str]:
    """``S_e``: the output labels (in output order) an expert models once its labels are renamed."""
    names = {label_map.get(str(label), str(label)) for label in member_labels}
    return [k for k in output if k in names]


def expert_factors(probs, member_labels: Sequence[str], label_map: Mapping[str, str],
                   output: Sequence[str]) -> np.ndarray:
    """An expert's probabilities ``[N, C]`` (columns = ``member_labels``) -> its factors ``f_e`` ``[N, K]``
    over ``output`` (steps 1-3 of the module doc). LabelMismatchError when it models none of them."""
    p = np.asarray(probs, dtype=np.float64)
    modelled = modelled_labels(member_labels, label_map, output)
    if not modelled:
        raise LabelMismatchError(f"an expert with labels {', '.join(map(str, member_labels))} models none of "
                                 f"the output labels {', '.join(output)}")
    q = restrict_probs(p, member_labels, modelled, label_map)                  # [N, S]
    factors = np.full((p.shape[0], len(output)), 1.0 / len(modelled))          # [N, K]
    factors[:, [list(output).index(k) for k in modelled]] = q
    return factors


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)                                        # [N, K]
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def log_factors(factors: np.ndarray) -> np.ndarray:
    return np.log(np.clip(np.asarray(factors, dtype=np.float64), EPS, None))  # [N, K]


def pool(factors: Mapping[str, np.ndarray], params: PoolParams | None = None) -> np.ndarray:
    """The pooled posterior ``[N, K]`` of the experts' factors (steps 4 and 6)."""
    params = params or PoolParams()
    alpha = params.exponents
    k = np.shape(factors[ROLES[0]])[1]
    z = sum(alpha[r] * log_factors(factors[r]) + params.weights[r] * params.bias(r, k) for r in ROLES)  # [N, K]
    return _softmax(z)


def branch_probs(factors: np.ndarray, temperature: float = 1.0, bias=None) -> np.ndarray:
    """One expert's calibrated distribution ``[N, K]`` over the output labels (steps 5 and 6)."""
    z = log_factors(factors) / temperature                                      # [N, K]
    return _softmax(z if bias is None else z + np.asarray(bias, dtype=np.float64))
