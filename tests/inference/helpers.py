"""Tiny trained model directories (fake plugins of tests/fakes.py) and synthetic recordings for inference tests."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import tone

SR = 16000
# model name -> (mode, head, transcriber) of the ExperimentConfig it is trained with
MODELS = {
    "audio": ("audio", "late", "fake-asr"),
    "fused": ("fused", "late", "fake-asr"),
    "gold": ("fused", "cross-attention", "gold"),
}


@contextmanager
def registered_fakes():
    """The fake plugins for a whole test module (the `fake_plugins` fixture is per test)."""
    from fusion.plugins import register_plugin, unregister_plugin
    from tests.fakes import FakePlugin

    name = register_plugin(FakePlugin(), name="fakes-inference")
    try:
        yield name
    finally:
        unregister_plugin(name)


def train_tiny_models(root: Path, names=tuple(MODELS)) -> dict[str, Path]:
    """Train each named model for 2 epochs on the synthetic corpus -> {name: model dir}."""
    from fusion.experiment import ExperimentConfig
    from fusion.runners import train_model_dir
    from fusion.training.trainer import TrainConfig
    from tests.fakes import make_synthetic_corpus

    corpus = make_synthetic_corpus(root / "corpus")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FUSION_CACHE", str(root / "train-cache"))
        for name in names:
            mode, head, transcriber = MODELS[name]
            cfg = ExperimentConfig(dataset="synthetic", data_dir=str(corpus), modes=(mode,),
                                   acoustic_encoder="fake-frames", text_encoder="fake-bag",
                                   transcriber=transcriber, head=head,
                                   train=TrainConfig(epochs=2, batch_size=8, lr=3e-3))
            train_model_dir(cfg, root / name, log=lambda msg: None)
            out[name] = root / name
    return out


def long_recording(duration: float = 180.0, sr: int = SR, seed: int = 0) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Tone bursts (1-4 s, several pitches and loudnesses) separated by 1-3 s of near-silence
    -> (wav [S] float32, the bursts' (start, end) in seconds)."""
    rng = np.random.default_rng(seed)
    parts, bursts, t = [], [], 0.0
    while t < duration - 6:
        gap = rng.uniform(1.0, 3.0)
        parts.append(0.0005 * rng.standard_normal(int(gap * sr)).astype(np.float32))  # ~-66 dBFS hiss
        t += gap
        length = rng.uniform(1.0, 4.0)
        burst = tone(length, sr, freq=rng.choice([165.0, 220.0, 330.0, 440.0]), amp=rng.uniform(0.05, 0.4),
                     seed=len(bursts))
        parts.append(burst)
        bursts.append((t, t + len(burst) / sr))
        t += len(burst) / sr
    rest = int(duration * sr) - sum(len(p) for p in parts)
    parts.append(0.0005 * rng.standard_normal(max(rest, 0)).astype(np.float32))
    return np.concatenate(parts)[: int(duration * sr)], bursts


def write_long_recording(path: Path, duration: float = 180.0, sr: int = SR) -> list[tuple[float, float]]:
    wav, bursts = long_recording(duration, sr)
    sf.write(str(path), wav, sr, subtype="PCM_16")
    return bursts


def train_members(root: Path, epochs: int = 6) -> dict[str, Path]:
    """The members of a composed model: an audio-only model and a text-only model (gold transcripts)
    trained on the synthetic corpus -> {"audio": dir, "text": dir, "corpus": corpus dir}."""
    from fusion.experiment import ExperimentConfig
    from fusion.runners import train_model_dir
    from fusion.training.trainer import TrainConfig
    from tests.fakes import make_synthetic_corpus

    out = {"corpus": make_synthetic_corpus(root / "corpus")}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FUSION_CACHE", str(root / "train-cache"))
        for mode in ("audio", "text"):
            cfg = ExperimentConfig(dataset="synthetic", data_dir=str(out["corpus"]), modes=(mode,),
                                   acoustic_encoder="fake-frames", text_encoder="fake-bag", transcriber="gold",
                                   train=TrainConfig(epochs=epochs, batch_size=8, lr=3e-3))
            train_model_dir(cfg, root / mode, log=lambda msg: None)
            out[mode] = root / mode
    return out
