"""Fixtures shared by the whisper plugin's tests."""

from __future__ import annotations

import dataclasses

import pytest
import torch


@pytest.fixture(scope="session")
def random_checkpoint(tmp_path_factory):
    """A small randomly initialised openai-whisper checkpoint (2 blocks, D = 16)."""
    import whisper.model

    dims = whisper.model.ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=16, n_audio_head=2,
                                         n_audio_layer=2, n_vocab=51864, n_text_ctx=8, n_text_state=16,
                                         n_text_head=2, n_text_layer=1)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("whisper") / "random.pt"
    torch.save({"dims": dataclasses.asdict(dims), "model_state_dict": whisper.model.Whisper(dims).state_dict()},
               path)
    return str(path)
