"""In-process plugins whose components misbehave: raise in featurize, output NaN, or transcribe slowly.

Registered like tests/fakes.py's plugin (``register_plugin(FaultyPlugin(), name="faulty")``), in
the test process or, for the kill tests, in a ``fusion`` subprocess (see RUNNER).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from fusion import hookimpl
from fusion.components import Encoded, Transcriber
from tests.fakes import FrameEnergyEncoder, HashBagEncoder

PLUGIN_NAME = "faulty"
FLAKY_MESSAGE = "flaky featurize blew up"
LOG_VARIABLE = "FAULTY_ASR_LOG"

# `python -c RUNNER ARGS...` = `fusion ARGS...` with the fake and faulty plugins registered
RUNNER = """
import sys
from fusion.plugins import register_plugin
from tests.fakes import FakePlugin
from tests.reliability.faulty_plugins import FaultyPlugin
register_plugin(FakePlugin(), name="fakes")
register_plugin(FaultyPlugin(), name="faulty")
from fusion.cli import main
main(sys.argv[1:])
"""


class FlakyEncoder(FrameEnergyEncoder):
    """The fake frame encoder, but featurize raises RuntimeError on clips longer than a limit."""

    name = "fake-flaky"

    @dataclass(frozen=True)
    class Config:
        dim: int = 16                  # output dimension
        fail_longer_than: float = 0.0  # seconds; featurize raises on longer clips (0: on every clip)

    def featurize(self, wav):
        if len(wav) / self.sample_rate > self.config.fail_longer_than:
            raise RuntimeError(FLAKY_MESSAGE)
        return super().featurize(wav)  # [T, 8]


class NaNEncoder(FrameEnergyEncoder):
    """The fake frame encoder whose trainable part outputs NaN: every loss is non-finite."""

    name = "fake-nan"

    def forward(self, feats, lengths):
        encoded = super().forward(feats, lengths)
        nan = torch.tensor(float("nan"))
        return Encoded(encoded.seq * nan, encoded.mask, encoded.pooled * nan)  # [B, T, D], [B, T], [B, D]


class FlakyBagEncoder(HashBagEncoder):
    """The fake bag-of-words encoder, but featurize raises ValueError on long transcripts."""

    name = "fake-flaky-text"

    @dataclass(frozen=True)
    class Config:
        dim: int = 16        # output dimension
        buckets: int = 64    # hash buckets
        max_chars: int = 200  # featurize raises on longer transcripts

    def featurize(self, text):
        if len(text) > self.config.max_chars:
            raise ValueError(f"transcript of {len(text)} characters")
        return super().featurize(text)  # [T]


class SlowTranscriber(Transcriber):
    """Takes ``delay`` seconds per clip and appends one line per clip to the file named by
    ``$FAULTY_ASR_LOG`` (counts calls across processes; `fusion transcribe` passes no options)."""

    name = "fake-slow-asr"

    @dataclass(frozen=True)
    class Config:
        delay: float = 0.25  # seconds per clip

    def __init__(self, config=None):
        self.config = config or self.Config()

    def transcribe(self, wav, sr):
        time.sleep(self.config.delay)
        if os.environ.get(LOG_VARIABLE):
            with open(os.environ[LOG_VARIABLE], "a") as f:
                f.write(f"{len(wav)}\n")
        return "slowly transcribed"


class FaultyPlugin:
    @hookimpl
    def register_acoustic_encoders(self, register):
        register("fake-flaky", FlakyEncoder)
        register("fake-nan", NaNEncoder)

    @hookimpl
    def register_text_encoders(self, register):
        register("fake-flaky-text", FlakyBagEncoder)

    @hookimpl
    def register_transcribers(self, register):
        register("fake-slow-asr", SlowTranscriber)


def calls(log: Path) -> int:
    """Clips the SlowTranscriber transcribed so far (0 when the log does not exist)."""
    return len(log.read_text().splitlines()) if log.exists() else 0


sys.modules.setdefault("tests.reliability.faulty_plugins", sys.modules[__name__])
