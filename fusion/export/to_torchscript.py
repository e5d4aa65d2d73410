"""TorchScript export: ``torch.jit.trace`` of the classifier graph, metadata in the archive.

Tracing records the ops run on the example; sizes read from tensors (padded lengths, the batch
size) stay symbolic, so the traced module accepts other batch sizes and lengths (checked after
export). Limitation: ``torch.jit.trace`` cannot record ``torch.full(size, True, dtype=torch.bool)``,
which the ``concat``, ``gated`` and ``tensor`` heads use (``fusion.heads.base.modality_keep``); those
models fail with a message pointing to ``--format onnx``. Load a file without fusion installed::

    extra = {"fusion.json": ""}
    module = torch.jit.load("model.torchscript.pt", _extra_files=extra)
    meta = json.loads(extra["fusion.json"])       # labels, inputs, outputs, preprocessing
    probabilities, *branches = module(audio, audio_lengths, text, text_lengths)
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import Tensor

from ..errors import ConfigError
from .graph import ClassifierGraph

METADATA_FILE = "fusion.json"  # name of the metadata entry in the archive (_extra_files)


def trace(graph: ClassifierGraph, example: dict[str, Tensor], where: str) -> torch.jit.ScriptModule:
    args = tuple(example[name] for name in graph.input_names)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # TracerWarnings: the check after export is what counts
            return torch.jit.trace(graph, args, check_trace=False, strict=False)
    except Exception as exc:  # noqa: BLE001 - reported with the model's components
        detail = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        if "aten::full" in str(exc):  # torch.full(size, True, dtype=torch.bool) in the head
            detail = (f"the fusion head {graph.model.config.head!r} makes a bool tensor with torch.full(..., True), "
                      "which torch.jit.trace cannot record (a PyTorch limitation); export this model with "
                      "--format onnx")
        raise ConfigError(f"{where}: TorchScript tracing failed: {detail}") from exc


def save(module: torch.jit.ScriptModule, path: Path, metadata: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "torch.jit.save is deprecated"
        torch.jit.save(module, str(path), _extra_files={METADATA_FILE: metadata})


def runner(module: torch.jit.ScriptModule, input_names: tuple[str, ...]):
    """A check runner (see :mod:`.check`) for a traced or loaded module."""

    def run(inputs: dict[str, Tensor]):
        with torch.no_grad():
            return [t.numpy() for t in module(*(inputs[name] for name in input_names))]

    return run
