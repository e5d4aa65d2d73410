"""Where a run came from: package versions, the components it used, the corpus it read.

Written into every run record, ``results.json`` and model directory, so a number can be traced back
to the code and the data that made it."""

from __future__ import annotations

import platform

from ..data import manifest_hash
from ..experiment import ExperimentConfig

__all__ = ["component_versions", "manifest_hash", "versions"]


def versions() -> dict:
    """fusion, python, torch, torchaudio and every plugin distribution's version."""
    import torch
    import torchaudio

    from .. import __version__
    from ..plugins import plugin_report

    v = {"fusion": __version__, "python": platform.python_version(), "torch": torch.__version__,
         "torchaudio": torchaudio.__version__}
    for row in plugin_report():
        if row["distribution"] != "fusion-ser":
            v[row["distribution"]] = row["version"]
    return v


def component_versions(cfg: ExperimentConfig) -> dict:
    """role -> {name, plugin, distribution, version} of every component the run uses."""
    from ..plugins import get_component, plugin_report

    used = {"dataset": ("dataset", cfg.dataset)}
    if cfg.needs_audio:
        used["acoustic_encoder"] = ("acoustic_encoder", cfg.acoustic_encoder)
    if cfg.needs_text:
        used.update(text_encoder=("text_encoder", cfg.text_encoder), transcriber=("transcriber", cfg.transcriber))
    if "fused" in cfg.modes:
        used["head"] = ("fusion_head", cfg.head)
    if any(m in ("audio", "text") for m in cfg.modes):
        used["unimodal_head"] = ("fusion_head", "unimodal")
    plugins = {row["name"]: row for row in plugin_report()}
    out = {}
    for role, (kind, name) in used.items():
        component = get_component(kind, name)
        row = plugins.get(component.plugin, {})
        out[role] = {"name": component.name, "plugin": component.plugin,
                     "distribution": row.get("distribution", "?"), "version": row.get("version", "?")}
    return out
