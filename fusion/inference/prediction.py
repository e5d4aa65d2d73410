"""What a prediction is: one per input, with a timeline of segments for long recordings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

Probabilities = dict[str, float]  # label -> probability, in the model's label order


def top_label(probs: Probabilities) -> str:
    """The most probable label."""
    return max(probs, key=probs.__getitem__)


def branch_labels(branches: dict[str, Probabilities]) -> dict[str, str]:
    """Most probable label per modality branch ("audio"/"text")."""
    return {name: top_label(p) for name, p in branches.items()}


@dataclass
class Scores:
    """The model's output for one clip or segment."""

    probabilities: Probabilities                                   # fused (or the single modality's)
    branches: dict[str, Probabilities] = field(default_factory=dict)  # "audio"/"text" -> probabilities

    @property
    def label(self) -> str:
        return top_label(self.probabilities)


@dataclass
class SegmentPrediction:
    """One voiced segment of a long recording."""

    start: float                  # seconds from the beginning of the input
    end: float                    # seconds, exclusive
    label: str                    # most probable class
    probabilities: Probabilities  # label -> probability
    transcript: str | None        # text of the segment (text/fused models), else None
    branches: dict[str, Probabilities] = field(default_factory=dict)  # per-modality probabilities

    @property
    def duration(self) -> float:
        return self.end - self.start

    def branch_labels(self) -> dict[str, str]:
        return branch_labels(self.branches)

    def to_dict(self) -> dict:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "label": self.label,
                "probabilities": self.probabilities, "transcript": self.transcript, "branches": self.branches}


@dataclass
class Prediction:
    """The result for one input. ``error`` set -> no label; ``warnings`` never prevent one.

    For a segmented (long) input, ``label``/``probabilities``/``branches`` summarise the
    timeline ``segments`` (duration-weighted mean of the segments' probabilities) and
    ``transcript`` joins the segments' transcripts.
    """

    id: str                                   # the input's name: file path, manifest id, or "array-<n>"
    file: str | None = None                   # audio file (None for an array)
    label: str | None = None                  # most probable class; None when the input failed
    probabilities: Probabilities = field(default_factory=dict)
    transcript: str | None = None             # text/fused models; None for audio-only models
    # "audio"/"text" -> probabilities: a fused head's unimodal branches ({} for heads without
    # them: concat, gated, tensor), or the single modality of an audio/text model
    branches: dict[str, Probabilities] = field(default_factory=dict)
    duration: float | None = None             # seconds of input audio
    silent: bool = False                      # the input is (digital) silence: the label is meaningless
    warnings: list[str] = field(default_factory=list)  # problems that did not prevent a prediction
    error: str | None = None                  # why there is no prediction
    segments: list[SegmentPrediction] = field(default_factory=list)  # timeline of a long input

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def top_probability(self) -> float | None:
        return self.probabilities.get(self.label) if self.label is not None else None

    def branch_labels(self) -> dict[str, str]:
        """Most probable class per modality branch."""
        return branch_labels(self.branches)

    def to_dict(self) -> dict:
        if not self.ok:
            return {"id": self.id, "file": self.file, "error": self.error, "duration": self.duration}
        d = {"id": self.id, "file": self.file, "label": self.label, "probabilities": self.probabilities,
             "transcript": self.transcript, "branches": self.branches, "duration": self.duration,
             "silent": self.silent, "warnings": self.warnings}
        if self.segments:
            d["segments"] = [s.to_dict() for s in self.segments]
        return d


def probabilities(labels: Sequence[str], row: np.ndarray) -> Probabilities:
    """A probability row [C] -> {label: p} (plain floats, for JSON)."""
    return {label: float(p) for label, p in zip(labels, row)}


def weighted_mean(dicts: Sequence[Probabilities], weights: Sequence[float]) -> Probabilities:
    """Duration-weighted mean of probability dicts over the same labels."""
    total = float(sum(weights))
    keys = list(dicts[0])
    if total <= 0:
        weights, total = [1.0] * len(dicts), float(len(dicts))
    return {k: float(sum(w * d[k] for d, w in zip(dicts, weights)) / total) for k in keys}


def summarize_segments(segments: Sequence[SegmentPrediction]) -> tuple[Scores, str | None]:
    """Whole-input scores (duration-weighted mean over segments) and the joined transcript."""
    weights = [s.duration for s in segments]
    scores = Scores(weighted_mean([s.probabilities for s in segments], weights))
    for branch in segments[0].branches:
        scores.branches[branch] = weighted_mean([s.branches[branch] for s in segments], weights)
    texts = [s.transcript for s in segments if s.transcript is not None]
    transcript = " ".join(t for t in texts if t) if len(texts) == len(segments) else None
    return scores, transcript
