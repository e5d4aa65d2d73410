"""The ``whisper-encoder-shared`` acoustic encoder: ``whisper-encoder`` fed by the shared padded pass.

Its states come from :func:`fusion_whisper.shared_pass.take_or_run`: the standard padded 30 s
window (the frames of the clip, every layer), which a ``whisper-shared`` transcriber on the same
clip in the same process also decodes from, so the pair costs one encoder run per clip instead
of two. The trainable part and the feature layout are those of ``whisper-encoder``; the features
equal ``whisper-encoder`` with ``trim=False`` (not the default trimmed ones: see
:mod:`fusion_whisper.hidden_states`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from . import checkpoint, shared_pass
from .encoder import WhisperEncoder


class SharedPassWhisperEncoder(WhisperEncoder):
    """Frozen Whisper states from the padded pass shared with ``whisper-shared``, layer-weighted, pooled."""

    name = "whisper-encoder-shared"

    @dataclass(frozen=True)
    class Config(WhisperEncoder.Config):
        model: str = field(default_factory=checkpoint.default_model)  # whisper-shared's default (tiny.en)
        trim: bool = False  # False: the padded pass shared with whisper-shared; True: trimmed, nothing shared

    def featurize_key(self) -> dict:
        """``whisper-encoder``'s key: the features are the same (its padded pass, or with ``trim=True``
        its trimmed one), so the two share cached features."""
        return {**super().featurize_key(), "name": WhisperEncoder.name}

    def frame_states(self, wav: Tensor, trim: bool | None = None) -> Tensor:
        """wav [S] -> [T, L+1, D] float32 from the shared padded pass (``trim=True``: the trimmed pass)."""
        trim = self.config.trim if trim is None else trim
        if trim:
            return super().frame_states(wav, trim=True)
        c = self.config
        key = shared_pass.clip_key(checkpoint.model_identity(c.model), c.device, wav)
        return shared_pass.take_or_run(self.whisper_model(), key, torch.as_tensor(wav), shared_pass.ACOUSTIC)
