"""What the accuracy benchmarks share: where data, run directories, the cache and results live, the
report templates (``templates/*.md``, ``str.format`` fields) and how results are written.

Run directories and the feature cache default to the repository's ignored ``runs/`` folder
(``$FUSION_CACHE`` wins for the cache); real data to ``$FUSION_SHARED/data`` or ``../shared/data``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
TEMPLATES = Path(__file__).resolve().parent / "templates"


def shared_data() -> Path:
    """The shared data folder: ``$FUSION_SHARED/data``, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("FUSION_SHARED") or ROOT.parent / "shared") / "data"


def add_location_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """``--work-dir`` (alias ``--work``), ``--cache``, ``--out`` and ``--render-only`` of benchmark ``name``."""
    parser.add_argument("--work-dir", "--work", dest="work_dir", type=Path, default=ROOT / "runs" / "bench" / name,
                        help=f"run directories and other intermediate files (default: runs/bench/{name})")
    parser.add_argument("--cache", type=Path, default=None,
                        help="the feature / transcript cache (default: $FUSION_CACHE, else runs/cache)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the .json and .md results go")
    parser.add_argument("--render-only", action="store_true",
                        help="re-render the .md results from the .json results in --out; train nothing")


def use_cache(cache: Path | None) -> Path:
    """Point the library's cache (``$FUSION_CACHE``) at ``cache``, else keep ``$FUSION_CACHE``, else runs/cache."""
    root = Path(cache or os.environ.get("FUSION_CACHE") or ROOT / "runs" / "cache")
    os.environ["FUSION_CACHE"] = str(root)
    return root


HISTORIC_PATIENCE = 10  # train.patience before it became 6 (session 9)


PROSODY_ENCODERS = ("whisper-encoder", "whisper", "whisper-encoder-shared")  # their prosody option came after the historic tables


def as_measured(cfg):
    """``cfg`` with the defaults under which the historic tables were measured: speaker normalisation off,
    early-stopping patience 10 and the Whisper states without prosodic functionals (unless ``cfg`` sets
    ``prosody``; bench/accuracy/unseen_corpus.py and cross_corpus.py measure the current defaults)."""
    import dataclasses

    from fusion.speaker_norm import SpeakerNormConfig

    acoustic = dict(cfg.acoustic_config)
    if cfg.acoustic_encoder in PROSODY_ENCODERS:
        acoustic.setdefault("prosody", False)
    return cfg.replace(speaker_norm=SpeakerNormConfig(enabled=False), acoustic_config=acoustic,
                       train=dataclasses.replace(cfg.train, patience=HISTORIC_PATIENCE))


def command_line(script: str, argv: list[str] | None) -> str:
    """How the benchmark was invoked, as its report quotes it."""
    return f"python bench/accuracy/{script}" + "".join(f" {a}" for a in (sys.argv[1:] if argv is None else argv))


def template(name: str, **fields) -> str:
    """``templates/<name>.md`` filled in with ``fields`` (without its final newline)."""
    return (TEMPLATES / f"{name}.md").read_text(encoding="utf-8").removesuffix("\n").format(**fields)


def read_results(out: Path, stem: str) -> dict:
    return json.loads((Path(out) / f"{stem}.json").read_text(encoding="utf-8"))


def write_results(out: Path, stem: str, results: dict | None, markdown: str) -> None:
    """``out/<stem>.json`` (unless ``results`` is None) and ``out/<stem>.md``, each written atomically."""
    from fusion.cache import atomic_write_json, atomic_write_text

    Path(out).mkdir(parents=True, exist_ok=True)
    if results is not None:
        atomic_write_json(Path(out) / f"{stem}.json", results)
    atomic_write_text(Path(out) / f"{stem}.md", markdown)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def resolved_encoders(cfg) -> dict:
    """Each encoder the run uses -> its whole configuration, defaults included."""
    from fusion.components import config_dict
    from fusion.experiment import uses_modality
    from fusion.model import build_component

    out = {}
    for modality, kind, name, options in (("audio", "acoustic_encoder", cfg.acoustic_encoder, cfg.acoustic_config),
                                          ("text", "text_encoder", cfg.text_encoder, cfg.text_config)):
        if any(uses_modality(mode, modality) for mode in cfg.modes):
            out[modality] = {"name": name, "config": config_dict(build_component(kind, name, options).config)}
    return out
