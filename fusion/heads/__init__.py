"""Fusion heads: ``from fusion.heads import CrossAttentionHead, ConcatHead, ...``.

All share the contract in :mod:`fusion.heads.base`.
"""

from .base import FusionHead
from .concat import ConcatHead
from .cross_attention import CrossAttentionHead
from .gated import GatedHead
from .late import LateHead
from .tensor import TensorHead
from .unimodal import UnimodalHead

__all__ = ["ConcatHead", "CrossAttentionHead", "FusionHead", "GatedHead", "LateHead", "TensorHead",
           "UnimodalHead"]
