"""Adapting a composed model to a new domain's class balance, from unlabelled clips (``compose --adapt``).

**Why.** A model trained on one corpus and run on another is biased toward some labels: on the new
domain's clips its average posterior is far from what the domain holds. Measured in this project:
the RAVDESS audio model on the demo corpus' voices puts 16 % of its mass on neutral and recalls 9 %
of the neutral clips; a text model of MELD, GoEmotions and DailyDialog puts half of its mass on sad
on ISEAR, where a third of the sentences are sad. Correcting such a shift of the label prior without
labels is the classic prior-shift adjustment (Saerens, Latinne & Decaestecker, 2002); in SER, the same
idea is behind normalising each domain by its own statistics (speaker / corpus normalisation).

**What.** Given ``N`` unlabelled clips of the target domain, each expert ``e`` gets the log-bias
``b_e`` over the ``K`` output labels (:mod:`.product_of_experts`, step 6) that solves::

    (1/N) sum_i softmax(log f_e(x_i) / T_e + b_e) = 1/K      for every output label

so that over the domain's clips the expert favours no label on average: the decision rule balanced
accuracy (UA) asks for when the domain's class prior is unknown. It is found by the fixed-point
iteration ``b <- b + log(1/K) - log(mean_i q_i)`` (iterative proportional fitting), each entry kept
within ``±LOG_BOUND``. Saerens' EM, which estimates the domain's prior instead and divides it out,
was measured too and not used: with an expert as far off as the audio one above its estimate runs
away (neutral 0.00). The weights and temperatures stay 1 (``--adapt`` and ``--calibrate`` are
exclusive: with labelled clips, calibrate).

A label a member does not model keeps its uniform factor and a bias of 0: the member is balanced
over the labels it models only.

**No label is read**: the manifest's ``label`` column may be absent. Scoring a model on the clips it
was adapted on uses nothing of their labels (transductive, as speaker normalisation standardises each
speaker by their own clips); the composition records which clips it was adapted on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..data import clip_set_hash
from ..errors import DatasetError
from ..recipes import prepare_dataset
from .composed import ComposedSpec
from .composed_eval import score_members
from .product_of_experts import ROLES, branch_probs

ADAPT_DATASET = "manifest"  # the recipe --adapt files are read with (labels optional)
LOG_BOUND = 4.0             # |b| <= 4: no label's odds moved by more than e^4 (~55)
MAX_ITER = 1000
TOL = 1e-6                  # stop when every label's mean mass is within TOL of 1/K
FEW_CLIPS = 20              # fewer adaptation clips than this: a warning (the mean is noisy)


def balancing_bias(factors: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """The log-bias ``b`` ``[K]`` under which ``branch_probs(factors, temperature, b)`` averages to
    ``1/K`` per label over the rows of ``factors`` ``[N, K]`` (module doc); zeros for no rows."""
    factors = np.asarray(factors, dtype=np.float64)
    n, k = factors.shape
    b = np.zeros(k)
    if not n:
        return b
    for _ in range(MAX_ITER):
        mean = branch_probs(factors, temperature, b).mean(axis=0)                 # [K]
        if np.max(np.abs(mean - 1.0 / k)) < TOL:
            break
        b = np.clip(b + np.log(1.0 / k) - np.log(np.maximum(mean, 1e-300)), -LOG_BOUND, LOG_BOUND)
    return b - b.mean()  # only differences between labels matter


def member_bias(factors: np.ndarray, temperature: float, modelled: list[int]) -> np.ndarray:
    """A member's bias ``[K]``: balanced over the output labels it models (columns ``modelled``), 0 for
    those it lacks, whose uniform factor says "no evidence" (:mod:`.product_of_experts`, step 3) and stays so."""
    factors = np.asarray(factors, dtype=np.float64)
    b = np.zeros(factors.shape[1])
    sub = factors[:, modelled]                                                         # [N, S]
    b[modelled] = balancing_bias(sub / sub.sum(axis=1, keepdims=True), temperature)
    return b


def _mean_branch(factors: np.ndarray, temperature: float, labels, bias=None) -> dict[str, float]:
    return {k: float(v) for k, v in zip(labels, branch_probs(factors, temperature, bias).mean(axis=0))}


def adapt_spec(spec: ComposedSpec, manifest, device: str | None = None, progress=None,
               log: Callable[[str], None] = print) -> ComposedSpec:
    """``spec`` with each expert's balancing bias fitted on ``manifest``'s clips (a ``manifest`` recipe
    CSV/JSONL: path[,label][,speaker][,transcript]; labels are not read), the members run from their
    ``source`` directories; the returned spec's ``adaptation`` says on what and how the mean moved."""
    corpus = prepare_dataset(ADAPT_DATASET, manifest, require_labels=False)
    dirs = {r: Path(spec.members[r].source) for r in ROLES}
    scores = score_members(spec, corpus, ADAPT_DATASET, manifest, dirs=dirs, device=device, progress=progress,
                           log=log)
    n = len(scores.utterances)
    if n < len(spec.labels):
        raise DatasetError(f"--adapt {manifest}: {n} clip(s) scored by both members; balancing {len(spec.labels)} "
                           f"labels needs at least {len(spec.labels)} (a few dozen to be reliable)")
    if n < FEW_CLIPS:
        log(f"warning: adapting on only {n} clips: each label's average is noisy")
    params = spec.params
    biases = {r: member_bias(scores.factors[r], params.temperatures[r],
                             [spec.labels.index(k) for k in spec.modelled(r)]) for r in ROLES}
    adapted = params.with_biases(biases)
    report = {"manifest": str(Path(manifest).resolve()), "clips_hash": clip_set_hash(list(corpus)), "n": n,
              "n_excluded": len(scores.excluded), "transcriber": scores.transcriber,
              "mean_before": {r: _mean_branch(scores.factors[r], params.temperatures[r], spec.labels) for r in ROLES},
              "mean_after": {r: _mean_branch(scores.factors[r], params.temperatures[r], spec.labels, biases[r])
                             for r in ROLES}}
    for r in ROLES:
        before, after = (", ".join(f"{k} {100 * v:.0f}%" for k, v in report[when][r].items())
                         for when in ("mean_before", "mean_after"))
        log(f"adapted on {n} unlabelled clips: the {r} member's average output {before} -> {after}")
    return ComposedSpec(spec.root, spec.labels, spec.members, adapted, spec.transcriber, spec.transcriber_config,
                        spec.calibration, report)
