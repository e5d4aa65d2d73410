"""The :class:`EnsemblePredictor`: several trained model directories, their class probabilities averaged.

``fusion.load(DIR_A, DIR_B, ...)`` (or ``fusion predict DIR_A ... --ensemble-with DIR_B``) builds one
:class:`~.predictor.Predictor` per directory with the same options and, per input:

* averages the members' class probabilities (plain mean, or a weighted mean with ``weights``:
  one positive number per member, normalised to sum to 1);
* for a segmented (long) input, averages segment by segment when every member found the same
  segment spans (they share the VAD config, so they do unless a segment failed in one member);
  otherwise only the whole-input summary is averaged, the timeline is left out and a warning says so;
* averages branch probabilities (``branches``: "audio"/"text") per branch name only when *every*
  member has that branch (an audio-only member has just "audio"; concat/gated/tensor heads have
  none); a branch that some member lacks is omitted rather than averaged over a subset;
* keeps the transcript of the first member that produces one (text/fused members);
* turns a member's failure on an input into that input's error, naming the member (when every
  member failed with the same message, the input itself is bad and the message is kept as is).

All members must have the same labels in the same order (a ConfigError names both directories).
Members with the same speech-to-text transcriber (name + config) share one instance, and it runs
once per input: later members get the transcript it produced (short inputs; a long input's
segments are transcribed per member).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .inputs import PredictInput, as_input, one_input, unique_ids
from .prediction import Prediction, Scores, SegmentPrediction, weighted_mean
from .predictor import Predictor

SPAN_TOLERANCE = 1e-6  # seconds: segment boundaries closer than this are "the same span"


class EnsemblePredictor:
    """Averaged predictions of several model directories; the same public surface as :class:`Predictor`."""

    def __init__(self, model_dirs: Sequence[str | Path], *, weights: Sequence[float] | None = None,
                 **options: Any):
        """``options`` (transcriber, transcriber_config, config, vad) are passed to every member."""
        dirs = [Path(d) for d in model_dirs]
        if not dirs:
            raise ConfigError("an ensemble needs at least one model directory")
        self.weights = check_weights(weights, len(dirs))
        self._members = tuple(Predictor(d, **options) for d in dirs)
        _check_labels(self._members)
        _share_transcribers(self._members)

    @classmethod
    def from_predictors(cls, predictors: Sequence[Predictor], weights: Sequence[float] | None = None
                        ) -> "EnsemblePredictor":
        """An ensemble of already loaded predictors (no model is loaded again; their transcribers
        are left as they are, not shared)."""
        if not predictors:
            raise ConfigError("an ensemble needs at least one model directory")
        self = cls.__new__(cls)
        self.weights = check_weights(weights, len(predictors))
        self._members = tuple(predictors)
        _check_labels(self._members)
        return self

    # ------------------------------------------------------------------ properties
    @property
    def members(self) -> tuple[Predictor, ...]:
        return self._members

    @property
    def model_dirs(self) -> tuple[Path, ...]:
        return tuple(m.model_dir for m in self._members)

    @property
    def labels(self) -> tuple[str, ...]:
        return self._members[0].labels

    @property
    def mode(self) -> str:
        """E.g. "ensemble of 3: audio, fused" (the members' distinct modes, in member order)."""
        modes = dict.fromkeys(m.mode for m in self._members)
        return f"ensemble of {len(self._members)}: {', '.join(modes)}"

    @property
    def uses_text(self) -> bool:
        """Whether any member reads transcripts (so results carry one)."""
        return any(m.uses_text for m in self._members)

    @property
    def name(self) -> str:
        """E.g. "rav-s1 + rav-s2" (the members' directory names)."""
        return " + ".join(m.name for m in self._members)

    @property
    def needs_transcript(self) -> bool:
        """Whether some text/fused member has no speech-to-text (inputs then need their transcript)."""
        return any(m.needs_transcript for m in self._members)

    @property
    def normalizes_speakers(self) -> bool:
        return any(m.normalizes_speakers for m in self._members)

    @property
    def transcript_source(self) -> str | None:
        """Where the first text-reading member's transcripts come from (None when no member reads text)."""
        return next((m.transcript_source for m in self._members if m.uses_text), None)

    @property
    def transcriber(self):
        """The first member's speech-to-text (None when no member has one)."""
        return next((m.transcriber for m in self._members if m.transcriber is not None), None)

    @property
    def config(self):
        """The predictor options (every member was built with the same ones)."""
        return self._members[0].config

    # ------------------------------------------------------------------ public API
    def predict(self, source: Any, sr: int | None = None, *, transcript: str | None = None) -> Prediction:
        """One file path or array (recorded at ``sr`` Hz) -> the averaged Prediction."""
        return self.predict_batch([one_input(source, sr, transcript)])[0]

    def predict_batch(self, items: Iterable[Any], sr: int | None = None) -> list[Prediction]:
        """Paths, arrays (all at ``sr``), Utterances or PredictInputs -> one averaged Prediction each."""
        items = unique_ids([as_input(x, sr, n) for n, x in enumerate(items)])  # every member reads them
        heard: dict[int, list[PredictInput]] = {}  # id(transcriber) -> the inputs with what it heard
        per_member = []  # [M][N]
        for m in self._members:
            t = m.transcriber if m.uses_text else None
            preds = m.predict_batch(heard.get(id(t), items))
            if t is not None and id(t) not in heard:  # later members with this transcriber reuse its text
                heard[id(t)] = [_heard(item, p) for item, p in zip(items, preds)]
            per_member.append(preds)
        return [self._combine(list(preds)) for preds in zip(*per_member)]

    def warmup(self) -> None:
        for m in self._members:
            m.warmup()

    # ------------------------------------------------------------------ averaging
    def _combine(self, preds: list[Prediction]) -> Prediction:
        """The members' Predictions of one input (member order) -> the ensemble's."""
        first = preds[0]
        failed = [(m, p) for m, p in zip(self._members, preds) if not p.ok]
        if failed:
            messages = {p.error for _, p in failed}
            if len(failed) == len(preds) and len(messages) == 1:
                error = first.error  # the input itself is bad: every member says the same
            else:
                error = "; ".join(f"model {m.model_dir}: {p.error}" for m, p in failed)
            return Prediction(first.id, first.file, duration=first.duration, error=error)
        scores = self._mean_scores(preds)
        warnings = list(dict.fromkeys(w for p in preds for w in p.warnings))  # union, first seen first
        segments: list[SegmentPrediction] = []
        if any(p.segments for p in preds):
            spans = [[(s.start, s.end) for s in p.segments] for p in preds]
            if all(_same_spans(spans[0], other) for other in spans[1:]):
                segments = [self._mean_segment(list(segs)) for segs in zip(*(p.segments for p in preds))]
            else:
                counts = ", ".join(str(len(s)) for s in spans)
                warnings.append(f"the members' segment timelines differ ({counts} segments): only the "
                                f"whole-input summary is averaged, no timeline")
        return Prediction(first.id, first.file, scores.label, scores.probabilities,
                          _first_transcript(preds), scores.branches, first.duration,
                          any(p.silent for p in preds), warnings, segments=segments)

    def _mean_scores(self, results: Sequence[Prediction | SegmentPrediction]) -> Scores:
        """Weighted mean of the members' probabilities and of the branches all members have."""
        scores = Scores(weighted_mean([r.probabilities for r in results], self.weights))
        shared = [b for b in results[0].branches if all(b in r.branches for r in results[1:])]
        for branch in shared:
            scores.branches[branch] = weighted_mean([r.branches[branch] for r in results], self.weights)
        return scores

    def _mean_segment(self, segs: list[SegmentPrediction]) -> SegmentPrediction:
        scores = self._mean_scores(segs)
        return SegmentPrediction(segs[0].start, segs[0].end, scores.label, scores.probabilities,
                                 _first_transcript(segs), scores.branches)


# ---------------------------------------------------------------------- helpers
def check_weights(weights: Sequence[float] | None, n: int) -> tuple[float, ...]:
    """None -> equal weights; else one finite positive weight per member, normalised to sum to 1."""
    if weights is None:
        return (1.0 / n,) * n
    try:
        values = [float(w) for w in weights]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"ensemble weights must be numbers, got {weights!r}") from exc
    if len(values) != n or not all(math.isfinite(w) and w > 0 for w in values):
        raise ConfigError(f"ensemble weights: need {n} positive number(s), one per model directory; "
                          f"got {list(weights)}")
    total = sum(values)
    return tuple(w / total for w in values)


def _check_labels(members: Sequence[Predictor]) -> None:
    base = members[0]
    for other in members[1:]:
        if tuple(other.labels) != tuple(base.labels):
            raise ConfigError(f"cannot ensemble models with different labels: {base.model_dir} has "
                              f"{list(base.labels)} but {other.model_dir} has {list(other.labels)} "
                              f"(labels must match in content and order)")


def _share_transcribers(members: Sequence[Predictor]) -> None:
    """Members whose transcribers have the same type, name and config use the first such instance
    (a speech-to-text model is then loaded once, not once per member)."""
    seen: list[Any] = []
    for m in members:
        t = m.transcriber
        if t is None:
            continue
        same = next((s for s in seen if type(s) is type(t) and s.featurize_key() == t.featurize_key()), None)
        if same is None:
            seen.append(t)
        else:
            m.transcriber = same


def _heard(item: PredictInput, pred: Prediction) -> PredictInput:
    """``item`` with the transcript a member's transcriber produced for it, when there is one to reuse:
    a short input (a long one is transcribed segment by segment) that was predicted, not given a text."""
    if item.transcript is not None or not pred.ok or pred.segments or pred.transcript is None:
        return item
    return dataclasses.replace(item, transcript=pred.transcript)


def _same_spans(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> bool:
    return len(a) == len(b) and all(abs(s0 - s1) <= SPAN_TOLERANCE and abs(e0 - e1) <= SPAN_TOLERANCE
                                    for (s0, e0), (s1, e1) in zip(a, b))


def _first_transcript(results: Sequence[Prediction | SegmentPrediction]) -> str | None:
    """The first member's transcript (the first member that has one: audio-only members have none)."""
    return next((r.transcript for r in results if r.transcript is not None), None)


__all__ = ["EnsemblePredictor", "check_weights"]
