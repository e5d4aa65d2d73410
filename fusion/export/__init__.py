"""Export of a trained model's classifier to ONNX or TorchScript (``fusion export``).

What is exported is the *trainable* part of the :class:`~fusion.model.EmotionModel`: each encoder's
``forward`` and the fusion head, over featurized inputs (padded features + lengths per modality ->
class probabilities, and per-branch probabilities when the head has branches). The frozen
``featurize`` part (log-mel, frozen Whisper states, tokenizer, frozen MiniLM states) and speech-to-
text stay in Python: :func:`graph_inputs` is that preprocessing step. Example with onnxruntime::

    import onnxruntime
    from fusion.export import export_model, graph_inputs
    from fusion.model import EmotionModel
    result = export_model("runs/fused", "onnx")               # -> runs/fused/model.onnx
    model = EmotionModel.load("runs/fused")                   # for its featurize only
    inputs = graph_inputs(model, [wav_16k], ["i feel great"])
    session = onnxruntime.InferenceSession(str(result.path))
    probabilities, *branches = session.run(None, {k: v.numpy() for k, v in inputs.items()})

Modules: :mod:`.graph` (the wrapper and preprocessing), :mod:`.to_onnx`, :mod:`.to_torchscript`,
:mod:`.check` (comparison with PyTorch on other shapes), :mod:`.exporter` (``export_model``).
"""

from .exporter import FORMATS, ONNX_EXPORTERS, ExportResult, export_model
from .graph import ClassifierGraph, classifier_graph, graph_inputs

__all__ = ["FORMATS", "ONNX_EXPORTERS", "ClassifierGraph", "ExportResult", "classifier_graph", "export_model",
           "graph_inputs"]
