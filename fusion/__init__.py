"""fusion: multimodal (acoustic + transcript) speech emotion recognition.

Public API::

    import fusion
    fusion.get_acoustic_encoder("cnn-lstm").build({"hidden": 128})
    from fusion.heads import CrossAttentionHead
"""

from __future__ import annotations

__version__ = "0.1.0"

from .data import Fold, Utterance, make_folds, read_manifest, write_manifest
from .errors import (
    AudioError,
    CheckpointError,
    ConfigError,
    DatasetError,
    FusionError,
    PluginError,
    TrainingError,
    UnknownComponentError,
)
from .hookspecs import hookimpl
from .registry import Component


def _get(kind: str, name: str) -> Component:
    from .plugins import get_component

    return get_component(kind, name)


def get_acoustic_encoder(name: str) -> Component:
    """The registered acoustic encoder ``name`` (``.build(config)`` makes an instance)."""
    return _get("acoustic_encoder", name)


def get_text_encoder(name: str) -> Component:
    return _get("text_encoder", name)


def get_transcriber(name: str) -> Component:
    return _get("transcriber", name)


def get_fusion_head(name: str) -> Component:
    return _get("fusion_head", name)


def get_dataset(name: str) -> Component:
    return _get("dataset", name)


def load(*model_dirs, **options):
    """A warm :class:`fusion.inference.Predictor` for a model directory written by ``fusion train``;
    for several (``load(A, B, weights=[2, 1])`` or ``load([A, B])``) a
    :class:`fusion.inference.EnsemblePredictor` that averages their class probabilities."""
    from .inference import load as _load

    return _load(*model_dirs, **options)


def prepare(dataset: str, data_dir=None, **options) -> list[Utterance]:
    """Run the recipe ``dataset`` on ``data_dir`` -> list of utterances."""
    from .recipes import prepare_dataset

    return prepare_dataset(dataset, data_dir, **options)


__all__ = [
    "AudioError", "CheckpointError", "Component", "ConfigError", "DatasetError", "Fold",
    "FusionError", "PluginError", "TrainingError", "UnknownComponentError", "Utterance",
    "__version__", "get_acoustic_encoder", "get_dataset", "get_fusion_head", "get_text_encoder",
    "get_transcriber", "hookimpl", "load", "make_folds", "prepare", "read_manifest", "write_manifest",
]
