"""The error hierarchy of fusion.

Every error a user can trigger derives from :class:`FusionError`. The CLI prints
``error: <message>`` on one line and exits non-zero; it never shows a traceback
for these. Messages name the component (file, plugin, dataset) and, where there
is a finite set of valid choices, list them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class FusionError(Exception):
    """Base class of every error fusion raises on purpose."""


class ConfigError(FusionError, ValueError):
    """A configuration value is invalid (unknown field, wrong type, out of range)."""


class UnknownComponentError(FusionError, KeyError):
    """A component name (encoder, transcriber, head, dataset...) is not registered."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        choices = ", ".join(self.valid) if self.valid else "(none registered)"
        super().__init__(f"unknown {kind} {name!r}; valid choices: {choices}")

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.args[0]


class DuplicateComponentError(FusionError):
    """Two plugins registered the same component name for one kind."""


class PluginError(FusionError):
    """A plugin failed to import, register, or run."""


class AudioError(FusionError):
    """An audio input cannot be used. ``path`` names the file when there is one."""

    def __init__(self, message: str, path: str | Path | None = None):
        self.path = None if path is None else str(path)
        self.reason = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class AudioFileNotFoundError(AudioError, FileNotFoundError):
    """The audio file does not exist."""


class AudioDecodeError(AudioError):
    """The file is not audio, is corrupt, truncated or has no readable header."""


class EmptyAudioError(AudioError):
    """The audio has zero samples."""


class AudioTooShortError(AudioError):
    """The audio is shorter than the configured minimum duration."""


class NonFiniteAudioError(AudioError):
    """The audio contains NaN or Inf samples."""


class SilentAudioError(AudioError):
    """The audio is all (digital) silence and ``on_silence='error'`` was asked for."""


class DatasetError(FusionError):
    """A corpus layout or manifest cannot be parsed."""


class TranscriptionError(FusionError):
    """A speech-to-text backend failed on an input."""


class TrainingError(FusionError):
    """Training cannot continue (e.g. repeated non-finite losses, empty split)."""


class CheckpointError(FusionError):
    """A model directory or checkpoint is missing, corrupt or incompatible."""


class LabelMismatchError(FusionError):
    """A model is evaluated on data whose labels it does not know."""
