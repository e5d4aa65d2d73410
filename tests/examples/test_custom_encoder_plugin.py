"""The third-party example plugin (examples/custom-encoder-plugin): registered in-process, its
packaging (entry point), and, marked slow, a real editable install seen by `fusion plugins`."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

import fusion
from fusion import plugins
from fusion.components import AcousticEncoder, Encoded
from fusion.errors import ConfigError
from tests.conftest import ROOT, tone

EXAMPLE = ROOT / "examples" / "custom-encoder-plugin"
PLUGIN_NAME = "example-encoder"


@pytest.fixture
def example_plugin(monkeypatch):
    """The example's plugin module registered in-process, as its entry point would register it."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    import fusion_example_encoder.plugin as plugin_module

    plugins.load_plugins()
    if plugins.pm.has_plugin(PLUGIN_NAME):  # pip-installed: its entry point registered it already
        yield PLUGIN_NAME
        return
    saved_failures = list(plugins.failures)
    name = plugins.register_plugin(plugin_module, name=PLUGIN_NAME, distribution="fusion-example-encoder")
    yield name
    plugins.unregister_plugin(name)
    plugins.failures[:] = saved_failures


def test_registered_by_name_and_alias(example_plugin):
    component = fusion.get_acoustic_encoder("energy-contour")
    assert component.plugin == PLUGIN_NAME
    assert fusion.get_acoustic_encoder("contours") is component
    assert isinstance(component.target, str), "plugins register lazily by 'module:Class'"
    assert component.description
    cls = component.load()
    assert issubclass(cls, AcousticEncoder) and cls.name == "energy-contour"
    report = {row["name"]: row for row in plugins.plugin_report()}
    assert report[PLUGIN_NAME]["components"] == {"acoustic_encoder": ["energy-contour"]}
    assert not [f for f in plugins.failures if f.plugin == PLUGIN_NAME]


def test_plugin_module_does_not_import_torch():
    code = ("import sys; import fusion_example_encoder.plugin; "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(EXAMPLE), str(ROOT)])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_featurize_tone_gives_contours_that_track_frequency(example_plugin):
    encoder = fusion.get_acoustic_encoder("energy-contour").build({"deltas": False})
    low = encoder.featurize(torch.from_numpy(tone(1.0, freq=200.0)))   # [T, 3]
    high = encoder.featurize(torch.from_numpy(tone(1.0, freq=2000.0)))
    assert low.shape == (1 + 16000 // 160, 3) and low.dtype == torch.float32
    assert torch.isfinite(low).all() and torch.isfinite(high).all()
    # columns: relative log energy, zero-crossing rate, spectral centroid / Nyquist
    assert abs(float(low[:, 0].mean())) < 1e-4  # energy contour is relative to the clip mean
    assert float(high[5:-5, 1].mean()) > 4 * float(low[5:-5, 1].mean())
    assert float(high[5:-5, 2].mean()) > 2 * float(low[5:-5, 2].mean())  # the noise floor pulls both up
    pure = encoder.featurize(torch.sin(2 * torch.pi * 1000.0 * torch.arange(16000) / 16000))
    assert float(pure[5:-5, 1].mean()) == pytest.approx(2 * 1000 / 16000, rel=0.05)  # 2 crossings a period
    assert float(pure[5:-5, 2].mean()) == pytest.approx(1000 / 8000, rel=0.05)


def test_featurize_edge_inputs(example_plugin):
    encoder = fusion.get_acoustic_encoder("energy-contour").build()
    silent = encoder.featurize(torch.zeros(8000))
    assert silent.shape == (51, 6) and torch.isfinite(silent).all()
    assert encoder.featurize(torch.randn(50)).shape[0] >= 1  # shorter than one window
    assert encoder.featurize(np.zeros((1, 4000), np.float32) + 0.1).shape == (26, 6)
    with pytest.raises(fusion.AudioError, match="energy-contour"):
        encoder.featurize(torch.zeros(2, 4000))


def test_forward_padded_batch_matches_single_clips(example_plugin):
    torch.manual_seed(0)
    encoder = fusion.get_acoustic_encoder("energy-contour").build({"dim": 24, "channels": 8}).eval()
    clips = [tone(1.0, freq=220.0), tone(0.5, freq=440.0, seed=1), tone(0.3, freq=330.0, seed=2)]
    feats = [encoder.featurize(torch.from_numpy(c)) for c in clips]              # [T_i, 6]
    lengths = torch.tensor([f.shape[0] for f in feats])                           # [B]
    batch = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)              # [B, T, 6]
    out = encoder(batch, lengths)
    assert isinstance(out, Encoded)
    assert out.seq.shape == (3, int(lengths.max()), 24) and out.pooled.shape == (3, 24)
    assert encoder.output_dim == out.dim == 24
    assert torch.equal(out.lengths, lengths)
    assert torch.isfinite(out.pooled).all()
    for i, f in enumerate(feats):
        alone = encoder(f[None], lengths[i:i + 1])
        torch.testing.assert_close(out.pooled[i], alone.pooled[0], atol=1e-5, rtol=1e-5)
    out.pooled.sum().backward()  # trainable
    assert encoder.conv_in.weight.grad is not None and encoder.conv_in.weight.grad.abs().sum() > 0


def test_config_is_frozen_and_validated(example_plugin):
    component = fusion.get_acoustic_encoder("energy-contour")
    encoder = component.build({"kernel_size": 3})
    with pytest.raises(dataclasses.FrozenInstanceError):
        encoder.config.dim = 3
    with pytest.raises(ConfigError, match="kernel_size"):
        component.build({"kernel_size": 4})
    with pytest.raises(ConfigError, match="valid options: .*channels"):
        component.build({"no_such_option": 1})
    key = encoder.featurize_key()
    assert key["name"] == "energy-contour" and key["config"]["kernel_size"] == 3


def test_pyproject_declares_the_entry_point():
    meta = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())
    project = meta["project"]
    assert project["name"] == "fusion-example-encoder"
    assert any(dep.startswith("fusion-ser") for dep in project["dependencies"])
    entry_points = project["entry-points"][plugins.ENTRY_POINT_GROUP]
    assert entry_points == {PLUGIN_NAME: "fusion_example_encoder.plugin"}
    module_file = EXAMPLE / Path(*entry_points[PLUGIN_NAME].split(".")).with_suffix(".py")
    assert module_file.is_file()
    assert "@fusion.hookimpl" in module_file.read_text()
    assert (EXAMPLE / "README.md").is_file()


@pytest.mark.slow
def test_pip_install_is_listed_by_fusion_plugins(tmp_path):
    """Editable install of a copy (so no build files land in the repo), `fusion plugins`, uninstall."""
    source = tmp_path / "custom-encoder-plugin"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", "build"))
    pip = [sys.executable, "-m", "pip"]
    install = subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "-e", str(source)],
                             capture_output=True, text=True, timeout=300)
    try:
        assert install.returncode == 0, install.stderr
        out = subprocess.run([sys.executable, "-m", "fusion.cli", "plugins", "--json"], capture_output=True,
                             text=True, timeout=120, env={k: v for k, v in os.environ.items()
                                                          if k != "FUSION_LOAD_PLUGINS"})
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)
        rows = {row["name"]: row for row in report["plugins"]}
        assert rows[PLUGIN_NAME]["distribution"] == "fusion-example-encoder"
        assert rows[PLUGIN_NAME]["version"] == "0.1.0"
        assert rows[PLUGIN_NAME]["components"] == {"acoustic_encoder": ["energy-contour"]}
        assert not [f for f in report["failures"] if f["plugin"] == PLUGIN_NAME]
    finally:
        subprocess.run([*pip, "uninstall", "-y", "fusion-example-encoder"], capture_output=True, timeout=300)
