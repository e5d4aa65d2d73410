"""The ``whisper-shared`` transcriber: openai-whisper decoding from the shared padded encoder pass.

Same weights and decoding rules as ``whisper``, but the encoder output comes from
:func:`fusion_whisper.shared_pass.take_or_run`, so a ``whisper-encoder-shared`` acoustic encoder
on the same clip (same process) reuses the pass instead of running the encoder again. Each 30 s
window is decoded on its own with ``whisper.decode`` (text tokens only, no timestamps); a window
is dropped by the no-speech rule of :func:`fusion.transcripts.speech_text`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from fusion.components import config_dict
from fusion.errors import ConfigError, TranscriptionError
from fusion.transcripts import SILENCE_DBFS, LocalModelTranscriber, speech_text

from . import checkpoint, shared_pass

WHERE = "transcriber 'whisper-shared'"


class SharedPassWhisperTranscriber(LocalModelTranscriber):
    """openai-whisper speech-to-text whose encoder pass is shared with ``whisper-encoder-shared``."""

    name = "whisper-shared"

    @dataclass(frozen=True)
    class Config:
        model: str = field(default_factory=checkpoint.default_model)  # name ("tiny.en") or .pt path
        language: str | None = None          # None = "en" for English-only models, else detected per window
        beam_size: int = 1                   # 1 = greedy decoding; > 1 = beam search
        temperature: float = 0.0             # 0 = deterministic decoding (no fallback to sampling)
        no_speech_threshold: float = 0.6     # window dropped when no_speech_prob exceeds this...
        logprob_threshold: float = -1.0      # ...and its avg_logprob is at or below this
        fp16: bool = False                   # half precision decoding (GPU only)
        device: str = "cpu"                  # torch device of the model
        silence_dbfs: float = SILENCE_DBFS   # RMS level at or below which a clip is "" without decoding

    def __init__(self, config: "SharedPassWhisperTranscriber.Config | None" = None):
        self.config = c = config or self.Config()
        if c.beam_size < 1 or c.temperature < 0:
            raise ConfigError(f"{WHERE}: beam_size must be >= 1 and temperature >= 0, "
                              f"got {c.beam_size}, {c.temperature}")
        checkpoint.check_model(c.model, TranscriptionError, WHERE)

    def featurize_key(self) -> dict:
        """Model weights (name or file sha256) and decoding options; not the path or device."""
        options = {k: v for k, v in config_dict(self.config).items() if k not in ("model", "device")}
        return {"name": self.name, "model": checkpoint.model_identity(self.config.model), "config": options}

    def load_model(self):
        return checkpoint.load(self.config.model, self.config.device, TranscriptionError, WHERE)

    def decode(self, wav: np.ndarray) -> str:
        import whisper

        c, model = self.config, self.loaded_model()
        key = shared_pass.clip_key(checkpoint.model_identity(c.model), c.device, wav)
        features = shared_pass.take_or_run(model, key, torch.from_numpy(wav), shared_pass.DECODER)  # [W, 1500, D]
        options = whisper.DecodingOptions(
            language=c.language or (None if model.is_multilingual else "en"), temperature=c.temperature,
            beam_size=c.beam_size if c.beam_size > 1 else None, without_timestamps=True, fp16=c.fp16)
        features = features.half() if c.fp16 else features.float()
        results = whisper.decode(model, features, options)  # one DecodingResult per window
        return speech_text(((r.text, r.no_speech_prob, r.avg_logprob) for r in results),
                           c.no_speech_threshold, c.logprob_threshold)
