"""Runners: the library calls that turn a configuration and a corpus into trained models and scores.

``fit_and_score`` (one run), ``run_ablation`` (modes x seeds x folds), ``train_model_dir`` /
``evaluate_model_dir`` (one model directory), ``compose_model_dir`` (an audio and a text model pooled
into a composed model, :mod:`.product_of_experts`, calibrated by :mod:`.calibration` or adapted without
labels by :mod:`.adaptation`),
``probe_and_score`` (the linear-probe baseline), and the provenance written beside every result.
The CLI, the benchmarks and the examples call these.
"""

from .ablate import load_run_records, run_ablation
from .aggregate import aggregate
from .compose import compose_model_dir
from .composed import ComposedSpec, is_composed
from .corpus import load_corpus
from .fit import FittedRun, RunRecord, fit_and_score, score
from .model_dir import evaluate_model_dir, experiment_for, train_model_dir
from .probe import probe_and_score
from .provenance import component_versions, manifest_hash, versions

__all__ = ["ComposedSpec", "FittedRun", "RunRecord", "aggregate", "component_versions", "compose_model_dir",
           "evaluate_model_dir", "experiment_for", "fit_and_score", "is_composed", "load_corpus", "load_run_records",
           "manifest_hash", "probe_and_score", "run_ablation", "score", "train_model_dir", "versions"]
