"""pluggy hook specifications: the extension points of fusion.

A plugin is any module (or object) with functions decorated by ``fusion.hookimpl``
whose names match the specs below. Each ``register_*`` hook receives a
``register`` callable::

    register(name, target, *, aliases=(), description="", **meta)

``target`` is the component class (or, for datasets, the ``prepare`` function), or a
``"package.module:attr"`` string that is imported only when the component is used, so
that ``fusion plugins`` stays fast and a plugin's heavy dependencies load lazily.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("fusion")
hookimpl = pluggy.HookimplMarker("fusion")


@hookspec
def register_acoustic_encoders(register):
    """Register acoustic encoders (``fusion.components.AcousticEncoder`` subclasses)."""


@hookspec
def register_text_encoders(register):
    """Register text encoders (``fusion.components.TextEncoder`` subclasses)."""


@hookspec
def register_transcribers(register):
    """Register speech-to-text backends (``fusion.components.Transcriber`` subclasses)."""


@hookspec
def register_fusion_heads(register):
    """Register fusion heads (``fusion.heads.FusionHead`` subclasses)."""


@hookspec
def register_datasets(register):
    """Register corpus recipes: ``prepare(data_dir, **options) -> list[Utterance]``.

    Useful ``meta``: ``protocol`` ("speaker" | "session" | "predefined", the default
    fold protocol), ``default_dir`` (a bundled corpus needs no ``--data-dir``).
    """


@hookspec
def register_commands(cli):
    """Add click commands to the ``fusion`` CLI group ``cli``."""
