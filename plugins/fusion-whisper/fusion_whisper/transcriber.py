"""The ``whisper`` transcriber: openai-whisper on float32 16 kHz arrays (never a path: no ffmpeg)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fusion.components import config_dict
from fusion.errors import ConfigError, TranscriptionError
from fusion.transcripts import SILENCE_DBFS, LocalModelTranscriber, speech_text

from . import checkpoint

class OpenAIWhisperBase(LocalModelTranscriber):
    """What the openai-whisper transcribers share: weights, decoding options, the cache key, loading."""

    name = ""

    @dataclass(frozen=True)
    class Config:
        model: str = field(default_factory=checkpoint.default_model)  # name ("tiny.en") or .pt path
        language: str | None = None          # None = auto-detect ("en" for English-only models)
        beam_size: int = 1                   # 1 = greedy decoding; > 1 = beam search
        temperature: float = 0.0             # 0 = deterministic decoding, no sampling fallback
        no_speech_threshold: float = 0.6     # segment dropped when no_speech_prob exceeds this...
        logprob_threshold: float = -1.0      # ...and its avg_logprob is at or below this
        fp16: bool = False                   # half precision (GPU only)
        device: str = "cpu"                  # torch device of the model
        silence_dbfs: float = SILENCE_DBFS   # RMS level at or below which a clip is "" without decoding

    def __init__(self, config=None):
        self.config = c = config or self.Config()
        if c.beam_size < 1 or c.temperature < 0:
            raise ConfigError(f"{self.where}: beam_size must be >= 1 and temperature >= 0, "
                              f"got {c.beam_size}, {c.temperature}")
        checkpoint.check_model(c.model, TranscriptionError, self.where)

    @property
    def where(self) -> str:
        return f"transcriber {self.name!r}"

    def featurize_key(self) -> dict:
        """Model weights (name or file sha256), language and decoding options; not the path or device."""
        options = {k: v for k, v in config_dict(self.config).items() if k not in ("model", "device")}
        return {"name": self.name, "model": checkpoint.model_identity(self.config.model), "config": options}

    def load_model(self):
        return checkpoint.load(self.config.model, self.config.device, TranscriptionError, self.where)


class WhisperTranscriber(OpenAIWhisperBase):
    """openai-whisper speech-to-text; silence and no-speech segments give ""."""

    name = "whisper"

    @dataclass(frozen=True)
    class Config(OpenAIWhisperBase.Config):
        condition_on_previous_text: bool = False  # feed the previous window's text as a prompt

    def decode(self, wav: np.ndarray) -> str:
        c = self.config
        result = self.loaded_model().transcribe(
            wav, language=c.language, beam_size=c.beam_size if c.beam_size > 1 else None,
            temperature=c.temperature, no_speech_threshold=c.no_speech_threshold,
            logprob_threshold=c.logprob_threshold, condition_on_previous_text=c.condition_on_previous_text,
            fp16=c.fp16, verbose=None,
        )
        segments = ((s["text"], s["no_speech_prob"], s["avg_logprob"]) for s in result["segments"])
        return speech_text(segments, c.no_speech_threshold, c.logprob_threshold)
