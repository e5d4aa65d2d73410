"""Scoring a composed model on a labelled corpus: both members, the pool, and each branch.

When the corpus holds clips the composition was calibrated on (the same manifest: same content hash
as recorded at compose time; or any clip whose audio content matches a calibration clip), the clips
are **cross-fitted** (:func:`fusion.runners.calibration.cross_fit`): no clip is scored by weights
fitted on it. The result says so (``composition.cross_fitted``, and a log line).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cache import file_hash_once
from ..data import Utterance, clip_set_hash, manifest_hash
from ..errors import LabelMismatchError
from ..labels import label_map_for, parse_label_list, select_labels
from ..model import EmotionModel
from ..recipes import Corpus
from ..training.device import select_device
from .calibration import PRIOR_SD, cross_fit
from .corpus import recipe_call
from .composed import ComposedSpec
from .product_of_experts import ROLES
from .scoring import evaluation_corpus, model_outputs, scored_metrics


@dataclass
class MemberScores:
    """Both members' outputs on the utterances both could score."""

    utterances: list[Utterance]
    probs: dict[str, np.ndarray]      # role -> [N, C_role], columns = that member's labels
    factors: dict[str, np.ndarray]    # role -> [N, K], columns = the composed model's labels
    excluded: dict[str, str]          # utterance id (or file) -> reason
    transcriber: str | None           # what made the text member's transcripts


def clip_keys(utterances: Sequence[Utterance]) -> list[str]:
    """Each clip's identity across manifests: the sha256 of its audio file (its id when it has none)."""
    return [file_hash_once(u.audio) if u.audio is not None and Path(u.audio).is_file() else f"id:{u.id}"
            for u in utterances]


def score_members(spec: ComposedSpec, corpus: Sequence[Utterance], dataset: str, data_dir=None,
                  dirs: Mapping[str, Path] | None = None, transcriber: str | None = None,
                  transcriber_config: dict | None = None, device: str | None = None, progress=None,
                  log: Callable[[str], None] = print) -> MemberScores:
    """Run both members (``dirs``: their directories, default the composed directory's copies) on
    ``corpus``. The text member reads ``transcriber``'s transcripts, else the one chosen at compose
    time, else its own; an utterance either member could not score is excluded."""
    dirs = dict(dirs or {r: spec.member_dir(r) for r in ROLES})
    if transcriber is None and spec.transcriber is not None:
        transcriber, transcriber_config = spec.transcriber, spec.transcriber_config
    skipped = {str(k) for k, _ in getattr(corpus, "skipped", ())}
    outs = {}
    for role in ROLES:
        model = EmotionModel.load(dirs[role]).to(select_device(device))
        outs[role] = model_outputs(model, corpus, dataset, data_dir, transcriber if role == "text" else None,
                                   transcriber_config if role == "text" else None, progress=progress, log=log)
    excluded: dict[str, str] = {}
    for role in ROLES:
        for key, reason in outs[role].excluded.items():
            excluded.setdefault(key, reason if key in skipped else f"{role} member: {reason}")
    rows = {r: {u.id: i for i, u in enumerate(outs[r].utterances)} for r in ROLES}
    utts = [u for u in outs["audio"].utterances if u.id in rows["text"]]
    probs = {r: outs[r].probs[[rows[r][u.id] for u in utts]] for r in ROLES}           # [N, C_r]
    return MemberScores(utts, probs, {r: spec.factors(r, probs[r]) for r in ROLES}, excluded,
                        outs["text"].transcriber)


def _calibration_overlap(spec: ComposedSpec, everything: Sequence[Utterance], keys: Sequence[str]) -> tuple[dict, str] | None:
    """(calibration rows, why) when the scored clips (content hashes ``keys``) include calibration
    clips; None otherwise (and for an uncalibrated model)."""
    doc = spec.calibration_rows()
    if doc is None:
        return None
    if doc["manifest_hash"] == manifest_hash(list(everything)):
        return doc, "it is the calibration manifest (same content hash as at compose time)"
    shared = set(keys) & {row["clip"] for row in doc["rows"]}
    if shared:
        return doc, f"{len(shared)} of its clips are calibration clips (same audio content)"
    return None


def evaluate_composed_dir(model_dir, dataset: str, data_dir=None, split: str | None = None,
                          label_map: dict | None = None, progress=None, log: Callable[[str], None] = print,
                          device: str | None = None, labels: Sequence[str] | None = None,
                          transcriber: str | None = None, recipe_options: dict | None = None,
                          transcriber_config: dict | None = None) -> dict:
    """Score a composed model directory on a corpus: the metrics of the pooled output, plus
    ``branches`` / ``fused_vs_best_branch`` (:mod:`.branches`), ``composition`` (weights,
    temperatures, whether and how clips were cross-fitted), ``transcriber`` and ``excluded``.

    Corpus labels are renamed to canonical ones (the recipe's map, then ``label_map``); without
    ``labels`` a corpus label outside the composed model's is a LabelMismatchError naming it; with
    ``labels`` (a subset of the model's) only those are scored and the decision restricted to them.
    ``recipe_options`` go to the dataset recipe; on a multi-corpus dataset ``per_corpus`` scores the
    pooled output on each corpus' clips."""
    spec = ComposedSpec.load(model_dir)
    options, label_map = recipe_call(dataset, recipe_options, label_map)
    everything, chosen = evaluation_corpus(dataset, data_dir, split, options)
    from ..plugins import get_component

    mapping = label_map_for(get_component("dataset", dataset).name, label_map)
    keep = list(parse_label_list(labels)) if labels is not None else list(spec.labels)
    lacking = [k for k in keep if k not in spec.labels]
    if lacking:
        raise LabelMismatchError(f"the composed model has no label(s) {', '.join(lacking)} "
                                 f"(its labels: {', '.join(spec.labels)})")
    if labels is None:
        unknown = sorted({mapping.get(u.label, u.label) for u in chosen} - set(spec.labels))
        if unknown:
            raise LabelMismatchError(f"labels {unknown} of dataset {dataset!r} are not among the composed model's "
                                     f"({', '.join(spec.labels)}); score the shared ones with --labels, or map "
                                     "them with --label-map")
    kept, left_out = select_labels(chosen, keep=keep, label_map=mapping)
    if left_out:
        log(f"{len(left_out)} utterance(s) left out: their labels are not among {', '.join(keep)} "
            "(the result's 'excluded' lists them)")
    scores = score_members(spec, Corpus(kept, [*chosen.skipped, *left_out.items()]), dataset, data_dir,
                           transcriber=transcriber, transcriber_config=transcriber_config, device=device,
                           progress=progress, log=log)
    utts = scores.utterances
    composition = {**spec.params.to_dict(), "calibrated": spec.calibration is not None, "cross_fitted": False,
                   "adapted": spec.adaptation is not None}
    if spec.adaptation is not None:
        same = spec.adaptation.get("clips_hash") == clip_set_hash(list(everything))
        composition["adapted_on_these_clips"] = same
        if same:
            log("label biases were adapted on these same clips (compose --adapt; their labels were not read)")
    keys = clip_keys(utts) if spec.calibration is not None else []  # audio hashes: only to find calibration clips
    overlap = _calibration_overlap(spec, everything, keys)
    if overlap is None:
        pooled, branches = spec.combine(scores.factors)                                 # [N, K], {role: [N, K]}
    else:
        doc, why = overlap
        cal = doc["rows"]
        cal_factors = {r: spec.factors(r, np.array([row[r] for row in cal])) for r in ROLES}
        cal_y = [spec.labels.index(row["label"]) for row in cal]
        fit = cross_fit(scores.factors, keys, [u.speaker for u in utts], cal_factors, cal_y,
                        [row["clip"] for row in cal], prior_sd=spec.calibration.get("prior_sd", PRIOR_SD))
        pooled, branches = fit.probs, fit.branches
        log(f"cross-fitting: {why}: {len(fit.folds)} folds over {fit.by}s, each clip scored by weights "
            "fitted without its fold")
        composition.update(cross_fitted=True, reason=why, by=fit.by,
                           folds=[{"n_scored": len(f["scored"]), "n_fitted_on": len(f["fitted_on"]), **f["params"]}
                                  for f in fit.folds])
    m = scored_metrics(utts, pooled, branches, spec.labels, keep, log)
    m.update(composition=composition, transcriber=scores.transcriber, excluded=scores.excluded)
    return m
