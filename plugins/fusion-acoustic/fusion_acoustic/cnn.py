"""``cnn``: a 2-D CNN over log-mel frames, and the convolutional front end shared with ``cnn-lstm``.

Each block is conv -> BatchNorm -> ReLU -> max-pool (frequency by 2, time by
``time_pool``, ``ceil_mode`` so a clip of any length keeps >= 1 frame). Padded frames
are zeroed after every ReLU, so a valid frame sees exactly what it would see if the
clip were encoded alone (zero padding, and ``max(x, 0) == x`` for x >= 0 in the pool):
in eval mode, padding a clip in a batch does not change its output. The frequency axis
is then flattened with the channels and projected to ``dim`` per frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor, nn

from fusion.components import Encoded, lengths_to_mask
from fusion.errors import ConfigError

from .augment import SpecAugmentOptions
from .encoder import FrameEncoder
from .features import LogMel, LogMelOptions
from .sequence import downsample_lengths
from .validation import check_fraction, check_int


class ConvBlock(nn.Module):
    """x [B, C, F, T] (zero past lengths) -> [B, C', ceil(F / 2), ceil(T / time_pool)]."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, time_pool: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)
        self.norm = nn.BatchNorm2d(out_channels)
        self.pool = nn.MaxPool2d((2, time_pool), ceil_mode=True)
        self.time_pool = time_pool

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        x = self.norm(self.conv(x)).relu()                              # [B, C', F, T]
        x = x * lengths_to_mask(lengths, x.shape[-1])[:, None, None, :]  # zero the padding again
        return self.pool(x), downsample_lengths(lengths, self.time_pool)  # [B, C', F', T']


class ConvFrontEnd(nn.Module):
    """feats [B, T, F] zero-padded, lengths [B] -> (frames [B, T', dim] zero-padded, lengths [B])."""

    def __init__(self, n_features: int, channels: tuple[int, ...], kernel_size: int, time_pool: int,
                 dim: int, dropout: float):
        super().__init__()
        widths = (1, *channels)
        self.blocks = nn.ModuleList(
            ConvBlock(c_in, c_out, kernel_size, time_pool) for c_in, c_out in zip(widths, widths[1:])
        )
        freq = n_features
        for _ in channels:
            freq = math.ceil(freq / 2)
        self.project = nn.Sequential(nn.Linear(channels[-1] * freq, dim), nn.ReLU(), nn.Dropout(dropout))
        self.output_dim = dim

    def forward(self, feats: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        mask = lengths_to_mask(lengths, feats.shape[1])              # [B, T]
        x = (feats * mask.unsqueeze(-1)).transpose(1, 2).unsqueeze(1)  # [B, 1, F, T]
        for block in self.blocks:
            x, lengths = block(x, lengths)                           # [B, C, F', T']
        batch, channels, freq, frames = x.shape
        x = x.permute(0, 3, 1, 2).reshape(batch, frames, channels * freq)  # [B, T', C * F']
        mask = lengths_to_mask(lengths, frames)                      # [B, T']
        return self.project(x) * mask.unsqueeze(-1), lengths         # [B, T', dim]


def build_front_end(config, n_features: int, where: str) -> ConvFrontEnd:
    """The CNN of a ``cnn`` / ``cnn-lstm`` Config, after checking its fields."""
    channels = config.channels
    if not channels or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in channels):
        raise ConfigError(f"{where}: channels must be a non-empty list of positive integers, got {channels!r}")
    size = config.kernel_size
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise ConfigError(f"{where}: kernel_size must be an odd positive integer, got {size!r}")
    check_int(where, 1, time_pool=config.time_pool, dim=config.dim)
    check_fraction(where, dropout=config.dropout)
    return ConvFrontEnd(n_features, channels, size, config.time_pool, config.dim, config.dropout)


class CNNEncoder(FrameEncoder):
    """2-D CNN over log-mel -> frame sequence [B, T / time_pool^blocks, dim] + pooled [B, dim]."""

    name = "cnn"

    @dataclass(frozen=True)
    class Config(SpecAugmentOptions, LogMelOptions):
        channels: tuple[int, ...] = (16, 32, 64)  # output channels of each conv-BN-ReLU-pool block
        kernel_size: int = 3                      # square conv kernel (odd, so lengths are kept)
        time_pool: int = 2                        # time downsampling per block (frequency: always 2)
        dim: int = 128                            # size D of each output frame and of the pooled vector
        dropout: float = 0.1                      # dropout after the per-frame projection
        pooling: str = "mean"                     # "mean" (masked mean) or "attention"

    def __init__(self, config: Config | None = None):
        config = config or self.Config()
        super().__init__(config, LogMel)
        self.front_end = build_front_end(config, self.features.dim, self.where)
        self.build_pooling(config.dim)

    def forward(self, feats: Tensor, lengths: Tensor) -> Encoded:
        feats, lengths = self.augment(feats, lengths)  # [B, T, F], [B]
        seq, lengths = self.front_end(feats, lengths)  # [B, T', D], [B]
        return self.pool(seq, lengths)
