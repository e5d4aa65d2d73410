"""The :class:`ComposedPredictor`: a composed model directory (``fusion compose``) applied to new audio.

It runs the audio member and the text member (each a :class:`~.predictor.Predictor` on its copy
inside the directory) on every input and pools their probabilities as the composition says
(:mod:`fusion.runners.product_of_experts`: a weighted product of experts over the composed model's
labels, with the calibrated weights and temperatures). A prediction's ``branches`` hold each
member's calibrated distribution over those labels ("audio", "text").

* The text member transcribes with ``transcriber`` if given, else the speech-to-text chosen at
  compose time, else its own (a member trained on gold transcripts needs one, or transcripts given
  with the inputs).
* A long input is pooled segment by segment when both members found the same segments (they
  share the VAD settings, so they do unless a segment failed in one); otherwise the whole-input
  summaries are pooled, without a timeline, and a warning says so.
* A member's failure on an input becomes that input's error, naming the member.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..runners.composed import ComposedSpec
from ..runners.product_of_experts import ROLES
from .ensemble import _same_spans
from .inputs import as_input, one_input, unique_ids
from .prediction import Prediction, Scores, SegmentPrediction, probabilities, summarize_segments
from .predictor import Predictor


class ComposedPredictor:
    """Pooled predictions of a composed model directory; the same public surface as :class:`Predictor`."""

    def __init__(self, model_dir: str | Path, *, transcriber: str | None = None,
                 transcriber_config: dict | None = None, config: "Predictor.Config | dict | None" = None,
                 vad=None):
        self.model_dir = Path(model_dir)
        self.spec = ComposedSpec.load(self.model_dir)
        if transcriber is None and self.spec.transcriber is not None:
            transcriber = self.spec.transcriber
            transcriber_config = {**self.spec.transcriber_config, **(transcriber_config or {})}
        self.audio = Predictor(self.spec.member_dir("audio"), config=config, vad=vad)
        self.text = Predictor(self.spec.member_dir("text"), transcriber=transcriber,
                              transcriber_config=transcriber_config, config=config, vad=vad)

    # ------------------------------------------------------------------ properties
    @property
    def members(self) -> tuple[Predictor, Predictor]:
        return self.audio, self.text

    @property
    def labels(self) -> tuple[str, ...]:
        return self.spec.labels

    @property
    def mode(self) -> str:
        return "composed"

    @property
    def uses_text(self) -> bool:
        return True

    @property
    def name(self) -> str:
        return self.model_dir.name

    @property
    def needs_transcript(self) -> bool:
        return self.text.needs_transcript

    @property
    def transcriber(self):
        return self.text.transcriber

    @property
    def normalizes_speakers(self) -> bool:
        return self.audio.normalizes_speakers

    @property
    def transcript_source(self) -> str | None:
        return self.text.transcript_source

    @property
    def config(self):
        return self.audio.config

    # ------------------------------------------------------------------ public API
    def predict(self, source: Any, sr: int | None = None, *, transcript: str | None = None) -> Prediction:
        """One file path or array (recorded at ``sr`` Hz) -> the pooled Prediction."""
        return self.predict_batch([one_input(source, sr, transcript)])[0]

    def predict_batch(self, items: Iterable[Any], sr: int | None = None) -> list[Prediction]:
        """Paths, arrays (all at ``sr``), Utterances or PredictInputs -> one pooled Prediction each."""
        items = unique_ids([as_input(x, sr, n) for n, x in enumerate(items)])
        text = self.text.predict_batch(items)      # first: a missing transcriber is a ConfigError
        audio = self.audio.predict_batch(items)
        return [self._combine(a, t) for a, t in zip(audio, text)]

    def warmup(self) -> None:
        for m in self.members:
            m.warmup()

    # ------------------------------------------------------------------ pooling
    def _pool(self, audio: dict, text: dict) -> Scores:
        """Two members' probability dicts (their own labels) -> pooled Scores with both branches."""
        probs = {"audio": audio, "text": text}
        factors = {r: self.spec.factors(r, np.array([[probs[r][l] for l in m.labels]]))   # [1, K]
                   for r, m in zip(ROLES, self.members)}
        pooled, branches = self.spec.combine(factors)                                       # [1, K] each
        return Scores(probabilities(self.labels, pooled[0]),
                      {r: probabilities(self.labels, branches[r][0]) for r in ROLES})

    def _combine(self, audio: Prediction, text: Prediction) -> Prediction:
        failed = [(r, p) for r, p in zip(ROLES, (audio, text)) if not p.ok]
        if failed:
            if len(failed) == 2 and audio.error == text.error:
                error = audio.error  # the input itself is bad
            else:
                error = "; ".join(f"{r} member: {p.error}" for r, p in failed)
            return Prediction(audio.id, audio.file, duration=audio.duration, error=error)
        warnings = list(dict.fromkeys([*audio.warnings, *text.warnings]))
        segments: list[SegmentPrediction] = []
        if audio.segments or text.segments:
            spans = [[(s.start, s.end) for s in p.segments] for p in (audio, text)]
            if _same_spans(*spans):
                segments = [self._segment(a, t) for a, t in zip(audio.segments, text.segments)]
            else:
                warnings.append(f"the members' segment timelines differ ({len(spans[0])} and {len(spans[1])} "
                                "segments): only the whole-input summaries are pooled, no timeline")
        if segments:
            scores, _ = summarize_segments(segments)
        else:
            scores = self._pool(audio.probabilities, text.probabilities)
        return Prediction(audio.id, audio.file, scores.label, scores.probabilities, text.transcript,
                          scores.branches, audio.duration, audio.silent or text.silent, warnings, segments=segments)

    def _segment(self, audio: SegmentPrediction, text: SegmentPrediction) -> SegmentPrediction:
        scores = self._pool(audio.probabilities, text.probabilities)
        return SegmentPrediction(audio.start, audio.end, scores.label, scores.probabilities, text.transcript,
                                 scores.branches)


__all__ = ["ComposedPredictor"]
