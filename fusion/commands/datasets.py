"""Repeatable ``--dataset`` / ``--data-dir``: several corpora given on the command line become one
multi-corpus dataset (the ``multi`` recipe of fusion-corpora).

``--dataset ravdess --data-dir A --dataset demo`` trains on both: each ``--data-dir`` belongs to the
``--dataset`` just before it, a ``--dataset`` without one reads the recipe's default folder. One
``--dataset`` (with at most one ``--data-dir``, in any order) behaves exactly as it always did.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from ..errors import ConfigError

MULTI_DATASET = "multi"  # the recipe several --dataset options become
_ORDER = "fusion.option_order"  # ctx.meta key: the names of the options in the order they were given


class OrderedOptionsCommand(click.Command):
    """A click command that records the order of its options in ``ctx.meta`` (click keeps each
    repeated option's values in order, but not how two options interleave)."""

    def make_parser(self, ctx: click.Context):
        parser = super().make_parser(ctx)
        parse = parser.parse_args

        def parse_in_order(args):
            opts, rest, order = parse(args)
            ctx.meta[_ORDER] = [param.name for param in order]
            return opts, rest, order

        parser.parse_args = parse_in_order
        return parser


def dataset_parts(datasets: Sequence[str], data_dirs: Sequence[str], order: Sequence[str]) -> list[str]:
    """The ``multi`` recipe's parts (``NAME`` or ``NAME=DIR``) of several ``--dataset`` options;
    ``order``: the option names as given (``dataset`` / ``data_dir`` and others, ignored)."""
    parts: list[list[str]] = []
    names, dirs = iter(datasets), iter(data_dirs)
    for option in order:
        if option == "dataset":
            parts.append([next(names)])
        elif option == "data_dir":
            folder = next(dirs)
            if not parts:
                raise ConfigError(f"--data-dir {folder} comes before any --dataset: with several --dataset "
                                  "options, give each --data-dir right after its --dataset")
            if len(parts[-1]) > 1:
                raise ConfigError(f"--dataset {parts[-1][0]} has two --data-dir ({parts[-1][1]}, {folder}); "
                                  "repeat --dataset for another folder")
            parts[-1].append(folder)
    return ["=".join(p) for p in parts]


def dataset_options(datasets: Sequence[str], data_dirs: Sequence[str]) -> dict:
    """ExperimentConfig overrides of the ``--dataset`` / ``--data-dir`` options of the current command:
    ``{"dataset", "data_dir"}`` for at most one ``--dataset`` (unset ones None), ``{"parts": [...]}``
    for several (:func:`dataset_parts`)."""
    datasets, data_dirs = list(datasets or ()), list(data_dirs or ())
    if len(datasets) <= 1:
        if len(data_dirs) > 1:
            raise ConfigError(f"{len(data_dirs)} --data-dir options for "
                              + (f"one --dataset ({datasets[0]})" if datasets else "no --dataset")
                              + "; give one --dataset per folder")
        return {"dataset": datasets[0] if datasets else None, "data_dir": data_dirs[0] if data_dirs else None}
    order = click.get_current_context().meta.get(_ORDER)
    if order is None:  # not an OrderedOptionsCommand: the pairing cannot be known
        raise ConfigError("several --dataset options need a command that records their order")
    return {"parts": dataset_parts(datasets, data_dirs, order)}


def apply_parts(config: dict, parts: list[str], sets: Sequence[str]) -> dict:
    """Turn ExperimentConfig dict ``config`` into a multi-corpus one reading ``parts``, in place."""
    if any(item.partition("=")[0].strip() == "recipe.parts" for item in sets):
        raise ConfigError("the corpora are given twice: by several --dataset options and by --set recipe.parts; "
                          "use one of them")
    config["dataset"] = MULTI_DATASET
    config.pop("data_dir", None)
    config["recipe_options"] = {**config.get("recipe_options", {}), "parts": list(parts)}
    return config
