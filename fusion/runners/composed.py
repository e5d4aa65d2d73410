"""A composed model directory: what ``fusion compose`` writes, and reading it back.

A composed model pools an audio-only and a text-only model (:mod:`.product_of_experts`). Its
directory is **self-contained**: the two member directories are copied inside, so it can be moved,
archived or served on its own, and retraining a member later does not change it silently (the
member's original path is recorded as ``source``, for reference only)::

    DIR/compose.json       the composition (below)
    DIR/audio/             copy of the audio model's directory (model.pt, config.toml, model.json, ...)
    DIR/text/              copy of the text model's directory
    DIR/calibration.json   with --calibrate: each calibration clip's id, speaker, audio content hash,
                           label and both members' probabilities (what cross-fitting refits on)

``compose.json``::

    {"format": 1, "kind": "composed", "labels": [output labels, canonical],
     "members": {"audio": {"dir": "audio", "source": "/path/it/was/copied/from", "mode": "audio",
                           "labels": [the model's labels], "recipe": "ravdess",
                           "label_map": {model label: canonical label}}, "text": {...}},
     "weights": {"audio": 1.0, "text": 1.0}, "temperatures": {"audio": 1.0, "text": 1.0},
     "transcriber": null | {"name": NAME, "config": {...}},   # the text member's speech-to-text, if chosen
     "calibration": null | {"manifest", "manifest_hash", "n", "prior_sd", "nll", "cross_fitted_nll", ...},
     "biases": {"audio": [b per output label], "text": [...]},   # only with --adapt
     "adaptation": null | {"manifest", "clips_hash", "n", "transcriber", "mean_before", "mean_after"}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import CheckpointError, ConfigError, LabelMismatchError, UnknownComponentError
from ..labels import CANONICAL, label_map_for
from .product_of_experts import ROLES, PoolParams, branch_probs, expert_factors, modelled_labels, pool

COMPOSE_FILE = "compose.json"
CALIBRATION_FILE = "calibration.json"
FORMAT = 1


def is_composed(model_dir) -> bool:
    """Whether ``model_dir`` is a composed model (holds ``compose.json``)."""
    return (Path(model_dir) / COMPOSE_FILE).is_file()


@dataclass(frozen=True)
class MemberSpec:
    """One expert of a composed model."""

    role: str                          # "audio" | "text"
    dir: str                           # its directory, relative to the composed directory
    labels: tuple[str, ...]            # the model's own labels
    label_map: dict[str, str]          # model label -> canonical label (labels with a canonical name)
    recipe: str | None = None          # the dataset recipe it was trained on (None: unknown)
    source: str | None = None          # where it was copied from
    mode: str = ""

    def to_dict(self) -> dict:
        return {"dir": self.dir, "source": self.source, "mode": self.mode, "labels": list(self.labels),
                "recipe": self.recipe, "label_map": dict(self.label_map)}


def member_label_map(model_dir, labels: Sequence[str]) -> tuple[str | None, dict[str, str]]:
    """(recipe, model label -> canonical label) of a trained model directory: the map of the recipe
    named in its ``config.toml`` with the run's own ``label_map`` over it (fusion.labels); without a
    config, canonical labels map to themselves. Labels with no canonical name are left out."""
    from ..experiment import ExperimentConfig
    from ..plugins import get_component

    recipe, custom = None, {}
    if (Path(model_dir) / "config.toml").is_file():
        cfg = ExperimentConfig.from_toml(model_dir)
        custom = cfg.label_map
        try:
            component = get_component("dataset", cfg.dataset)
            recipe = component.name  # the registered name, not an alias
            if component.meta.get("maps_labels"):  # multi: its labels are canonical already, map applied
                custom = {}
        except UnknownComponentError:
            recipe = cfg.dataset
    mapping = label_map_for(recipe, custom) if recipe else {}
    out = {}
    for label in labels:
        target = mapping.get(label, label)
        if target in CANONICAL:
            out[label] = target
    return recipe, out


def default_output_labels(members: Mapping[str, MemberSpec]) -> tuple[str, ...]:
    """The canonical labels both members model (sorted); ConfigError when fewer than two."""
    shared = set.intersection(*(set(m.label_map.values()) for m in members.values()))
    if len(shared) < 2:
        described = "; ".join(f"{r}: {', '.join(sorted(set(m.label_map.values()))) or '(none)'}"
                              for r, m in members.items())
        raise LabelMismatchError(f"the members share {len(shared)} canonical label(s) ({described}); "
                                 "choose the output labels with --labels L1,L2,...")
    return tuple(sorted(shared))


def check_output_labels(labels: Sequence[str], members: Mapping[str, MemberSpec]) -> None:
    """Every output label is modelled by at least one member, and each member models one of them."""
    if len(labels) < 2:
        raise ConfigError(f"a composed model needs at least 2 output labels, got {list(labels)}")
    modelled = {r: modelled_labels(m.labels, m.label_map, labels) for r, m in members.items()}
    neither = [k for k in labels if not any(k in s for s in modelled.values())]
    if neither:
        raise LabelMismatchError(f"output label(s) {', '.join(neither)} modelled by neither member (audio: "
                                 f"{', '.join(members['audio'].labels)}; text: {', '.join(members['text'].labels)})")
    for role, s in modelled.items():
        if not s:
            raise LabelMismatchError(f"the {role} member models none of the output labels {', '.join(labels)} "
                                     f"(its labels: {', '.join(members[role].labels)})")


@dataclass(frozen=True)
class ComposedSpec:
    """A composed model: output labels, its two members, and the pooling parameters."""

    root: Path
    labels: tuple[str, ...]
    members: dict[str, MemberSpec]
    params: PoolParams = field(default_factory=PoolParams)
    transcriber: str | None = None
    transcriber_config: dict = field(default_factory=dict)
    calibration: dict | None = None
    adaptation: dict | None = None     # fusion compose --adapt: the unlabelled clips the biases were fitted on

    def member_dir(self, role: str) -> Path:
        return self.root / self.members[role].dir

    def modelled(self, role: str) -> list[str]:
        m = self.members[role]
        return modelled_labels(m.labels, m.label_map, self.labels)

    def notes(self) -> list[str]:
        """One line per output label a member does not model (it contributes a uniform factor)."""
        out = []
        for role in ROLES:
            lacking = [k for k in self.labels if k not in self.modelled(role)]
            if lacking:
                out.append(f"the {role} member does not model {', '.join(lacking)}: it contributes a uniform "
                           f"factor (1/{len(self.modelled(role))}) for {'it' if len(lacking) == 1 else 'them'}")
        return out

    def factors(self, role: str, probs) -> np.ndarray:
        """A member's probabilities ``[N, C]`` -> its factors ``[N, K]`` over the output labels."""
        m = self.members[role]
        return expert_factors(probs, m.labels, m.label_map, self.labels)

    def combine(self, factors: Mapping[str, np.ndarray], params: PoolParams | None = None
                ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Members' factors -> (pooled ``[N, K]``, {role: calibrated branch ``[N, K]``})."""
        params = params or self.params
        k = len(self.labels)
        return pool(factors, params), {r: branch_probs(factors[r], params.temperatures[r], params.bias(r, k))
                                       for r in ROLES}

    def to_dict(self) -> dict:
        return {"format": FORMAT, "kind": "composed", "labels": list(self.labels),
                "members": {r: self.members[r].to_dict() for r in ROLES}, **self.params.to_dict(),
                "transcriber": None if self.transcriber is None else {"name": self.transcriber,
                                                                      "config": dict(self.transcriber_config)},
                "calibration": self.calibration, "adaptation": self.adaptation}

    @classmethod
    def load(cls, model_dir) -> "ComposedSpec":
        root = Path(model_dir)
        path = root / COMPOSE_FILE
        if not path.is_file():
            raise CheckpointError(f"{path} not found (expected a composed model directory written by `fusion compose`)")
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if doc.get("format") != FORMAT or doc.get("kind") != "composed":
                raise ConfigError(f"format {doc.get('format')!r} / kind {doc.get('kind')!r}; expected "
                                  f"format {FORMAT}, kind 'composed'")
            members = {r: MemberSpec(r, str(m["dir"]), tuple(m["labels"]), dict(m["label_map"]), m.get("recipe"),
                                     m.get("source"), m.get("mode", r)) for r, m in doc["members"].items()}
            if set(members) != set(ROLES):
                raise ConfigError(f"members {sorted(members)}; expected {', '.join(ROLES)}")
            t = doc.get("transcriber")
            spec = cls(root, tuple(doc["labels"]), members, PoolParams.from_dict(doc),
                       None if t is None else str(t["name"]), dict(t.get("config", {})) if t else {},
                       doc.get("calibration"), doc.get("adaptation"))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ConfigError) as exc:
            reason = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise CheckpointError(f"{path}: not a valid composed model ({reason})") from exc
        check_output_labels(spec.labels, spec.members)
        wrong = {r: len(b) for r, b in spec.params.biases.items() if len(b) != len(spec.labels)}
        if wrong:
            raise CheckpointError(f"{path}: not a valid composed model (biases of {wrong} entries for "
                                  f"{len(spec.labels)} output labels)")
        for role in ROLES:
            if not (spec.member_dir(role) / "model.pt").is_file():
                raise CheckpointError(f"{path}: the {role} member {spec.member_dir(role)} has no model.pt")
        return spec

    def calibration_rows(self) -> dict | None:
        """``calibration.json`` (None for an uncalibrated model)."""
        if self.calibration is None:
            return None
        path = self.root / CALIBRATION_FILE
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{path}: cannot read the calibration rows ({exc})") from exc
