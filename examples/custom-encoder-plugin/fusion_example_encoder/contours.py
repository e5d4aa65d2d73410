"""Frame contours of a waveform: log energy, zero-crossing rate and spectral centroid.

Frames are centred exactly like torchaudio's STFT (``n_fft // 2`` samples of reflect
padding at both ends), so the three contours line up frame for frame and a clip of
``S`` samples gives ``T = 1 + S // hop`` frames.

* log energy: mean square of each frame in dB (torchaudio's ``amplitude_to_DB``), minus
  the clip's mean, divided by :data:`ENERGY_DB_SCALE` -> a gain-independent contour of
  roughly unit range;
* zero-crossing rate: the fraction of adjacent samples whose sign differs, in [0, 1];
* spectral centroid: torchaudio's ``SpectralCentroid`` divided by the Nyquist frequency,
  in [0, 1]; a silent frame (no spectrum, hence no centroid) gets 0.
"""

from __future__ import annotations

import torch
import torchaudio.functional as AF
import torchaudio.transforms as T
from torch import Tensor

from fusion.errors import AudioError, EmptyAudioError

CONTOURS = ("log_energy", "zero_crossing_rate", "spectral_centroid")
ENERGY_FLOOR = 1e-10     # mean-square floor before the dB conversion (-100 dB, digital silence)
ENERGY_DB_SCALE = 20.0   # dB per unit of the energy contour (speech spans about +-20 dB of its mean)


class ContourExtractor:
    """wav [S] float32 -> contours [T, F]: F = 3, or 6 with first-order deltas appended."""

    def __init__(self, sample_rate: int, win_length: int, hop_length: int, deltas: bool):
        self.n_fft = win_length + win_length % 2  # even, so T = 1 + S // hop exactly
        self.hop_length = hop_length
        self.nyquist = sample_rate / 2
        self.deltas = deltas
        self.dim = len(CONTOURS) * (2 if deltas else 1)
        self.centroid = T.SpectralCentroid(sample_rate, n_fft=self.n_fft, hop_length=hop_length)

    def __call__(self, wav: Tensor) -> Tensor:
        wav = self._as_waveform(wav)                                          # [S]
        with torch.no_grad():
            frames = self._frames(wav)                                        # [T, n_fft]
            energy_db = AF.amplitude_to_DB(frames.pow(2).mean(-1), multiplier=10.0,
                                           amin=ENERGY_FLOOR, db_multiplier=0.0)  # [T]
            energy = (energy_db - energy_db.mean()) / ENERGY_DB_SCALE         # [T]
            signs = torch.signbit(frames)                                     # [T, n_fft]
            zcr = (signs[:, 1:] != signs[:, :-1]).float().mean(-1)            # [T]
            centroid = torch.nan_to_num(self.centroid(wav), nan=0.0) / self.nyquist  # [T]
            contours = torch.stack([energy, zcr, centroid])                   # [3, T]
            if self.deltas:
                contours = torch.cat([contours, AF.compute_deltas(contours)])  # [6, T]
        return contours.T.contiguous()                                        # [T, F]

    def _as_waveform(self, wav: Tensor) -> Tensor:
        wav = torch.as_tensor(wav).detach().to("cpu", torch.float32)
        if wav.dim() == 2 and wav.shape[0] == 1:
            wav = wav[0]
        if wav.dim() != 1:
            raise AudioError(f"energy-contour expects a mono waveform [S], got shape {tuple(wav.shape)}")
        if wav.numel() == 0:
            raise EmptyAudioError("energy-contour: audio has no samples")
        if wav.numel() < self.n_fft:  # reflect padding needs more samples than half a window
            wav = torch.nn.functional.pad(wav, (0, self.n_fft - wav.numel()))
        return wav

    def _frames(self, wav: Tensor) -> Tensor:
        """wav [S] -> centred, overlapping frames [1 + S // hop, n_fft] (the STFT's framing)."""
        half = self.n_fft // 2
        padded = torch.nn.functional.pad(wav[None, None], (half, half), mode="reflect")[0, 0]  # [S + n_fft]
        return padded.unfold(0, self.n_fft, self.hop_length)                                  # [T, n_fft]
