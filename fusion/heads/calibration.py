"""Fitting the weights of a product of experts on held-out predictions.

The fused logits of a product of experts are ``sum_k s_k * term_k``, where a term is one
expert's log-probabilities (or any other additive term, such as a learned correction). An
expert trained to ~100% accuracy on its training data is over-confident there, so weights
learned on the training data over-trust it; :func:`fit_log_scales` instead fits ``log s_k``
on predictions for data the experts were not trained on (the validation speakers), by the
class-weighted cross-entropy of the fused logits, with a weak pull towards ``s_k = 1`` so
that a small held-out set cannot push a scale to an extreme.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

PRIOR = 0.01         # strength of the pull of each log-scale towards 0 (s = 1)
MAX_LOG_SCALE = 3.0  # |log s| is clamped to this (s in [0.05, 20])


def fit_log_scales(terms: Sequence[Tensor], targets: Tensor, class_weights: Tensor | None = None,
                   init: Tensor | None = None, steps: int = 100) -> Tensor:
    """terms: K additive terms of the fused logits, each [N, C] (e.g. an expert's log_softmax);
    targets [N] long -> fitted log-scales [K].

    Minimises ``CE(sum_k exp(ls_k) * terms_k, targets) + PRIOR * |ls|²`` with L-BFGS from
    ``init`` (default zeros); the terms themselves are not changed.
    """
    stacked = torch.stack([t.detach().float() for t in terms])  # [K, N, C]
    targets = targets.to(stacked.device)
    weight = None if class_weights is None else class_weights.detach().float().to(stacked.device)
    start = torch.zeros(len(terms)) if init is None else init.detach().float()
    log_scales = start.clone().to(stacked.device).requires_grad_(True)  # [K]
    optimizer = torch.optim.LBFGS([log_scales], lr=0.5, max_iter=steps, line_search_fn="strong_wolfe")

    def objective() -> Tensor:
        optimizer.zero_grad()
        fused = (log_scales.exp()[:, None, None] * stacked).sum(0)  # [N, C]
        loss = F.cross_entropy(fused, targets, weight=weight) + PRIOR * log_scales.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():  # callers may hold torch.no_grad()
        optimizer.step(objective)
    return log_scales.detach().clamp(-MAX_LOG_SCALE, MAX_LOG_SCALE)  # [K]
