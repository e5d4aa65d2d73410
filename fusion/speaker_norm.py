"""Per-speaker normalisation of acoustic features: each speaker's frames standardised by that speaker's
own statistics, so that who is speaking (voice, microphone, room) weighs less than how they speak.

Frozen speech features carry the speaker at least as strongly as the emotion; standardising every
speaker's features by their own mean and variance (speaker-level z-normalisation, long used in
cross-speaker SER) removes that offset. It needs no labels, only which clips share a speaker: in
training the corpus' speaker ids; when scoring held-out speakers, their own (unlabelled) clips; at
prediction time the ``speaker`` of each input (a manifest column); the inputs of one call without a
speaker form one group, and so do the segments of one long recording. A lone clip is normalised
mostly by the training statistics, which gives it nothing: give speakers (or several clips) for the effect.

Statistics are clip-weighted moments over the frames of a group's clips, shrunk towards the training
set's global moments by ``shrink`` pseudo-clips, so a speaker with one clip is normalised mostly by
the global statistics and one with fifty by their own:

    mean_g = (sum_i m_i + k * M) / (n_g + k),   var_g = (sum_i s_i + k * (V + M^2)) / (n_g + k) - mean_g^2

with m_i, s_i the mean and mean square of clip i's frames, M, V the global mean and variance, k = shrink.
Integer features (token ids) are not normalised.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

from .errors import ConfigError
from .registry import check_options

EPS = 1e-5  # variance floor
UNNAMED = "unnamed speakers"  # the group of the clips (of one call) that name no speaker


def group_of(speaker: str | None) -> str:
    """The normalisation group of a clip: its speaker's, else the one group of the clips without a speaker."""
    return f"speaker:{speaker}" if speaker is not None else UNNAMED


@dataclass(frozen=True)
class SpeakerNormConfig:
    enabled: bool = True   # standardise each speaker's acoustic features by that speaker's statistics
    shrink: float = 2.0    # pseudo-clips of the global statistics mixed into every speaker's

    def __post_init__(self):
        if not isinstance(self.enabled, bool):
            raise ConfigError(f"speaker_norm: enabled must be true or false, got {self.enabled!r}")
        if not (isinstance(self.shrink, (int, float)) and self.shrink >= 0):
            raise ConfigError(f"speaker_norm: shrink must be a number >= 0, got {self.shrink!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SpeakerNormConfig":
        check_options(cls, d, "speaker_norm")
        return cls(**d)


@dataclass(frozen=True)
class Moments:
    """Clip-weighted first and second moments of frame features, shape [...] (the frame's shape)."""

    mean: Tensor
    var: Tensor

    def to_dict(self) -> dict:
        return {"mean": self.mean, "var": self.var}


def normalizable(x: Tensor) -> bool:
    """Whether featurize output ``x`` [T, ...] is real-valued frames this module normalises."""
    return x.is_floating_point() and x.dim() >= 2 and x.shape[0] > 0


def clip_moments(x: Tensor) -> tuple[Tensor, Tensor]:
    """x [T, ...] -> (mean over frames [...], mean of squares [...]), float32."""
    x = x.float()
    return x.mean(dim=0), x.square().mean(dim=0)


def global_moments(features: Iterable[Tensor]) -> Moments:
    """The clip-weighted moments of the training clips' features (each clip weighs 1)."""
    means, squares = zip(*(clip_moments(x) for x in features))
    mean = torch.stack(means).mean(dim=0)                              # [...]
    var = (torch.stack(squares).mean(dim=0) - mean.square()).clamp_min(EPS)  # [...]
    return Moments(mean, var)


def group_moments(features: Mapping[Hashable, Tensor], groups: Mapping[Hashable, Hashable],
                  prior: Moments, shrink: float) -> dict[Hashable, Moments]:
    """group -> its shrunk moments, over the clips ``groups`` assigns to it (key -> group)."""
    sums: dict[Hashable, list] = {}
    for key, x in features.items():
        m, s = clip_moments(x)
        acc = sums.setdefault(groups[key], [0, torch.zeros_like(m), torch.zeros_like(s)])
        acc[0] += 1
        acc[1] += m
        acc[2] += s
    out = {}
    for g, (n, m_sum, s_sum) in sums.items():
        mean = (m_sum + shrink * prior.mean) / (n + shrink)                                    # [...]
        var = (s_sum + shrink * (prior.var + prior.mean.square())) / (n + shrink) - mean.square()  # [...]
        out[g] = Moments(mean, var.clamp_min(EPS))
    return out


def standardize(x: Tensor, stats: Moments) -> Tensor:
    """x [T, ...] standardised by ``stats``, in x's dtype."""
    return ((x.float() - stats.mean) / stats.var.sqrt()).to(x.dtype)  # [T, ...]


def normalize_by_group(features: Mapping[Hashable, Tensor], groups: Mapping[Hashable, Hashable], prior: Moments,
                       shrink: float) -> tuple[dict[Hashable, Tensor], dict[Hashable, Moments]]:
    """Every clip standardised by its group's shrunk moments: (key -> features, group -> moments)."""
    stats = group_moments(features, groups, prior, shrink)
    return {key: standardize(x, stats[groups[key]]) for key, x in features.items()}, stats
