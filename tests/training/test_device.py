"""Device choice, mixed precision and thread settings for the trainable part."""

from __future__ import annotations

import platform
import sys

import pytest
import torch

from fusion.errors import ConfigError
from fusion.experiment import ExperimentConfig
from fusion.training.device import autocast_dtype, resolve_runtime, select_device, set_threads
from fusion.training.trainer import TrainConfig, seed_everything, train
from tests.training.test_trainer import _items, _model

NO_GPU = not torch.cuda.is_available()


def test_default_and_cpu_are_the_cpu():
    assert select_device(None) == select_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(not NO_GPU, reason="this machine has CUDA")
def test_auto_falls_back_to_cpu_and_cuda_is_refused_without_a_gpu():
    assert select_device("auto") == torch.device("cpu")
    with pytest.raises(ConfigError, match=r"device 'cuda' is not available.*valid choices here: cpu.*auto"):
        select_device("cuda")


def test_unknown_device_lists_the_choices():
    with pytest.raises(ConfigError, match="unknown device 'gpu'; valid choices: cpu, cuda, mps, auto"):
        select_device("gpu")


def test_mixed_precision_only_on_a_gpu():
    cpu = torch.device("cpu")
    assert autocast_dtype(cpu, None) is None and autocast_dtype(cpu, "auto") is None
    assert autocast_dtype(cpu, "off") is None
    with pytest.raises(ConfigError, match="only used on a GPU.*valid choices on cpu: auto, off"):
        autocast_dtype(cpu, "bf16")
    with pytest.raises(ConfigError, match="unknown amp mode 'half'; valid choices: auto, off, bf16, fp16"):
        autocast_dtype(cpu, "half")
    assert autocast_dtype(torch.device("mps"), "fp16") is torch.float16  # the policy, without an MPS device
    assert resolve_runtime("cpu", "auto").amp is None


def test_threads(monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    set_threads(None)
    set_threads(3)
    assert calls == [3]
    with pytest.raises(ConfigError, match="--threads must be >= 1"):
        set_threads(0)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_training_steps_run_under_autocast(fake_plugins, dtype):
    """The autocast + GradScaler path (exercised on the CPU, where torch supports both dtypes)."""
    seed_everything(0)
    model = _model()
    seen = set()
    model.head.register_forward_hook(lambda mod, args, out: seen.add(out.logits.dtype) if mod.training else None)
    result = train(model, _items(64), _items(32, seed=1), TrainConfig(epochs=6, batch_size=16, lr=3e-3),
                   amp=dtype)
    assert seen == {dtype}                      # logits of the training steps were computed in low precision
    assert result.best_val_ua > 0.9             # and it still learns
    assert all(p.dtype == torch.float32 for p in model.parameters())  # weights stay float32


def test_device_and_amp_round_trip_and_stay_out_of_default_configs(tmp_path):
    base = ExperimentConfig(dataset="synthetic")
    assert "device" not in base.to_dict() and "amp" not in base.to_dict()  # ablation keys of old runs unchanged
    cfg = base.replace(device="auto", amp="off")
    (tmp_path / "config.toml").write_text(cfg.to_toml())
    again = ExperimentConfig.from_toml(tmp_path)
    assert (again.device, again.amp) == ("auto", "off")


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="mallopt is glibc's")
def test_keep_freed_memory_takes_effect_on_glibc(monkeypatch):
    from fusion.training.device import keep_freed_memory

    assert keep_freed_memory() is True
    monkeypatch.setenv("FUSION_KEEP_FREED_MEMORY", "0")
    assert keep_freed_memory() is False
    monkeypatch.delenv("FUSION_KEEP_FREED_MEMORY")
    with pytest.raises(ConfigError, match="must be in"):
        keep_freed_memory(1 << 62)  # would wrap around in ctypes
