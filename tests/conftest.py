"""Shared fixtures: synthetic audio (numpy), the ../shared data (skip when absent), an isolated cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    """``$FUSION_SHARED`` or ``<repo>/../shared``; None when absent."""
    env = os.environ.get("FUSION_SHARED")
    path = Path(env) if env else ROOT.parent / "shared"
    return path if path.is_dir() else None


def require_shared(*parts: str) -> Path:
    """Path inside shared/, or skip the test cleanly."""
    base = shared_dir()
    if base is None:
        pytest.skip("shared data not found (set FUSION_SHARED or place it at ../shared)")
    path = base.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found in shared data")
    return path


@pytest.fixture(autouse=True, scope="session")
def _torch_threads():
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test gets its own FUSION_CACHE so runs never see each other's entries."""
    monkeypatch.setenv("FUSION_CACHE", str(tmp_path_factory.mktemp("cache")))


def tone(duration: float = 1.0, sr: int = 16000, freq: float = 220.0, amp: float = 0.3,
         channels: int = 1, seed: int = 0) -> np.ndarray:
    """A harmonic tone with a little noise: float32 [S] or [S, C]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration * sr)) / sr
    x = amp * (np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(2 * np.pi * 2 * freq * t))
    x = x + 0.01 * rng.standard_normal(t.size)
    x = x.astype(np.float32)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


@pytest.fixture
def make_wav(tmp_path):
    """make_wav(name, duration=1.0, sr=16000, channels=1, subtype="PCM_16", freq=220) -> Path."""

    def _make(name: str = "clip.wav", duration: float = 1.0, sr: int = 16000, channels: int = 1,
              subtype: str = "PCM_16", freq: float = 220.0, seed: int = 0) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), tone(duration, sr, freq, channels=channels, seed=seed), sr, subtype=subtype)
        return path

    return _make


@pytest.fixture
def fake_plugins():
    """Register the in-process test plugin (tests/fakes.py) for one test."""
    from fusion.plugins import register_plugin, unregister_plugin

    from tests.fakes import FakePlugin

    name = register_plugin(FakePlugin(), name="fakes")
    yield name
    unregister_plugin(name)


@pytest.fixture
def synthetic_corpus(tmp_path):
    from tests.fakes import make_synthetic_corpus

    return make_synthetic_corpus(tmp_path / "synthetic")
