"""Shared helpers for the acoustic plugin tests: encoder builders and batch padding."""

from __future__ import annotations

import numpy as np
import torch

import fusion

ENCODERS = ("cnn", "cnn-lstm", "lstm")
NO_DROPOUT = {"cnn": {"dropout": 0.0}, "cnn-lstm": {"dropout": 0.0, "rnn_dropout": 0.0},
              "lstm": {"dropout": 0.0}}


def build(name: str, seed: int = 0, **options):
    """A freshly initialised encoder (fixed seed) with ``options`` over its defaults."""
    torch.manual_seed(seed)
    return fusion.get_acoustic_encoder(name).build(options)


def pad(feats: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """list of [T_i, F] -> ([B, T, F] zero-padded, lengths [B])."""
    lengths = torch.tensor([f.shape[0] for f in feats])
    return torch.nn.utils.rnn.pad_sequence(feats, batch_first=True), lengths


def noise(duration: float, seed: int = 0, amp: float = 0.1) -> torch.Tensor:
    """White noise float32 [S] at 16 kHz."""
    rng = np.random.default_rng(seed)
    return torch.from_numpy((amp * rng.standard_normal(int(duration * 16000))).astype(np.float32))
