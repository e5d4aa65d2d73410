"""Inference on new audio: ``fusion.load(MODEL_DIR).predict(path_or_array)``.

Modules: :mod:`.loading` (:func:`load`), :mod:`.predictor` (the warm :class:`Predictor`),
:mod:`.ensemble` (several model directories averaged: :class:`EnsemblePredictor`),
:mod:`.composed` (an audio and a text model pooled by ``fusion compose``: :class:`ComposedPredictor`),
:mod:`.prediction` (result types), :mod:`.inputs` (files, arrays, manifests, CLI paths), :mod:`.segmentation` (energy VAD for long
recordings), :mod:`.sources` (streamed reading of long files), :mod:`.output` (table/JSON/CSV).
"""

from .composed import ComposedPredictor
from .ensemble import EnsemblePredictor
from .inputs import PredictInput, expand_paths
from .loading import load
from .prediction import Prediction, SegmentPrediction
from .predictor import Predictor
from .segmentation import EnergyVAD

__all__ = ["ComposedPredictor", "EnergyVAD", "EnsemblePredictor", "PredictInput", "Prediction", "Predictor", "SegmentPrediction",
           "expand_paths", "load"]
