"""``export_model``: a model directory -> one ONNX or TorchScript file of its trainable classifier.

The file holds the classifier graph of :mod:`.graph` (padded features + lengths per modality ->
probabilities, and per-branch probabilities when the head has branches) and a metadata JSON
(labels, input/output spec, model config, the preprocessing step). Every export is run on
batches shaped unlike the export example and compared with PyTorch (:mod:`.check`) before the
file is written; an export that disagrees is an error, never a silently wrong file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from torch import Tensor, nn

from ..errors import ConfigError
from ..model import EmotionModel
from . import check, to_onnx, to_torchscript
from .graph import ClassifierGraph, classifier_graph

FORMATS = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}  # format -> default file suffix
ONNX_EXPORTERS = ("auto", *to_onnx.EXPORTERS)                    # "auto" tries them in order
EXPORTER_NAMES = {"dynamo": "torch.export (dynamo)", "torchscript": "TorchScript-based ONNX exporter",
                  "trace": "torch.jit.trace"}
PREPROCESSING = (
    "Not in the graph; done in Python (fusion.export.graph_inputs(model, wavs, transcripts) does all of it): "
    "decode audio to float32 mono 16 kHz (fusion.audio.load), resample to the acoustic encoder's rate, "
    "audio = acoustic_encoder.featurize(wav) [Ta, ...]; with speaker_norm in the model config, standardise audio "
    "by the moments of its speaker's clips shrunk towards the metadata's speaker_moments (fusion.speaker_norm); "
    "transcribe with the model's transcriber, "
    "text = text_encoder.featurize(transcript) [Tt, ...]; zero-pad each modality to its longest item "
    "(fusion.model.pad_sequences) and pass the true lengths as int64."
)


@dataclass
class ExportResult:
    path: Path                               # the written file
    format: str                              # "onnx" | "torchscript"
    exporter: str                            # which exporter produced it (EXPORTER_NAMES key)
    metadata: dict                           # what is stored in the file
    max_difference: float | None = None      # max |p_export - p_pytorch| on the check batches (None: unchecked)
    attempts: list[str] = field(default_factory=list)  # exporters that failed before, with their reason


def _spec(name: str, tensor: Tensor) -> dict:
    shape = ["batch", *([f"{name}_time"] if tensor.dim() > 1 else []), *tensor.shape[2:]]
    return {"name": name, "shape": shape, "dtype": str(tensor.dtype).removeprefix("torch.")}


def metadata(graph: ClassifierGraph, example: dict[str, Tensor], model_dir: Path) -> dict:
    config = graph.model.config
    return {
        "format": "fusion-export/1", "model_dir": str(model_dir), "mode": config.mode,
        "labels": list(config.labels),
        "inputs": [_spec(name, example[name]) for name in graph.input_names],
        "outputs": [{"name": name, "shape": ["batch", len(config.labels)]} for name in graph.output_names],
        "preprocessing": PREPROCESSING, "model": config.to_dict(),
        **({"speaker_moments": {k: v.tolist() for k, v in graph.model.speaker_prior.to_dict().items()}}
           if graph.model.speaker_prior is not None else {}),
    }


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _recurrent_parts(model: EmotionModel) -> list[str]:
    parts = []
    for kind, encoder, name in (("acoustic encoder", model.acoustic, model.config.acoustic_encoder),
                                ("text encoder", model.text, model.config.text_encoder)):
        if encoder is not None and any(isinstance(m, nn.RNNBase) for m in encoder.modules()):
            parts.append(f"{kind} {name!r}")
    return parts


def _checked(graph: ClassifierGraph, run, batches) -> float:
    diff = check.max_difference(graph, run, batches)
    if not diff <= check.TOLERANCE:
        raise ValueError(f"the exported graph disagrees with PyTorch by {diff:.2g} on inputs shaped "
                         f"unlike the export example (tolerance {check.TOLERANCE:g})")
    return diff


def export_model(model_dir: str | Path, format: str = "onnx", output: str | Path | None = None, *,
                 onnx_exporter: str = "auto", verify: bool = True,
                 log: Callable[[str], None] = lambda message: None) -> ExportResult:
    """Export the classifier of ``model_dir`` to ``output`` (default ``MODEL_DIR/model.onnx`` or
    ``MODEL_DIR/model.torchscript.pt``); ``verify`` compares it with PyTorch on other shapes."""
    if format not in FORMATS:
        raise ConfigError(f"unknown export format {format!r}; valid choices: {', '.join(FORMATS)}")
    if onnx_exporter not in ONNX_EXPORTERS:
        raise ConfigError(f"unknown ONNX exporter {onnx_exporter!r}; valid choices: {', '.join(ONNX_EXPORTERS)}")
    model_dir = Path(model_dir)
    model = EmotionModel.load(model_dir)
    path = Path(output) if output else model_dir / f"model{FORMATS[format]}"
    example = check.example_inputs(model)
    graph = classifier_graph(model)
    meta = metadata(graph, example, model_dir)
    batches = check.check_inputs(model) if verify else []
    where = f"export of {model_dir}"
    if format == "torchscript":
        module = to_torchscript.trace(graph, example, where)
        try:
            diff = _checked(graph, to_torchscript.runner(module, graph.input_names), batches) if verify else None
        except Exception as exc:  # noqa: BLE001
            raise ConfigError(f"{where}: the traced TorchScript module is wrong on other input shapes "
                              f"({to_onnx.failure_summary(exc)}); try --format onnx") from exc
        meta["exporter"] = EXPORTER_NAMES["trace"]
        _write_atomically(path, lambda tmp: to_torchscript.save(module, tmp, json.dumps(meta)))
        return ExportResult(path, format, "trace", meta, diff)
    return _export_onnx(graph, example, batches, path, meta, onnx_exporter, where, log)


def _export_onnx(graph, example, batches, path: Path, meta: dict, onnx_exporter: str, where: str,
                 log: Callable[[str], None]) -> ExportResult:
    try:
        import onnx  # noqa: F401 - both exporters and the metadata need it
    except ImportError as exc:
        raise ConfigError(f"{where}: ONNX export needs the onnx package: pip install 'fusion-ser[export]' "
                          "(onnx, onnxruntime, onnxscript), or use --format torchscript") from exc
    can_check = bool(batches) and to_onnx.onnxruntime_available()
    if batches and not can_check:
        log("warning: onnxruntime is not installed: the ONNX file is not checked against PyTorch "
            "(pip install 'fusion-ser[export]')")
    exporters = to_onnx.EXPORTERS if onnx_exporter == "auto" else (onnx_exporter,)
    attempts: list[str] = []
    for exporter in exporters:
        result: dict = {}

        def write(tmp: Path) -> None:
            to_onnx.export(graph, example, tmp, exporter)
            to_onnx.add_metadata(tmp, json.dumps({**meta, "exporter": EXPORTER_NAMES[exporter]}))
            result["diff"] = _checked(graph, to_onnx.runner(tmp), batches) if can_check else None

        log(f"exporting to ONNX with the {EXPORTER_NAMES[exporter]}")
        try:
            _write_atomically(path, write)
        except Exception as exc:  # noqa: BLE001 - try the next exporter, report all at the end
            attempts.append(f"{EXPORTER_NAMES[exporter]}: {to_onnx.failure_summary(exc)}")
            log(f"  failed: {attempts[-1]}")
            continue
        meta["exporter"] = EXPORTER_NAMES[exporter]
        return ExportResult(path, "onnx", exporter, meta, result["diff"], attempts)
    recurrent = _recurrent_parts(graph.model)
    hint = (f" Known limitation: LSTM/GRU layers run on packed sequences (here in the {' and the '.join(recurrent)}) "
            "cannot be exported by torch.export, and only in part by the TorchScript-based exporter."
            if recurrent else "")
    raise ConfigError(f"{where}: cannot export to ONNX ({'; '.join(attempts)}).{hint} Export it with "
                      f"--format torchscript instead (valid formats: {', '.join(FORMATS)}).")
