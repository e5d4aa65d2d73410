"""Config checks shared by the encoders: each raises ConfigError naming the component and the option."""

from __future__ import annotations

from collections.abc import Iterable

from fusion.errors import ConfigError


def check_choice(where: str, option: str, value: object, choices: Iterable[str]) -> None:
    """``value`` must be one of ``choices``."""
    choices = sorted(choices)
    if value not in choices:
        raise ConfigError(f"{where}: {option}={value!r} is not valid; valid choices: {', '.join(choices)}")


def check_int(where: str, minimum: int, **values: int) -> None:
    """Every keyword value must be an integer >= ``minimum``."""
    for option, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(f"{where}: {option} must be an integer >= {minimum}, got {value!r}")


def check_positive(where: str, **values: float) -> None:
    """Every keyword value must be a number > 0."""
    for option, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ConfigError(f"{where}: {option} must be a number > 0, got {value!r}")


def check_fraction(where: str, **values: float) -> None:
    """Every keyword value must lie in [0, 1)."""
    for option, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise ConfigError(f"{where}: {option} must be in [0, 1), got {value!r}")
