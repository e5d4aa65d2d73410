"""The predictor options shared by `fusion predict` and `fusion serve` (``--set`` parsing: fusion.overrides)."""

from __future__ import annotations

from collections.abc import Callable

import click

from ..overrides import parse_sets

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


def transcriber_options(transcriber: str | None, sets: tuple[str, ...]) -> dict | None:
    """The options ``--set transcriber.KEY=VALUE`` give ``--transcriber`` (None without any); a
    ConfigError when they are given without naming the transcriber they configure."""
    from ..errors import ConfigError

    options = parse_sets(tuple(sets), {"transcriber": "transcriber_config"}).get("transcriber_config")
    if options and transcriber is None:
        raise ConfigError("--set transcriber.KEY=VALUE configures --transcriber: name the transcriber too")
    return options


def build_predictor(model_dir, transcriber: str | None, sets: tuple[str, ...], ensemble_with: tuple = ()):
    """The Predictor the predictor options describe (a ComposedPredictor for a composed directory);
    with ``ensemble_with`` (more model dirs) an EnsemblePredictor of ``model_dir`` and those, every
    member built with the same options."""
    from ..inference import EnsemblePredictor, load

    options = parse_sets(tuple(sets), PREDICTOR_SECTIONS)
    if ensemble_with:
        return EnsemblePredictor([model_dir, *ensemble_with], transcriber=transcriber, **options)
    return load(model_dir, transcriber=transcriber, **options)


QUIET_HELP = ("no progress bars and no progress lines: only warnings, errors and the result (bars are drawn "
              "only when stderr is a terminal anyway)")


def quiet_option(f):
    """``-q/--quiet`` (train, evaluate, ablate, transcribe, predict); see fusion.progress."""
    return click.option("-q", "--quiet", is_flag=True, help=QUIET_HELP)(f)
