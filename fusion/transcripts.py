"""Transcripts for a corpus: the ``gold`` transcriber and cached speech-to-text over a manifest."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .cache import Cache, file_hash, make_key
from .components import Transcriber
from .data import Utterance
from .errors import FusionError, TranscriptionError


class GoldTranscriber(Transcriber):
    """The corpus' own transcript; an utterance without one is an error naming it."""

    name = "gold"
    uses_audio = False

    @dataclass(frozen=True)
    class Config:
        missing: str = "error"  # "error" | "empty": what to do when a row has no gold transcript

    def __init__(self, config: "GoldTranscriber.Config | None" = None):
        self.config = config or self.Config()
        if self.config.missing not in ("error", "empty"):
            raise TranscriptionError(f"gold transcriber: missing must be 'error' or 'empty', got {self.config.missing!r}")

    def transcribe_utterance(self, utt: Utterance) -> str:
        if utt.transcript is None:
            if self.config.missing == "empty":
                return ""
            raise TranscriptionError(f"utterance {utt.id!r} has no gold transcript; use a speech-to-text "
                                     "transcriber (e.g. --transcriber faster-whisper)")
        return utt.transcript

    def transcribe(self, wav: np.ndarray, sr: int) -> str:
        raise TranscriptionError("the gold transcriber reads the corpus transcript, not audio")


SILENCE_DBFS = -70.0  # RMS level (dBFS) at or below which a clip counts as silence, without decoding


def is_silent(wav: np.ndarray, dbfs: float = SILENCE_DBFS) -> bool:
    """Cheap energy check run before speech-to-text: RMS level of ``wav`` [S] at or below ``dbfs``."""
    if wav.size == 0:
        return True
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64))))
    return rms <= 10.0 ** (dbfs / 20.0)


def speech_text(segments: Iterable[tuple[str, float, float]], no_speech_threshold: float,
                logprob_threshold: float) -> str:
    """Join decoded ``(text, no_speech_prob, avg_logprob)`` segments into one transcript.

    A segment is dropped by Whisper's own no-speech rule: ``no_speech_prob > no_speech_threshold``
    while ``avg_logprob <= logprob_threshold`` (a confident decode overrides the no-speech vote).
    """
    kept = [text.strip() for text, no_speech_prob, avg_logprob in segments
            if not (no_speech_prob > no_speech_threshold and avg_logprob <= logprob_threshold)]
    return " ".join(t for t in kept if t)


class LocalModelTranscriber(Transcriber):
    """Base of speech-to-text on a local model (openai-whisper, faster-whisper...).

    Checks the 16 kHz rate, answers "" for a silent clip without decoding (RMS at or below
    ``config.silence_dbfs``), and loads the model on first use, so a fully cached run never loads
    it; a load failure is remembered, so an offline download is not retried for every batch.
    Subclasses implement :meth:`load_model` (raising TranscriptionError) and :meth:`decode`.
    """

    sample_rate: ClassVar[int] = 16000
    _model: Any = None
    _load_error: TranscriptionError | None = None

    def load_model(self) -> Any:
        raise NotImplementedError

    def decode(self, wav: np.ndarray) -> str:
        """wav [S] float32 at :attr:`sample_rate`, not silent -> transcript."""
        raise NotImplementedError

    def loaded_model(self) -> Any:
        if self._model is None:
            if self._load_error is not None:
                raise self._load_error
            try:
                self._model = self.load_model()
            except TranscriptionError as exc:
                self._load_error = exc
                raise
        return self._model

    def transcribe(self, wav: np.ndarray, sr: int) -> str:
        if sr != self.sample_rate:
            raise TranscriptionError(f"transcriber {self.name!r} needs {self.sample_rate} Hz audio, got {sr} Hz "
                                     "(load it with fusion.audio.load)")
        wav = np.ascontiguousarray(wav, dtype=np.float32)
        if is_silent(wav, getattr(self.config, "silence_dbfs", SILENCE_DBFS)):
            return ""
        return self.decode(wav)


@dataclass
class TranscriptionReport:
    transcripts: dict[str, str]            # utterance id -> text
    errors: dict[str, str]                 # utterance id -> reason (bad audio, backend failure)
    cached: int = 0                        # served from the cache
    computed: int = 0                      # newly transcribed


def transcript_key(transcriber: Transcriber, audio_hash: str) -> str:
    return make_key("transcript", audio_hash, transcriber.featurize_key())


def transcribe_utterances(
    utterances: Sequence[Utterance],
    transcriber: Transcriber,
    cache: Cache | None = None,
    load_audio: Callable[[Utterance], np.ndarray] | None = None,
    progress: Callable | None = None,
    batch_size: int = 8,
) -> TranscriptionReport:
    """Transcribe every utterance (cache first). Bad inputs are reported, never dropped silently."""
    from . import audio as audio_io
    from .plugins import describe_component

    cache = cache if cache is not None else Cache("transcripts")
    report = TranscriptionReport({}, {})
    if not transcriber.uses_audio:
        for u in utterances:
            try:
                report.transcripts[u.id] = transcriber.transcribe_utterance(u)
                report.computed += 1
            except FusionError as exc:
                report.errors[u.id] = str(exc)
        return report

    load_audio = load_audio or (lambda u: audio_io.load(u.audio, on_silence="ignore"))
    pending: list[tuple[Utterance, str]] = []
    for u in utterances:
        if u.audio is None:
            report.errors[u.id] = f"utterance {u.id!r} has no audio file to transcribe"
            continue
        try:
            key = transcript_key(transcriber, file_hash(u.audio))
        except OSError as exc:
            report.errors[u.id] = f"{u.audio}: {exc.strerror or exc}"
            continue
        hit = cache.get_json(key)
        if hit is not None:
            report.transcripts[u.id] = hit["text"]
            report.cached += 1
        else:
            pending.append((u, key))
    bar = progress(total=len(pending), desc=f"transcribe ({transcriber.name})") if progress and pending else None
    for start in range(0, len(pending), batch_size):
        chunk = pending[start:start + batch_size]
        wavs, ok = [], []
        for u, key in chunk:
            try:
                wavs.append(load_audio(u))
                ok.append((u, key))
            except FusionError as exc:
                report.errors[u.id] = str(exc)
        if ok:
            try:
                texts = transcriber.transcribe_batch(wavs, 16000)
            except Exception as exc:
                for u, _ in ok:
                    report.errors[u.id] = (f"{describe_component('transcriber', transcriber)} failed: "
                                           f"{type(exc).__name__}: {exc}")
                texts = []
            for (u, key), text in zip(ok, texts):
                cache.put_json(key, {"text": text, "id": u.id})
                report.transcripts[u.id] = text
                report.computed += 1
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    return report
