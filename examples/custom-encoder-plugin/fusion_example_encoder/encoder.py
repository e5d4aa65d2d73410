"""``energy-contour``: a small prosody-style acoustic encoder, written as a third-party plugin.

``featurize`` (frozen, cached by fusion per utterance): wav [S] -> contours [T, F] of
frame log energy, zero-crossing rate and spectral centroid (+ deltas), see
:mod:`fusion_example_encoder.contours`.

``forward`` (trained): two 1-D convolutions over time, then a masked mean. Padded frames
are zeroed before each convolution, so in eval mode a clip gets the same embedding alone
or padded inside a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from fusion.components import AcousticEncoder, Encoded, lengths_to_mask, masked_mean
from fusion.errors import ConfigError

from .contours import ContourExtractor


class EnergyContourEncoder(AcousticEncoder):
    """Energy / zero-crossing / centroid contours -> 1-D CNN -> frames [B, T, dim] + mean [B, dim]."""

    name = "energy-contour"

    @dataclass(frozen=True)
    class Config:
        win_ms: float = 25.0     # analysis window of each frame (ms)
        hop_ms: float = 10.0     # hop between frames (ms): one contour value per hop
        deltas: bool = True      # append the first-order delta of each contour (F = 6 instead of 3)
        channels: int = 32       # width of the hidden convolution
        kernel_size: int = 5     # convolution width in frames (odd, so the sequence length is kept)
        dim: int = 64            # size D of each output frame and of the pooled vector
        dropout: float = 0.1     # dropout on the output frames (training only)

    def __init__(self, config: Config | None = None):
        super().__init__()
        self.config = config = config or self.Config()
        win_length = round(self.sample_rate * config.win_ms / 1000)
        hop_length = round(self.sample_rate * config.hop_ms / 1000)
        _check_config(config, win_length, hop_length)
        self.contours = ContourExtractor(self.sample_rate, win_length, hop_length, config.deltas)
        pad = config.kernel_size // 2
        self.conv_in = nn.Conv1d(self.contours.dim, config.channels, config.kernel_size, padding=pad)
        self.conv_out = nn.Conv1d(config.channels, config.dim, config.kernel_size, padding=pad)
        self.dropout = nn.Dropout(config.dropout)
        self.output_dim = config.dim

    def featurize(self, wav: Tensor) -> Tensor:
        return self.contours(wav)  # [T, F]

    def forward(self, feats: Tensor, lengths: Tensor) -> Encoded:
        lengths = lengths.to(feats.device).clamp(1, feats.shape[1])   # [B]; every row keeps >= 1 frame
        mask = lengths_to_mask(lengths, feats.shape[1])                # [B, T]
        keep = mask.unsqueeze(1).to(feats.dtype)                       # [B, 1, T]
        x = feats.transpose(1, 2) * keep                               # [B, F, T]
        x = torch.relu(self.conv_in(x)) * keep                         # [B, channels, T]
        x = torch.relu(self.conv_out(x)) * keep                        # [B, D, T]
        seq = self.dropout(x.transpose(1, 2))                          # [B, T, D]
        return Encoded(seq=seq, mask=mask, pooled=masked_mean(seq, mask))  # pooled [B, D]


def _check_config(config: EnergyContourEncoder.Config, win_length: int, hop_length: int) -> None:
    where = "acoustic encoder 'energy-contour'"
    if win_length < 2 or hop_length < 1:
        raise ConfigError(f"{where}: win_ms={config.win_ms} / hop_ms={config.hop_ms} give {win_length} / "
                          f"{hop_length} samples at {EnergyContourEncoder.sample_rate} Hz; "
                          "need a window of >= 2 samples and a hop of >= 1")
    for field in ("channels", "dim"):
        value = getattr(config, field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}: {field} must be a positive integer, got {value!r}")
    size = config.kernel_size
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise ConfigError(f"{where}: kernel_size must be an odd positive integer (1, 3, 5...), got {size!r}")
    if not 0.0 <= config.dropout < 1.0:
        raise ConfigError(f"{where}: dropout must be in [0, 1), got {config.dropout!r}")
