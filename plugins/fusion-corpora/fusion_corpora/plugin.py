"""Hook implementations of this plugin."""

from fusion import hookimpl  # noqa: F401
