"""Option parsing shared by the commands: ``--set SECTION.KEY=VALUE`` and the predictor options."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import click

from ..errors import ConfigError


def parse_value(raw: str):
    """A ``--set`` value: JSON when it parses ("3", "true", "[1, 2]", '"x"'), else the plain string."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def parse_sets(items: tuple[str, ...], sections: Mapping[str, str]) -> dict[str, dict]:
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


PREDICTOR_SECTIONS = {"predict": "config", "vad": "vad", "transcriber": "transcriber_config"}


def predictor_options(transcriber_help: str) -> Callable:
    """``-t/--transcriber`` and ``--set predict.|vad.|transcriber.KEY=VALUE``, as `fusion predict` and
    `fusion serve` take them."""
    def decorate(f):
        f = click.option("--set", "sets", multiple=True, metavar="SECTION.KEY=VALUE",
                         help="predictor / VAD / transcriber option, e.g. --set predict.long_threshold=30 "
                              "--set vad.max_segment=10 --set transcriber.model=PATH")(f)
        return click.option("-t", "--transcriber", default=None, help=transcriber_help)(f)
    return decorate


def build_predictor(model_dir, transcriber: str | None, sets: tuple[str, ...], ensemble_with: tuple = ()):
    """The Predictor the predictor options describe (a ComposedPredictor for a composed directory);
    with ``ensemble_with`` (more model dirs) an EnsemblePredictor of ``model_dir`` and those, every
    member built with the same options."""
    from ..inference import EnsemblePredictor, load

    options = parse_sets(tuple(sets), PREDICTOR_SECTIONS)
    if ensemble_with:
        return EnsemblePredictor([model_dir, *ensemble_with], transcriber=transcriber, **options)
    return load(model_dir, transcriber=transcriber, **options)
