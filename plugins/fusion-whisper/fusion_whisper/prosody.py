"""Prosodic functionals beside the Whisper states: eGeMAPS (Eyben et al., 2016), 88 per clip.

Frozen self-supervised / ASR states learn the corpus they meet: the RAVDESS audio model hears the
demo corpus' voices at chance. The extended Geneva Minimalistic Acoustic Parameter Set was designed
for the opposite, a small set of pitch, loudness, voice-quality, spectral and timing statistics
that transfer across corpora; per-speaker standardised (:mod:`fusion.speaker_norm`), it carries
the arousal cues that survive a change of corpus. Measured here (``docs/results.md``): RAVDESS ->
demo audio UA 33 (Whisper states alone) vs 45 (eGeMAPS), with RAVDESS's own held-out speakers
unchanged when both are used.

The features come from openSMILE (the ``opensmile`` package, its own native library: no download).
A clip too short for openSMILE's analysis windows (under ~0.1 s) gets zeros and no warning.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from fusion.errors import PluginError

DIM = 88          # eGeMAPSv02 functionals
SAMPLE_RATE = 16000


@lru_cache(maxsize=1)
def _smile():
    try:
        import opensmile
    except ImportError as exc:  # a broken install: the package is a dependency of fusion-whisper
        raise PluginError("acoustic encoder 'whisper-encoder': prosody needs the opensmile package "
                          "(pip install opensmile), or set acoustic.prosody=false") from exc
    return opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                           feature_level=opensmile.FeatureLevel.Functionals)


def egemaps(wav: Tensor) -> Tensor:
    """wav [S] float32 mono 16 kHz -> the 88 eGeMAPS functionals [88] float32 (zeros where undefined)."""
    signal = np.ascontiguousarray(torch.as_tensor(wav, dtype=torch.float32).cpu().numpy())
    with warnings.catch_warnings():  # "Segment too short, filling with NaN": handled below
        warnings.simplefilter("ignore", UserWarning)
        values = _smile().process_signal(signal, SAMPLE_RATE).to_numpy(dtype=np.float32)  # [1, 88]
    return torch.from_numpy(np.nan_to_num(values[0], nan=0.0, posinf=0.0, neginf=0.0))       # [88]
