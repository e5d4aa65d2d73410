"""``compose_model_dir``: an audio-only and a text-only model directory -> one composed model directory.

The members may come from different corpora with different label names: their labels are mapped
to canonical ones (:func:`fusion.runners.composed.member_label_map`), the output labels are
``labels`` or the canonical labels both model, and the members are pooled by a weighted product of
experts (:mod:`.product_of_experts`). Without ``calibrate`` every weight and temperature is 1; with
``calibrate`` (a ``manifest`` recipe CSV/JSONL: path,label,speaker[,transcript]) they are fitted on
those clips (:mod:`.calibration`), the fit is reported (NLL per clip with equal weights, calibrated
in-sample, and cross-fitted), and the clips' member probabilities are stored so that evaluating on
the same clips later can be cross-fitted. The layout written: :mod:`.composed`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from ..cache import atomic_write_json
from ..data import manifest_hash
from ..errors import ConfigError, LabelMismatchError
from ..labels import label_map_for, parse_label_list, select_labels
from ..model import EmotionModel, build_component
from ..recipes import Corpus, prepare_dataset
from ..training.metrics import classification_metrics
from .adaptation import adapt_spec
from .calibration import PRIOR_SD, cross_fit, fit_pool_params, mean_nll
from .composed import (CALIBRATION_FILE, COMPOSE_FILE, ComposedSpec, MemberSpec, check_output_labels,
                       default_output_labels, is_composed, member_label_map)
from .composed_eval import clip_keys, score_members
from .model_dir import write_dir_atomically
from .product_of_experts import ROLES, PoolParams

CALIBRATION_DATASET = "manifest"  # the recipe --calibrate files are read with
FEW_CLIPS = 20                    # fewer calibration clips than this: a warning (the prior dominates)


def load_member(role: str, model_dir) -> MemberSpec:
    """A trained ``role`` model directory as a member (ConfigError for a composed or wrong-mode model)."""
    d = Path(model_dir)
    if is_composed(d):
        raise ConfigError(f"--{role} {d} is a composed model; compose a model trained with --mode {role}")
    model = EmotionModel.load(d)
    if model.config.mode != role:
        raise ConfigError(f"--{role} {d} is a {model.config.mode} model; --{role} takes a model trained "
                          f"with --mode {role} (--audio: an audio model, --text: a text model)")
    recipe, mapping = member_label_map(d, model.labels)
    if not mapping:
        raise LabelMismatchError(f"--{role} {d}: none of its labels ({', '.join(model.labels)}) has a canonical "
                                 "name; retrain it with --labels / --label-map (see fusion.labels)")
    return MemberSpec(role, role, tuple(model.labels), mapping, recipe, str(d.resolve()), model.config.mode)


def _check_out_dir(out_dir: Path, members: dict[str, MemberSpec]) -> None:
    out = out_dir.resolve()
    for role, m in members.items():
        src = Path(m.source)
        if out == src or out in src.parents or src in out.parents:
            raise ConfigError(f"--out {out_dir} overlaps the {role} member {src}; write the composed model elsewhere")


def compose_model_dir(audio_dir, text_dir, out_dir, labels=None, calibrate=None, label_map: dict | None = None,
                      transcriber: str | None = None, transcriber_config: dict | None = None,
                      prior_sd: float = PRIOR_SD, device: str | None = None, progress=None,
                      log: Callable[[str], None] = print, adapt=None) -> dict:
    """Write a composed model directory; returns its ``compose.json`` document.

    ``labels``: the output labels (canonical names; default: those both members model).
    ``calibrate``: a manifest file to fit the weights and temperatures on; ``label_map`` renames its
    labels to canonical ones (only with ``calibrate``). ``adapt``: a manifest of unlabelled clips of
    the target domain to fit each member's balancing bias on (:mod:`.adaptation`; not with
    ``calibrate``). ``transcriber``: the text member's speech-to-text for the calibration or
    adaptation clips and for new audio (default: the member's own)."""
    if label_map and calibrate is None:
        raise ConfigError("--label-map renames the calibration manifest's labels: give --calibrate MANIFEST too")
    if adapt is not None and calibrate is not None:
        raise ConfigError("--adapt and --calibrate: choose one (--calibrate fits weights and temperatures on "
                          "labelled clips; --adapt fits label biases on unlabelled ones)")
    if not prior_sd > 0:
        raise ConfigError(f"calibration prior_sd must be > 0, got {prior_sd}")
    if transcriber is not None:  # before any work: an unknown name or option is an error naming the valid ones
        build_component("transcriber", transcriber, dict(transcriber_config or {}))  # weights load lazily
    members = {"audio": load_member("audio", audio_dir), "text": load_member("text", text_dir)}
    out = Path(out_dir)
    _check_out_dir(out, members)
    output = parse_label_list(labels) if labels is not None else default_output_labels(members)
    check_output_labels(output, members)
    spec = ComposedSpec(out, tuple(output), members, PoolParams(), transcriber, dict(transcriber_config or {}))
    for note in spec.notes():
        log(note)
    rows = None
    if calibrate is not None:
        spec, rows = calibrate_spec(spec, calibrate, label_map, prior_sd=prior_sd, device=device,
                                    progress=progress, log=log)
    if adapt is not None:
        spec = adapt_spec(spec, adapt, device=device, progress=progress, log=log)

    def write(d: Path) -> None:
        for role in ROLES:
            shutil.copytree(members[role].source, d / role)
        atomic_write_json(d / COMPOSE_FILE, spec.to_dict())
        if rows is not None:
            atomic_write_json(d / CALIBRATION_FILE, rows)

    write_dir_atomically(out, write)
    return spec.to_dict()


def calibrate_spec(spec: ComposedSpec, manifest, label_map: dict | None = None, prior_sd: float = PRIOR_SD,
                   device: str | None = None, progress=None, log: Callable[[str], None] = print
                   ) -> tuple[ComposedSpec, dict]:
    """Fit ``spec``'s weights and temperatures on ``manifest``'s clips (members read from their
    ``source`` directories) -> (the calibrated spec, the rows for ``calibration.json``)."""
    corpus = prepare_dataset(CALIBRATION_DATASET, manifest)
    kept, excluded = select_labels(corpus, keep=spec.labels, label_map=label_map_for(CALIBRATION_DATASET, label_map))
    if excluded:
        log(f"calibration: {len(excluded)} clip(s) of {manifest} left out, e.g. "
            + "; ".join(f"{k}: {v}" for k, v in list(excluded.items())[:3]))
    dirs = {r: Path(spec.members[r].source) for r in ROLES}
    scores = score_members(spec, Corpus(kept, [*corpus.skipped, *excluded.items()]), CALIBRATION_DATASET, manifest,
                           dirs=dirs, device=device, progress=progress, log=log)
    utts = scores.utterances
    if len(utts) < FEW_CLIPS:
        log(f"warning: calibrating on only {len(utts)} clips: the prior keeps weights and temperatures near 1")
    y = [spec.labels.index(u.label) for u in utts]
    keys = clip_keys(utts)
    params = fit_pool_params(scores.factors, y, prior_sd)
    equal, _ = spec.combine(scores.factors, PoolParams())                                   # [N, K]
    fitted, _ = spec.combine(scores.factors, params)                                        # [N, K]
    crossed = cross_fit(scores.factors, keys, [u.speaker for u in utts], scores.factors, y, keys, prior_sd)

    def ua(p) -> float:
        return classification_metrics(y, p.argmax(1), spec.labels)["ua"]

    report = {"manifest": str(Path(manifest).resolve()), "manifest_hash": manifest_hash(list(corpus)),
              "n": len(utts), "n_excluded": len(excluded) + len(scores.excluded), "prior_sd": prior_sd,
              "transcriber": scores.transcriber,
              "nll": {"equal_weights": mean_nll(equal, y), "calibrated": mean_nll(fitted, y),
                      "cross_fitted": mean_nll(crossed.probs, y)},
              "ua": {"equal_weights": ua(equal), "calibrated": ua(fitted), "cross_fitted": ua(crossed.probs)},
              "cross_fit": {"by": crossed.by, "folds": len(crossed.folds)}}
    w, t, nll = params.weights, params.temperatures, report["nll"]
    log(f"calibrated on {len(utts)} clips: weight audio {w['audio']:.2f} text {w['text']:.2f}, temperature "
        f"audio {t['audio']:.2f} text {t['text']:.2f}; NLL per clip {nll['equal_weights']:.3f} (equal) -> "
        f"{nll['calibrated']:.3f} (in-sample), {nll['cross_fitted']:.3f} cross-fitted over "
        f"{len(crossed.folds)} {crossed.by} folds")
    rows = {"manifest": report["manifest"], "manifest_hash": report["manifest_hash"], "labels": list(spec.labels),
            "member_labels": {r: list(spec.members[r].labels) for r in ROLES},
            "rows": [{"id": u.id, "speaker": u.speaker, "clip": key, "label": u.label,
                      **{r: [float(p) for p in scores.probs[r][i]] for r in ROLES}}
                     for i, (u, key) in enumerate(zip(utts, keys))]}
    calibrated = ComposedSpec(spec.root, spec.labels, spec.members, params, spec.transcriber,
                              spec.transcriber_config, report)
    return calibrated, rows
