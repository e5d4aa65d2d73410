"""Additive attention pooling over valid time steps: the shared :class:`fusion.pooling.AttentionPooling`."""

from fusion.pooling import AttentionPooling

__all__ = ["AttentionPooling"]
