"""One padded Whisper encoder pass serving both speech-to-text and the acoustic features.

With ``whisper`` (transcriber) + ``whisper-encoder`` (acoustic encoder) a clip goes through the
Whisper encoder twice: the padded 30 s window for the decoder, the trimmed clip for the acoustic
states. ``whisper-shared`` + ``whisper-encoder-shared`` run it once: the standard padded window,
keeping every layer. Its last layer (``ln_post`` applied, all 1500 frames) is what the decoder
reads; the first T frames of every layer are the acoustic states (identical to ``whisper-encoder``
with ``trim=False``, which are *not* the trimmed states: padded frames attend to ~27 s of padding).

Whichever of the two components meets a clip first runs the pass and leaves the other's half in
:data:`MEMO`, keyed by the weights and the clip's samples; the other takes it out. The memo holds
at most :data:`MEMO_ENTRIES` halves (oldest dropped first), so an unclaimed half (e.g. the decoder
input during a features-only run) costs bounded memory and only the time of storing it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from . import hidden_states

MEMO_ENTRIES = 32  # halves kept; >= a predictor batch (8), ~2.3 MB (decoder) or ~1.5 MB (4-s states) each for tiny
DECODER = "decoder"    # memo part: [W, n_audio_ctx, D] encoder output of each 30 s window
ACOUSTIC = "acoustic"  # memo part: [T, L+1, D] every layer's states on the clip's frames


@dataclass
class PaddedPass:
    """The result of one padded encoder pass over a clip (split into 30 s windows)."""

    decoder_input: Tensor  # [W, n_audio_ctx, D] float32: the encoder output per window
    states: Tensor         # [T, L+1, D] float32: every layer on the clip's frames, windows concatenated


@torch.no_grad()
def padded_pass(model, wav: Tensor) -> PaddedPass:
    """wav [S] float32 16 kHz -> :class:`PaddedPass`; one encoder run per 30 s window."""
    wav = wav.to(device=model.device, dtype=torch.float32).flatten()  # [S]
    outputs, states = [], []
    for window in wav.split(hidden_states.WINDOW_SAMPLES):
        frames = hidden_states.num_frames(window.numel())
        audio = F.pad(window, (0, hidden_states.WINDOW_SAMPLES - window.numel()))  # [480000]
        mel = _log_mel(audio, model.dims.n_mels)                                   # [n_mels, 3000]
        layers = hidden_states.encoder_states(model.encoder, mel[None])[0]         # [1500, L+1, D]
        outputs.append(layers[:, -1])                                              # [1500, D]
        states.append(layers[:frames])                                             # [frames, L+1, D]
    return PaddedPass(torch.stack(outputs), torch.cat(states))


def _log_mel(audio: Tensor, n_mels: int) -> Tensor:
    import whisper

    return whisper.log_mel_spectrogram(audio, n_mels=n_mels)  # [n_mels, frames]


def clip_key(model_identity: str, device: str, wav: Tensor | np.ndarray) -> str:
    """What identifies one clip's pass: the weights, the device and the samples' bytes."""
    samples = np.ascontiguousarray(torch.as_tensor(wav).detach().cpu().numpy(), dtype=np.float32)
    digest = hashlib.sha256(samples.tobytes()).hexdigest()
    return f"{model_identity}|{device}|{digest}"


class PassMemo:
    """(clip key, part) -> tensor left by one component for the other; bounded, oldest first out."""

    def __init__(self, capacity: int = MEMO_ENTRIES):
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str], Tensor] = OrderedDict()
        self.taken = 0   # halves claimed by the other component (passes saved)
        self.dropped = 0  # halves evicted unclaimed

    def put(self, key: str, part: str, value: Tensor) -> None:
        self._entries[(key, part)] = value
        self._entries.move_to_end((key, part))
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
            self.dropped += 1

    def take(self, key: str, part: str) -> Tensor | None:
        value = self._entries.pop((key, part), None)
        self.taken += value is not None
        return value

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


MEMO = PassMemo()  # per process: shared by every whisper-shared / whisper-encoder-shared instance


def take_or_run(model, key: str, wav: Tensor, want: str) -> Tensor:
    """The ``want`` half (DECODER or ACOUSTIC) of the clip's pass: from :data:`MEMO`, or by running
    the pass and leaving the other half there."""
    found = MEMO.take(key, want)
    if found is not None:
        return found
    result = padded_pass(model, torch.as_tensor(wav))
    if want == DECODER:
        MEMO.put(key, ACOUSTIC, result.states)
        return result.decoder_input
    MEMO.put(key, DECODER, result.decoder_input)
    return result.states
