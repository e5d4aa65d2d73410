"""Progress bars and info lines of long work, made in one place for every command.

A *progress factory* is a callable ``progress(total=N, desc="...", unit="it")`` that returns a bar
with ``update(n)``, ``set_postfix_str(text)`` and ``close()``. The library's long loops take one as
``progress=`` (featurization, transcription, training epochs through :class:`EpochBar`, prediction)
and draw nothing when it is None.

* :func:`progress_bars` is tqdm on stderr when stderr is a terminal, else None: a log file
  (``2>log``, a pipe, a CI job) never holds a bar or a carriage return.
* :func:`stderr_log` prints the info lines of a run (``log=`` of the runners) above any bar;
  quiet, it keeps only the lines that start with ``warning`` or ``error``.

The commands' ``--quiet`` is ``progress_bars(quiet=True)`` + ``stderr_log(quiet=True)``: no bars,
only warnings, errors and the command's result. This module imports no torch.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

ProgressFactory = Callable[..., Any]  # progress(total=, desc=, unit=) -> bar (update, set_postfix_str, close)
KEPT_WHEN_QUIET = ("warning", "error")  # prefixes of the log lines --quiet still prints
FALLBACK_SIZE = (80, 24)  # (columns, rows) for a terminal reporting 0 of either (some ptys): tqdm would draw nothing


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is an interactive terminal (False for files, pipes, closed or fake streams)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _reported_size(stream: TextIO) -> tuple[int, int]:
    """(columns, rows) the terminal reports; (0, 0) when it reports nothing."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, ValueError, OSError):
        return 0, 0
    return size.columns, size.lines


def progress_bars(quiet: bool = False, stream: TextIO | None = None) -> ProgressFactory | None:
    """tqdm bars on ``stream`` (default: stderr at the time of the call) when it is a terminal and not
    ``quiet``; else None. Bars are cleared when they close (the run's info line sums them up)."""
    stream = sys.stderr if stream is None else stream
    if quiet or not is_terminal(stream):
        return None
    from tqdm import tqdm

    columns, rows = _reported_size(stream)
    if columns > 0 and rows > 0:
        size = {"dynamic_ncols": True}  # follows a resized window
    else:
        size = {"ncols": columns or FALLBACK_SIZE[0], "nrows": rows or FALLBACK_SIZE[1]}

    def progress(total: int, desc: str, unit: str = "it"):
        return tqdm(total=total, desc=desc, unit=unit, leave=False, file=stream, **size)

    return progress


def stderr_log(quiet: bool = False, stream: TextIO | None = None) -> Callable[[str], None]:
    """A ``log(line)`` writing to ``stream`` (default: stderr at the time of each call), above any active
    bar; with ``quiet`` only lines starting with ``warning`` or ``error`` (any case) are written."""
    def log(line: str) -> None:
        if quiet and not line.lstrip().lower().startswith(KEPT_WHEN_QUIET):
            return
        out = sys.stderr if stream is None else stream
        if is_terminal(out):
            from tqdm import tqdm

            tqdm.write(line, file=out)  # clears the bars, writes the line, redraws them
        else:
            print(line, file=out, flush=True)

    return log


class EpochBar:
    """``on_epoch`` for :func:`fusion.training.trainer.train`: one tick per finished epoch, with the
    epoch's training loss (and validation UA) as the bar's postfix. A no-op without a factory.

    A refit after early stopping restarts the epoch count: the bar then starts again, as
    ``"<desc> (refit)"``. Use it as a context manager (or call :meth:`close`)."""

    def __init__(self, progress: ProgressFactory | None, epochs: int, desc: str = "train"):
        self.progress, self.epochs, self.desc = progress, epochs, desc
        self.bar = progress(total=epochs, desc=desc, unit="epoch") if progress else None
        self.last_epoch = 0

    def __call__(self, row: dict) -> None:
        if self.bar is None:
            return
        if row["epoch"] <= self.last_epoch:  # a second _fit: the refit on train + validation
            self.bar.close()
            self.bar = self.progress(total=self.epochs, desc=f"{self.desc} (refit)", unit="epoch")
        self.last_epoch = row["epoch"]
        self.bar.update(1)
        self.bar.set_postfix_str(epoch_summary(row))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> "EpochBar":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def epoch_summary(row: dict) -> str:
    """``"loss 0.4213 val UA 0.612"`` for a training-curve row (no validation part without one)."""
    text = f"loss {row['train_loss']:.4f}"
    if row.get("val_ua") is not None:
        text += f" val UA {row['val_ua']:.3f}"
    return text
