"""ONNX export with PyTorch's two exporters, and running the result with onnxruntime.

* ``"dynamo"``: ``torch.onnx.export(dynamo=True)`` (``torch.export`` + onnxscript), PyTorch's
  recommended exporter. It handles the attention heads, but ``torch.export`` cannot follow
  ``pack_padded_sequence`` (its output size depends on the lengths' values), so recurrent encoders
  that run on packed sequences (``cnn-lstm``, ``lstm``, the ``gru`` text encoder) fail here.
* ``"torchscript"``: the older TorchScript-based exporter (``dynamo=False``). It exports packed
  LSTM/GRU layers (as ONNX RNNs with ``sequence_lens``), but not ``EmbeddingBag`` with a padding
  index (the ``gru`` text encoder) and it bakes the key length of ``nn.MultiheadAttention`` into
  the graph (the ``cross-attention`` head then fails on other lengths).

Which one works therefore depends on the model; the caller tries them in turn and keeps the first
whose graph agrees with PyTorch on other shapes (:mod:`.check`). The metadata JSON is stored in
the model's ``metadata_props`` under ``"fusion"`` (onnxruntime:
``session.get_modelmeta().custom_metadata_map["fusion"]``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import warnings
from pathlib import Path

import torch
from torch import Tensor

from .graph import ClassifierGraph

EXPORTERS = ("dynamo", "torchscript")  # tried in this order by default
OPSET = 18                              # opset of the TorchScript-based exporter
METADATA_KEY = "fusion"                 # metadata_props key holding the metadata JSON


QUIET_LOGGERS = ("torch.onnx", "torch.export", "onnxscript", "onnx_ir")  # chatty at WARNING level


@contextlib.contextmanager
def _quiet():
    """Silence the exporters' Python warnings and log lines (unsupported optional ops, deprecations)."""
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


@contextlib.contextmanager
def _native_output_discarded():
    """Point file descriptors 1 and 2 at /dev/null: the TorchScript-based exporter writes C++ shape
    warnings there, and its whole IR graph when it fails (it turns its own log on regardless)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def _dynamic_dims(graph: ClassifierGraph) -> dict[str, dict[int, str]]:
    """input name -> {axis: dimension name}: batch everywhere, time on the feature inputs."""
    dims: dict[str, dict[int, str]] = {}
    for name in graph.input_names:
        dims[name] = {0: "batch"} if name.endswith("_lengths") else {0: "batch", 1: f"{name}_time"}
    return dims


def export(graph: ClassifierGraph, example: dict[str, Tensor], path: Path, exporter: str) -> None:
    """Write ``graph`` traced on ``example`` to ``path`` with ``exporter`` (one of EXPORTERS)."""
    args = tuple(example[name] for name in graph.input_names)
    dims = _dynamic_dims(graph)
    with _quiet(), torch.no_grad():
        if exporter == "dynamo":
            named = {}
            shapes = {name: {axis: named.setdefault(label, torch.export.Dim(label)) for axis, label in axes.items()}
                      for name, axes in dims.items()}
            program = torch.onnx.export(graph, args, input_names=list(graph.input_names),
                                        output_names=list(graph.output_names), dynamic_shapes=shapes,
                                        dynamo=True, optimize=True, verbose=False)
            program.save(str(path))
        else:
            axes = {**dims, **{name: {0: "batch"} for name in graph.output_names}}
            with _native_output_discarded():
                torch.onnx.export(graph, args, str(path), input_names=list(graph.input_names),
                                  output_names=list(graph.output_names), dynamic_axes=axes, dynamo=False,
                                  opset_version=OPSET)


def add_metadata(path: Path, metadata: str) -> None:
    import onnx

    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {METADATA_KEY: metadata})
    onnx.save(model, str(path))


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def runner(path: Path):
    """A check runner (see :mod:`.check`): graph inputs by name -> outputs, with onnxruntime."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def run(inputs: dict[str, Tensor]):
        return session.run(None, {name: inputs[name].numpy() for name in names})

    return run


def failure_summary(exc: BaseException) -> str:
    """One line for an exporter's or onnxruntime's (often very long) exception."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if "## Exception summary" in lines:  # torch.onnx's TorchExportError: the cause is under this heading
        lines = lines[lines.index("## Exception summary") + 1:]
    line = lines[0] if lines else ""
    line = re.sub(r"^<class '([\w.]+)'>:\s*", r"\1: ", line)
    if "Status Message:" in line:  # onnxruntime: keep the kernel's own message
        line = line.split("Status Message:", 1)[1].strip()
    line = line if ": " in line[:40] else f"{type(exc).__name__}: {line}"
    return line if len(line) <= 300 else line[:297] + "..."
