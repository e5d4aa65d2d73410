"""fusion.progress: bars only on a terminal, quiet logs, the epoch bar."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import struct
import termios
import subprocess
import sys

import pytest

from fusion.progress import EpochBar, epoch_summary, is_terminal, progress_bars, stderr_log


class FakeBar:
    def __init__(self, total, desc, unit):
        self.total, self.desc, self.unit = total, desc, unit
        self.n, self.postfix, self.closed = 0, "", False

    def update(self, n=1):
        self.n += n

    def set_postfix_str(self, text):
        self.postfix = text

    def close(self):
        self.closed = True


class FakeFactory:
    def __init__(self):
        self.bars: list[FakeBar] = []

    def __call__(self, total, desc, unit="it"):
        self.bars.append(FakeBar(total, desc, unit))
        return self.bars[-1]


def open_terminal(columns: int = 0, rows: int = 0):
    """(stream writing to a pseudo-terminal of that reported size, read() -> what it received, close())."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    stream = os.fdopen(slave, "w", encoding="utf-8", buffering=1)

    def read() -> str:
        stream.flush()
        chunks = []
        os.set_blocking(master, False)
        while True:
            try:
                chunk = os.read(master, 65536)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", "replace")

    def close():
        stream.close()
        os.close(master)

    return stream, read, close


@pytest.fixture
def terminal():
    stream, read, close = open_terminal(100, 30)
    yield stream, read
    close()


def test_no_bars_on_a_file_or_pipe_or_when_quiet(terminal):
    assert progress_bars(stream=io.StringIO()) is None
    stream, _ = terminal
    assert is_terminal(stream)
    assert progress_bars(quiet=True, stream=stream) is None
    assert progress_bars(stream=stream) is not None


def test_no_bars_when_stderr_is_redirected():
    """The default stream is stderr at call time: under pytest's capture it is not a terminal."""
    assert not is_terminal(sys.stderr) or pytest.skip("stderr is a terminal here")
    assert progress_bars() is None


@pytest.mark.parametrize("columns, rows", [(100, 30), (0, 0), (100, 0)])
def test_a_bar_draws_on_a_terminal_even_one_reporting_a_zero_size(columns, rows):
    """Some ptys (script, editors, CI runners) report 0 columns or rows: tqdm alone would draw nothing."""
    stream, read, close = open_terminal(columns, rows)
    try:
        bar = progress_bars(stream=stream)(total=4, desc="features (fake)", unit="clip")
        bar.update(2)
        bar.close()
        out = read()
    finally:
        close()
    assert "features (fake)" in out and "0/4" in out and "\r" in out


def test_the_log_is_plain_lines_off_a_terminal_and_quiet_keeps_warnings_and_errors():
    out = io.StringIO()
    log = stderr_log(stream=out)
    log("acoustic features (fake): 3 computed")
    log("warning: 1 utterance(s) could not be scored")
    assert out.getvalue() == "acoustic features (fake): 3 computed\nwarning: 1 utterance(s) could not be scored\n"
    quiet_out = io.StringIO()
    quiet = stderr_log(quiet=True, stream=quiet_out)
    for line in ("training audio model: 3 train", "  epoch   1  loss 0.1", "Warning: low UA", "error: boom"):
        quiet(line)
    assert quiet_out.getvalue() == "Warning: low UA\nerror: boom\n"


def test_the_log_writes_above_an_active_bar(terminal):
    stream, read = terminal
    bar = progress_bars(stream=stream)(total=3, desc="transcribe", unit="clip")
    read()
    stderr_log(stream=stream)("transcripts: 3 transcribed")
    out = read()
    bar.close()
    assert "transcripts: 3 transcribed\n" in out.replace("\r\n", "\n")
    assert out.rstrip().endswith("]")  # the bar was redrawn after the line


def test_epoch_bar_ticks_per_epoch_and_restarts_for_a_refit():
    factory = FakeFactory()
    with EpochBar(factory, epochs=5, desc="train audio") as on_epoch:
        on_epoch({"epoch": 1, "train_loss": 1.5, "val_ua": 0.4})
        on_epoch({"epoch": 2, "train_loss": 1.25, "val_ua": 0.5})
        first = factory.bars[0]
        assert (first.total, first.desc, first.unit, first.n) == (5, "train audio", "epoch", 2)
        assert first.postfix == "loss 1.2500 val UA 0.500"
        on_epoch({"epoch": 1, "train_loss": 1.0})  # the refit starts over
    assert first.closed and len(factory.bars) == 2
    refit = factory.bars[1]
    assert (refit.desc, refit.n, refit.postfix, refit.closed) == ("train audio (refit)", 1, "loss 1.0000", True)


def test_epoch_bar_without_a_factory_does_nothing():
    on_epoch = EpochBar(None, epochs=3)
    on_epoch({"epoch": 1, "train_loss": 0.5})
    on_epoch.close()
    assert on_epoch.bar is None


def test_epoch_summary_leaves_out_a_missing_validation():
    assert epoch_summary({"epoch": 3, "train_loss": 0.25, "val_ua": None}) == "loss 0.2500"


def test_the_module_imports_no_torch():
    code = "import sys, fusion.progress; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
