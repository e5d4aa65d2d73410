"""examples/register_plugin_inprocess.py: the script's encoder is registered in-process, listed,
actually used by an ablation on the demo corpus, and unregistered afterwards (also on errors)."""

from __future__ import annotations

import json
import runpy

import numpy as np
import pytest
import torch

import fusion
from fusion import plugins
from fusion.errors import ConfigError, PluginError, UnknownComponentError
from tests.conftest import ROOT, tone

SCRIPT = ROOT / "examples" / "register_plugin_inprocess.py"
QUICK = ["--speakers", "s01,s02,s03,s04", "--folds", "2", "--epochs", "1"]


@pytest.fixture(scope="module")
def example():
    return runpy.run_path(str(SCRIPT))


def assert_unregistered(example) -> None:
    assert not plugins.pm.has_plugin(example["PLUGIN"])
    with pytest.raises(UnknownComponentError, match="spectral-flux"):
        fusion.get_acoustic_encoder("spectral-flux")


def test_registers_lists_trains_and_unregisters(example, tmp_path, capsys):
    assert_unregistered(example)
    out = tmp_path / "run"
    r = example["main"](["--out", str(out), *QUICK])
    assert r["listing"]["name"] == "example-inprocess"
    assert r["listing"]["components"] == {"acoustic_encoder": ["spectral-flux"]}
    results = r["results"]
    assert results["components"]["acoustic_encoder"] == {
        "name": "spectral-flux", "plugin": "example-inprocess", "distribution": "(in-process)", "version": ""}
    n = results["n_utterances"]
    assert n == 160 and not results["excluded"]  # 4 speakers x 40 clips
    assert results["cache"]["audio"] == {"cached": 0, "computed": n}  # the plugin's featurize ran on every clip
    assert set(results["modes"]) == {"audio", "fused"}
    for entry in results["modes"].values():
        assert entry["n"] == n and 0.0 <= entry["ua"]["mean"] <= 1.0 and len(entry["ua"]["per_fold"]) == 2
    saved = json.loads((out / "results.json").read_text())
    assert saved["config"]["acoustic_encoder"] == "spectral-flux" and (out / "report.md").is_file()
    printed = capsys.readouterr().out
    assert "example-inprocess  (in-process)\n    acoustic encoder: spectral-flux\n" in printed
    assert f"spectral-flux: {n} clips featurized, 0 read from the cache" in printed
    assert_unregistered(example)


def test_unregistered_after_an_error(example, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"key": "another configuration"}))
    with pytest.raises(ConfigError, match="different configuration"):  # raised inside the registered block
        example["main"](["--out", str(run_dir), *QUICK])
    assert_unregistered(example)
    with pytest.raises(ConfigError, match="valid choices: audio, text, fused"):
        example["main"](["--out", str(tmp_path / "bad"), *QUICK, "--modes", "audio,nope"])
    assert_unregistered(example)


def test_a_clashing_encoder_name_is_refused(example):
    class Clash:
        @fusion.hookimpl
        def register_acoustic_encoders(self, register):
            register("spectral-flux", example["SpectralFluxEncoder"])

    name = plugins.register_plugin(Clash(), name="clash")
    try:
        with pytest.raises(PluginError, match="already provided by plugin 'clash'"):
            with example["registered"](example["InProcessPlugin"](), example["PLUGIN"]):
                pass
        assert not plugins.pm.has_plugin(example["PLUGIN"])
    finally:
        plugins.unregister_plugin(name)
        plugins.failures[:] = [f for f in plugins.failures if f.plugin != example["PLUGIN"]]


def test_a_taken_plugin_name_is_refused(example):
    taken = plugins.register_plugin(object(), name=example["PLUGIN"])
    try:
        with pytest.raises(PluginError, match="a plugin named 'example-inprocess' is already registered"):
            with example["registered"](example["InProcessPlugin"](), example["PLUGIN"]):
                pass
        assert plugins.pm.has_plugin(taken)  # someone else's plugin is left alone
    finally:
        plugins.unregister_plugin(taken)


def test_encoder_features_and_forward(example):
    encoder = example["SpectralFluxEncoder"]()
    wav = torch.from_numpy(tone(1.0, freq=300.0))
    feats = encoder.featurize(wav)                                # [T, 2 * bands]
    assert feats.shape == (1 + (16000 - 512) // 160, 32) and torch.isfinite(feats).all()
    assert feats[:, :16].mean(0).abs().max() < 1e-4               # levels relative to the clip mean
    assert (feats[:, 16:] >= 0).all()                             # flux = rises only
    burst = np.concatenate([np.zeros(8000, np.float32) + 1e-4, tone(0.5, freq=300.0)])
    flux = encoder.featurize(torch.from_numpy(burst))[:, 16:].sum(1)  # [T]
    onset = 8000 // 160
    assert int(flux.argmax()) in range(onset - 4, onset + 1)      # the onset is where energy rises
    assert encoder.featurize(torch.zeros(100)).shape == (1, 32)   # shorter than one window

    short = encoder.featurize(torch.from_numpy(tone(0.5, freq=200.0, seed=1)))
    batch = torch.nn.utils.rnn.pad_sequence([feats, short], batch_first=True)  # [2, T, 32]
    lengths = torch.tensor([len(feats), len(short)])
    out = encoder.eval()(batch, lengths)
    assert out.seq.shape == (2, len(feats), 32) and out.pooled.shape == (2, 32)
    alone = encoder(short[None], lengths[1:])
    torch.testing.assert_close(out.pooled[1], alone.pooled[0], atol=1e-5, rtol=1e-5)  # padding is ignored
    with pytest.raises(ConfigError, match="spectral-flux"):
        example["SpectralFluxEncoder"](example["SpectralFluxEncoder"].Config(bands=15))
