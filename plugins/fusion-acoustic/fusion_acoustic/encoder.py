"""The skeleton the three encoders share: featurizer + SpecAugment in, masked pooling out.

``featurize`` is the featurizer (cached by the engine under its own key); ``forward`` is
``augment`` (clamp lengths, SpecAugment while training) -> the subclass's layers -> ``pool``.
"""

from __future__ import annotations

from torch import Tensor

from fusion.components import AcousticEncoder, Encoded, lengths_to_mask

from .augment import SpecAugment
from .features import LogMel, MFCC
from .pooling import make_pooling
from .sequence import clamp_lengths


class FrameEncoder(AcousticEncoder):
    """Base of the plugin's encoders; subclasses build their layers and call :meth:`build_pooling`."""

    def __init__(self, config, featurizer: type[LogMel] | type[MFCC]):
        super().__init__()
        self.config = config
        self.where = f"acoustic encoder {self.name!r}"  # names the encoder in ConfigErrors
        self.features = featurizer(config, self.where, self.sample_rate)
        self.spec_augment = SpecAugment(config, self.features.dim, self.where)
        self.pooling_weights: Tensor | None = None  # [B, T'] of the last forward, for inspection

    def build_pooling(self, dim: int) -> None:
        """Pool frames of size ``dim`` as ``config.pooling`` says; ``dim`` is the output size."""
        self.pooling = make_pooling(self.config.pooling, dim, self.where)
        self.output_dim = dim

    def featurize_key(self) -> dict:
        return self.features.key()

    def featurize(self, wav: Tensor) -> Tensor:
        return self.features(wav)  # [T, F]

    def augment(self, feats: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """feats [B, T, F], lengths [B] -> (SpecAugmented feats in training, lengths in [1, T])."""
        lengths = clamp_lengths(lengths, feats.shape[1]).to(feats.device)  # [B]
        return self.spec_augment(feats, lengths), lengths

    def pool(self, seq: Tensor, lengths: Tensor) -> Encoded:
        """seq [B, T', D] zero-padded, lengths [B] -> Encoded."""
        mask = lengths_to_mask(lengths, seq.shape[1])  # [B, T']
        pooled, weights = self.pooling(seq, mask)      # [B, D], [B, T']
        self.pooling_weights = weights.detach()
        return Encoded(seq=seq, mask=mask, pooled=pooled)

