"""Long inputs read piece by piece: a level envelope in one streamed pass, then segment by segment.

:class:`FileSource` never holds the whole recording: :meth:`~FileSource.levels` reads the file
in blocks (``soundfile.SoundFile.blocks``) and keeps one RMS value per hop, and
:meth:`~FileSource.read` seeks to a segment and decodes only its frames. Memory is bounded by
the block size and the longest segment, whatever the file's length. :class:`ArraySource` gives
the same interface over an array already in memory.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf

from .. import audio as audio_io
from ..cache import file_hash
from ..errors import AudioDecodeError, EmptyAudioError, NonFiniteAudioError
from .segmentation import frame_levels_db

BLOCK_SECONDS = 10.0  # seconds decoded per block while computing the envelope


def _frame_levels(mono: np.ndarray, hop_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """mono [S] -> (dB levels of the complete hops [F], leftover samples [< hop_frames])."""
    n = len(mono) // hop_frames * hop_frames
    return frame_levels_db(mono[:n].reshape(-1, hop_frames)), mono[n:]  # [F], [r]


class FileSource:
    """An audio file read in blocks (envelope) and by segment (decoding)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.info = audio_io.info(self.path)  # raises AudioError naming the file
        if self.info.frames == 0:
            raise EmptyAudioError("audio has no samples", self.path)
        self._hash: str | None = None

    @property
    def duration(self) -> float:
        return self.info.duration

    @property
    def sample_rate(self) -> int:
        return self.info.sample_rate

    def content_hash(self) -> str:
        """sha256 of the file (computed once; identifies segments in the transcript cache)."""
        if self._hash is None:
            self._hash = file_hash(self.path)
        return self._hash

    def levels(self, hop: float) -> np.ndarray:
        """Frame RMS in dBFS [F], one per ``hop`` seconds, from one streamed pass over the file."""
        hop_frames = max(1, round(hop * self.sample_rate))
        block = max(hop_frames, int(BLOCK_SECONDS * self.sample_rate) // hop_frames * hop_frames)
        out, rest = [], np.zeros(0, dtype=np.float32)
        try:
            with sf.SoundFile(str(self.path)) as f:
                for data in f.blocks(blocksize=block, dtype="float32", always_2d=True):  # [b, C]
                    mono = data.mean(axis=1)                                             # [b]
                    if not np.isfinite(mono).all():
                        raise NonFiniteAudioError("audio contains NaN/Inf samples", self.path)
                    levels, rest = _frame_levels(np.concatenate([rest, mono]), hop_frames)
                    out.append(levels)
        except sf.LibsndfileError as exc:
            raise AudioDecodeError(f"cannot decode ({exc})", self.path) from exc
        if len(rest):
            out.append(frame_levels_db(rest[None, :]))  # the last, partial hop
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def read(self, start: float, end: float, target_sr: int = audio_io.TARGET_SR) -> np.ndarray:
        """Seconds [start, end) -> float32 mono [S] at ``target_sr`` (only those frames are decoded)."""
        first = max(0, int(round(start * self.sample_rate)))
        count = min(self.info.frames, int(round(end * self.sample_rate))) - first
        try:
            with sf.SoundFile(str(self.path)) as f:
                f.seek(first)
                data = f.read(count, dtype="float32", always_2d=True)  # [count, C]
        except RuntimeError as exc:  # LibsndfileError and seek failures
            raise AudioDecodeError(f"cannot decode {start:.2f}-{end:.2f} s ({exc})", self.path) from exc
        return audio_io.validate(data, self.sample_rate, path=self.path, target_sr=target_sr,
                                 on_silence="ignore")

    def segment_key(self, start: float, end: float) -> str:
        """What identifies the audio of one segment (content hash + frame range)."""
        first, last = round(start * self.sample_rate), round(end * self.sample_rate)
        return f"{self.content_hash()}#{first}-{last}"


class ArraySource:
    """A recording already in memory: float32 mono [S] at ``sample_rate``."""

    def __init__(self, wav: np.ndarray, sample_rate: int = audio_io.TARGET_SR):
        self.wav, self.sample_rate = wav, sample_rate

    @property
    def duration(self) -> float:
        return len(self.wav) / self.sample_rate

    def levels(self, hop: float) -> np.ndarray:
        hop_frames = max(1, round(hop * self.sample_rate))
        levels, rest = _frame_levels(self.wav, hop_frames)
        return np.concatenate([levels, frame_levels_db(rest[None, :])]) if len(rest) else levels

    def read(self, start: float, end: float, target_sr: int = audio_io.TARGET_SR) -> np.ndarray:
        piece = self.wav[int(round(start * self.sample_rate)):int(round(end * self.sample_rate))]
        return audio_io.resample(np.ascontiguousarray(piece), self.sample_rate, target_sr)

    def segment_key(self, start: float, end: float) -> None:
        return None  # arrays are transcribed directly, not cached
