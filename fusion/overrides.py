"""``--set SECTION.KEY=VALUE`` overrides: parsing them, and merging them into an experiment's config dict.

The commands (`fusion train` / `ablate` with :data:`EXPERIMENT_SECTIONS`, `fusion predict` / `serve`
with their own sections) and the benchmarks share these. Nothing heavy is imported here, so the
command line can list the sections in its help without importing torch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from .errors import ConfigError

EXPERIMENT_SECTIONS = {  # --set prefix -> ExperimentConfig dict field
    "acoustic": "acoustic_config", "text": "text_config", "transcriber": "transcriber_config",
    "speaker_norm": "speaker_norm",
    "head": "head_config", "unimodal": "unimodal_config", "train": "train", "recipe": "recipe_options",
    "augment": "augment",
}


def parse_value(raw: str):
    """A ``--set`` value: JSON when it parses ("3", "true", "[1, 2]", '"x"'), else the plain string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def parse_sets(items: Sequence[str], sections: Mapping[str, str]) -> dict[str, dict]:
    """("vad.max_segment=10", ...) -> {sections["vad"]: {"max_segment": 10}, ...}.

    ``sections`` maps each valid SECTION prefix to the key its options land under; only sections
    that occur are in the result. A malformed item or an unknown section is a ConfigError that
    lists the valid sections.
    """
    out: dict[str, dict] = {}
    for item in items:
        key, eq, raw = item.partition("=")
        section, dot, name = key.partition(".")
        if not eq or not dot or not name or section not in sections:
            raise ConfigError(f"--set {item!r}: expected SECTION.KEY=VALUE with SECTION one of "
                              f"{', '.join(sections)}")
        out.setdefault(sections[section], {})[name] = parse_value(raw)
    return out


def apply_sets(config: dict, sets: Sequence[str]) -> dict:
    """Merge ``--set SECTION.KEY=VALUE`` items into ``config``, an ExperimentConfig dict (the form of
    ``ExperimentConfig.to_dict()`` and of a run's config.toml), in place; returns it.

    A later item wins over an earlier one with the same key; the other keys of a section are kept.
    Bad items raise the ConfigError of :func:`parse_sets`; values are validated when the dict
    becomes an ExperimentConfig (``ExperimentConfig.from_dict``).
    """
    for target, values in parse_sets(tuple(sets), EXPERIMENT_SECTIONS).items():
        config.setdefault(target, {}).update(values)
    return config
