"""Frozen Whisper encoder pass returning every layer's hidden states, on the clip's real length.

openai-whisper's ``AudioEncoder.forward`` only accepts the full 30 s window (3000 mel frames ->
1500 encoder frames). Here the same modules (conv1, conv2, positional embedding, blocks, ln_post)
are applied to the unpadded log-mel, so a 3 s clip costs 150 frames instead of 1500.

Stacked states ``[T, L+1, D]``: index 0 is the input embedding (conv stem + positional
embedding), index ``i`` the output of block ``i``; the last one has ``ln_post`` applied (it is the
encoder output Whisper's decoder sees). One encoder frame is 20 ms (2 mel hops of 10 ms).

Trimmed and padded passes are not identical: in the padded window every frame also attends to the
~27 s of (log-mel floor) padding. The difference is measured in tests/plugins/whisper.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

WINDOW_SAMPLES = 480_000    # 30 s at 16 kHz: the longest input of one encoder pass
HOP_SAMPLES = 160           # one mel frame (10 ms)
FRAME_SAMPLES = 2 * HOP_SAMPLES  # one encoder frame (conv2 has stride 2): 20 ms


def num_frames(num_samples: int) -> int:
    """Encoder frames for a clip of ``num_samples`` (per 30 s window: ceil(samples / 320))."""
    full, rest = divmod(num_samples, WINDOW_SAMPLES)
    return full * (WINDOW_SAMPLES // FRAME_SAMPLES) + math.ceil(rest / FRAME_SAMPLES)


@torch.no_grad()  # not inference_mode: the states feed trainable modules
def stacked_states(model, wav: Tensor, trim: bool = True) -> Tensor:
    """wav [S] float32 16 kHz -> [T, L+1, D] float32, T = :func:`num_frames` (30 s windows concatenated).

    ``trim=False`` runs the standard zero-padded 30 s window and keeps the first T frames.
    """
    wav = wav.to(device=model.device, dtype=torch.float32).flatten()  # [S]
    windows = wav.split(WINDOW_SAMPLES)
    return torch.cat([_window_states(model, w, trim) for w in windows], dim=0)  # [T, L+1, D]


def _window_states(model, wav: Tensor, trim: bool) -> Tensor:
    import whisper

    frames = num_frames(wav.numel())
    target = frames * FRAME_SAMPLES if trim else WINDOW_SAMPLES  # even number of mel frames either way
    audio = F.pad(wav, (0, target - wav.numel()))                   # [target]
    mel = whisper.log_mel_spectrogram(audio, n_mels=model.dims.n_mels)  # [n_mels, target / 160]
    return encoder_states(model.encoder, mel[None])[0, :frames]   # [frames, L+1, D]


def encoder_states(encoder, mel: Tensor) -> Tensor:
    """mel [B, n_mels, 2T] -> [B, T, L+1, D]: the AudioEncoder's own modules, any T <= n_audio_ctx."""
    x = F.gelu(encoder.conv1(mel))                    # [B, D, 2T]
    x = F.gelu(encoder.conv2(x)).permute(0, 2, 1)     # [B, T, D]
    x = x + encoder.positional_embedding[: x.shape[1]]  # [B, T, D]
    states = [x]
    for block in encoder.blocks:
        x = block(x)                                  # [B, T, D]
        states.append(x)
    states[-1] = encoder.ln_post(x)
    return torch.stack(states, dim=2)                 # [B, T, L+1, D]
