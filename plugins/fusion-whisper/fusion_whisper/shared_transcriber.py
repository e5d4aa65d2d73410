"""The ``whisper-shared`` transcriber: openai-whisper decoding from the shared padded encoder pass.

Same weights and decoding rules as ``whisper``, but the encoder output comes from
:func:`fusion_whisper.shared_pass.take_or_run`, so a ``whisper-encoder-shared`` acoustic encoder
on the same clip (same process) reuses the pass instead of running the encoder again. Each 30 s
window is decoded on its own with ``whisper.decode`` (text tokens only, no timestamps); a window
is dropped by the no-speech rule of :func:`fusion.transcripts.speech_text`.
"""

from __future__ import annotations

import numpy as np
import torch

from fusion.transcripts import speech_text

from . import checkpoint, shared_pass
from .transcriber import OpenAIWhisperBase


class SharedPassWhisperTranscriber(OpenAIWhisperBase):
    """openai-whisper speech-to-text whose encoder pass is shared with ``whisper-encoder-shared``."""

    name = "whisper-shared"

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
