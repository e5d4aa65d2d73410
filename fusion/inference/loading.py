"""``fusion.load``: one model directory -> a :class:`~.predictor.Predictor` (a composed one, written by
``fusion compose``, -> a :class:`~.composed.ComposedPredictor`), several -> an
:class:`~.ensemble.EnsemblePredictor` (this module imports all three; none imports it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..runners.composed import is_composed
from .composed import ComposedPredictor
from .ensemble import EnsemblePredictor, check_weights
from .predictor import Predictor


def load(*model_dirs: str | Path | Sequence[str | Path], **options: Any
         ) -> Predictor | ComposedPredictor | EnsemblePredictor:
    """``fusion.load(MODEL_DIR, transcriber=None, transcriber_config=None, config=None, vad=None)``
    -> a :class:`Predictor` (a :class:`ComposedPredictor` for a composed directory); several directories (``load(A, B)`` or ``load([A, B])``, optionally
    ``weights=[...]``) -> an :class:`EnsemblePredictor` averaging their probabilities."""
    if "model_dir" in options:  # load(model_dir=...) as before
        model_dirs = (options.pop("model_dir"), *model_dirs)
    dirs: list[str | Path] = []
    for d in model_dirs:
        dirs.extend(d if isinstance(d, (list, tuple)) else [d])
    weights = options.pop("weights", None)
    if not dirs:
        raise ConfigError("fusion.load needs at least one model directory")
    if len(dirs) == 1:
        check_weights(weights, 1)  # validated, and meaningless for one model
        return ComposedPredictor(dirs[0], **options) if is_composed(dirs[0]) else Predictor(dirs[0], **options)
    return EnsemblePredictor(dirs, weights=weights, **options)
