"""Checking an exported graph against PyTorch on batches shaped unlike the export example.

An exporter can silently bake a traced size into the graph (a padded length, the batch size); the
graph then fails or disagrees on other shapes. Every export is therefore run on
:data:`CHECK_BATCHES` (other batch sizes, longer and shorter clips and transcripts than
:data:`EXAMPLE`) and compared with the PyTorch model's probabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..model import EmotionModel
from .graph import ClassifierGraph, synthetic_inputs


@dataclass(frozen=True)
class Shapes:
    """A made-up batch: one clip duration (seconds) and one transcript length (words) per item."""

    durations: tuple[float, ...]
    words: tuple[int, ...]


EXAMPLE = Shapes((1.0, 1.5), (3, 5))                         # traced by the exporters
CHECK_BATCHES = (Shapes((0.7, 2.6, 1.9), (1, 9, 4)),         # other batch size, shorter and longer
                 Shapes((0.5,), (2,)))                         # a single clip (the web demo's case)
TOLERANCE = 1e-4  # max |probability difference| accepted between the export and PyTorch

Runner = Callable[[dict[str, Tensor]], Sequence[np.ndarray]]  # graph inputs by name -> outputs in order


def example_inputs(model: EmotionModel) -> dict[str, Tensor]:
    return synthetic_inputs(model, EXAMPLE.durations, EXAMPLE.words)


def check_inputs(model: EmotionModel) -> list[dict[str, Tensor]]:
    return [synthetic_inputs(model, s.durations, s.words, seed=n + 1) for n, s in enumerate(CHECK_BATCHES)]


def max_difference(graph: ClassifierGraph, run: Runner, batches: Sequence[dict[str, Tensor]]) -> float:
    """Largest |exported - PyTorch| over every output of every batch (raises what ``run`` raises)."""
    worst = 0.0
    for inputs in batches:
        with torch.no_grad():
            expected = graph(*(inputs[name] for name in graph.input_names))  # ([B, C], ...)
        got = run(inputs)
        if len(got) != len(expected):
            raise ValueError(f"the export has {len(got)} outputs, PyTorch {len(expected)}")
        for want, have in zip(expected, got):
            have = np.asarray(have)
            if have.shape != tuple(want.shape):
                raise ValueError(f"output shape {have.shape} != PyTorch {tuple(want.shape)}")
            worst = max(worst, float(np.abs(have - want.numpy()).max()))
    return worst
