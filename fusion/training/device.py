"""Where the trainable model runs: device choice, mixed precision, CPU threads and allocator.

Only the trainable part (``forward``) moves to the device; the cached ``featurize`` outputs stay in
memory on the CPU and each batch is copied over when it is used. torch is imported inside the
functions, so the command line can offer :data:`DEVICES` / :data:`AMP_MODES` without importing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    import torch

DEVICES = ("cpu", "cuda", "mps", "auto")       # values of ExperimentConfig.device / --device
AMP_MODES = ("auto", "off", "bf16", "fp16")    # values of ExperimentConfig.amp / --amp
GPU_TYPES = ("cuda", "mps")                    # device types where mixed precision is used


@dataclass(frozen=True)
class Runtime:
    device: torch.device        # where the trainable model and its batches live
    amp: torch.dtype | None     # torch.autocast dtype while training; None = full float32


def _available(kind: str) -> bool:
    import torch

    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    return kind == "cpu"


def select_device(name: str | None, index: int | None = None) -> torch.device:
    """"cpu" | "cuda" | "mps" | "auto" (None = "cpu") -> torch.device; "auto" = cuda if available, else cpu.

    ``index`` picks the GPU (``LOCAL_RANK`` under torchrun); it is ignored for cpu and mps.
    """
    import torch

    name = name or "cpu"
    if name not in DEVICES:
        raise ConfigError(f"unknown device {name!r}; valid choices: {', '.join(DEVICES)}")
    kind = ("cuda" if _available("cuda") else "cpu") if name == "auto" else name
    if not _available(kind):
        usable = [d for d in DEVICES if d == "auto" or _available(d)]
        raise ConfigError(f"device {name!r} is not available on this machine; valid choices here: "
                          f"{', '.join(usable)}")
    return torch.device(kind, index) if kind == "cuda" and index is not None else torch.device(kind)


def autocast_dtype(device: torch.device, amp: str | None) -> torch.dtype | None:
    """The mixed-precision dtype for ``amp`` on ``device`` (None = float32).

    "auto" (the default, also for None): bf16 on a CUDA GPU that supports it, fp16 on an older one,
    off on cpu and mps. "bf16" / "fp16" force a dtype and need a GPU (cuda or mps); "off" never casts.
    """
    import torch

    amp = amp or "auto"
    if amp not in AMP_MODES:
        raise ConfigError(f"unknown amp mode {amp!r}; valid choices: {', '.join(AMP_MODES)}")
    if amp == "off":
        return None
    if amp == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type not in GPU_TYPES:
        raise ConfigError(f"amp {amp!r}: mixed precision is only used on a GPU (device cuda or mps), "
                          f"got device {device.type!r}; valid choices on {device.type}: auto, off")
    return torch.bfloat16 if amp == "bf16" else torch.float16


def resolve_runtime(device: str | None, amp: str | None, index: int | None = None) -> Runtime:
    """ExperimentConfig.device / .amp -> :class:`Runtime` (``index``: the GPU of this rank)."""
    where = select_device(device, index)
    return Runtime(where, autocast_dtype(where, amp))


def set_threads(n: int | None) -> None:
    """``--threads N``: torch's intra-op CPU threads (None keeps torch's default)."""
    if n is None:
        return
    if n < 1:
        raise ConfigError(f"--threads must be >= 1, got {n}")
    import torch

    torch.set_num_threads(n)


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters (malloc.h)


def keep_freed_memory(limit_bytes: int = 1 << 30) -> bool:
    """glibc only: serve allocations up to ``limit_bytes`` from the heap and keep freed memory for reuse.

    Every training step allocates padded batches of cached encoder states (the Whisper-base stack of a
    32-clip batch is ~28 MB in float32). glibc returns blocks over its mmap threshold (at most 32 MB)
    to the OS on free and page-faults fresh zeroed pages on the next step; keeping them costs no
    peak memory (the same blocks are reused) and shortens a warm RAVDESS ablation (side-by-side runs:
    bench/results/speed_ablation_variants.md). ``FUSION_KEEP_FREED_MEMORY=0`` turns it off. Returns whether it
    took effect (False off glibc or when turned off)."""
    import ctypes
    import ctypes.util
    import os

    if not 0 < limit_bytes < 2**31:  # mallopt takes a C int
        raise ConfigError(f"keep_freed_memory: limit_bytes must be in (0, 2**31), got {limit_bytes}")
    if os.environ.get("FUSION_KEEP_FREED_MEMORY", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        if not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
            return False
        return bool(libc.mallopt(M_MMAP_THRESHOLD, int(limit_bytes))) and \
            bool(libc.mallopt(M_TRIM_THRESHOLD, min(4 * int(limit_bytes), 2**31 - 1)))
    except (OSError, AttributeError):
        return False
