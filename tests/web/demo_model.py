"""A tiny trained model directory for the web demo tests (fake plugins of tests/fakes.py)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def fakes_registered(name: str = "fakes-web"):
    """The fake plugins for longer than one test (the `fake_plugins` fixture is per test)."""
    from fusion.plugins import register_plugin, unregister_plugin
    from tests.fakes import FakePlugin

    registered = register_plugin(FakePlugin(), name=name)
    try:
        yield registered
    finally:
        unregister_plugin(registered)


def train_demo_model(root: Path, transcriber: str = "fake-asr", name: str = "demo-model") -> Path:
    """A fused cross-attention model trained for 2 epochs on the synthetic corpus -> its directory.
    The fake plugins must be registered."""
    from fusion.experiment import ExperimentConfig
    from fusion.runners import train_model_dir
    from fusion.training.trainer import TrainConfig
    from tests.fakes import make_synthetic_corpus

    corpus = root / "corpus"
    if not corpus.exists():
        make_synthetic_corpus(corpus)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FUSION_CACHE", str(root / "cache"))
        cfg = ExperimentConfig(dataset="synthetic", data_dir=str(corpus), modes=("fused",),
                               acoustic_encoder="fake-frames", text_encoder="fake-bag", transcriber=transcriber,
                               head="cross-attention", train=TrainConfig(epochs=2, batch_size=8, lr=3e-3))
        train_model_dir(cfg, root / name, log=lambda msg: None)
    return root / name
