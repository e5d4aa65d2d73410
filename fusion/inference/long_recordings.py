"""Long recordings in the :class:`~.predictor.Predictor`: voice-activity segments of a streamed
source, transcribed and classified segment by segment, summarised over the whole input.

:class:`LongRecordings` is the part of the predictor that handles inputs longer than
``long_threshold``; it uses the predictor's transcriber, featurization and forward pass
(``_transcribe``, ``_features``, ``_forward_batches``, ``_speaker_normalized``), its ``vad`` and
``config``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import audio as audio_io
from ..errors import FusionError
from ..speaker_norm import group_of
from .inputs import PredictInput
from .prediction import Prediction, SegmentPrediction, summarize_segments
from .sources import ArraySource, FileSource

SILENCE_DB = 20 * np.log10(audio_io.SILENCE_PEAK)  # level (dBFS) at or below which a frame is digital silence


def failure_reason(exc: BaseException) -> str:
    """An exception as one line for a per-input error (FusionErrors already name the input)."""
    return str(exc) if isinstance(exc, FusionError) else f"{type(exc).__name__}: {exc}"


class LongRecordings:
    """Segment-by-segment prediction of long inputs (mixed into the Predictor)."""

    def _predict_long(self, item: PredictInput, source: FileSource | ArraySource, duration: float,
                      warnings: list[str]) -> Prediction:
        """VAD on the streamed envelope, then transcribe + classify segment by segment."""
        hop = self.config.hop
        levels = source.levels(hop)  # [F]
        spans = self.vad.detect(levels, hop)
        silent = not spans
        if silent:
            first = min(duration, self.vad.config.max_segment)
            spans = [(0.0, first)]
            quiet = "is silent" if not len(levels) or levels.max() <= SILENCE_DB else "has no speech above the VAD floor"
            warnings.append(f"the recording {quiet} ({duration:.1f} s): predicted on the first {first:.1f} s only")
        ready = []
        for start in range(0, len(spans), self.config.batch_size):
            ready += self._span_features(source, spans[start:start + self.config.batch_size], warnings)
        feats = self._speaker_normalized([r[3] for r in ready], [group_of(item.speaker)] * len(ready))  # one file: one group
        segments = self._score_spans([(*r[:3], f) for r, f in zip(ready, feats)], warnings)
        if not segments:
            raise FusionError(f"no segment could be predicted ({len(spans)} tried): {warnings[-1]}")
        scores, transcript = summarize_segments(segments)
        return Prediction(item.id, str(item.file) if item.file else None, scores.label, scores.probabilities,
                          transcript if self.model.config.uses_text else None, scores.branches, duration,
                          silent, warnings, segments=segments)

    def _span_features(self, source, spans: Sequence[tuple[float, float]], warnings: list[str]) -> list[tuple]:
        """One batch of segments -> (start, end, text, features) each; a failing segment is skipped with a warning."""
        decoded = []
        for start, end in spans:
            try:
                decoded.append((start, end, source.read(start, end)))  # [S] at SR
            except FusionError as exc:
                warnings.append(f"segment {start:.2f}-{end:.2f} s skipped: {exc}")
        texts: list[tuple[str | None, str | None]] = [(None, None)] * len(decoded)
        if self.model.config.uses_text:
            keys = [source.segment_key(s, e) if self.config.cache_transcripts else None for s, e, _ in decoded]
            texts = self._transcribe([w for _, _, w in decoded], keys)
        ready = []
        for (start, end, wav), (text, error) in zip(decoded, texts):
            try:
                if error is None:
                    ready.append((start, end, text, self._features(wav, text)))
            except Exception as exc:  # noqa: BLE001
                error = failure_reason(exc)
            if error is not None:
                warnings.append(f"segment {start:.2f}-{end:.2f} s skipped: {error}")
        return ready

    def _score_spans(self, ready: list[tuple], warnings: list[str]) -> list[SegmentPrediction]:
        """(start, end, text, features) of segments -> their predictions (a failed batch: warnings)."""
        results = self._forward_batches([r[3] for r in ready])
        out = []
        for (start, end, text, _), scores in zip(ready, results):
            if isinstance(scores, str):
                warnings.append(f"segment {start:.2f}-{end:.2f} s skipped: {scores}")
                continue
            out.append(SegmentPrediction(start, end, scores.label, scores.probabilities, text, scores.branches))
        return out
