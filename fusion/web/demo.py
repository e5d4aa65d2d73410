"""What the web demo does, without HTTP: uploaded audio bytes -> a prediction document (or an error).

One :class:`~fusion.inference.Predictor` (or :class:`~fusion.inference.EnsemblePredictor`) is built at
start-up and shared by all requests; a lock
runs one prediction at a time (the model, the transcriber and the transcript cache are not meant
for concurrent use, and the machine this runs on is small). Every problem with an upload (empty,
too large, not audio, too short, a text model without a transcript) becomes ``(4xx, {"error": ...})``
with a message naming the uploaded file, never a crash.
"""

from __future__ import annotations

import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

from ..audio import AUDIO_EXTENSIONS
from ..errors import AudioDecodeError, ConfigError, FusionError
from ..inference import EnsemblePredictor, Predictor

READABLE = "WAV, FLAC, OGG/Vorbis, AIFF or MP3 (the page's Record button makes WAV)"
NAME_LIMIT = 120  # characters of an uploaded file's name kept in messages


@dataclass(frozen=True)
class Reply:
    status: int   # HTTP status
    body: dict    # JSON document


def _display_name(name: str | None) -> str:
    name = Path(name or "upload").name.strip() or "upload"
    return name[:NAME_LIMIT]


class Demo:
    """A warm model directory answering uploads."""

    @dataclass(frozen=True)
    class Config:
        max_upload_mb: float = 50.0  # larger request bodies are refused (413)
        warmup: bool = True          # run one prediction on noise at start-up (loads lazy models)

    def __init__(self, predictor: Predictor | EnsemblePredictor, config: "Demo.Config | None" = None):
        self.predictor = predictor
        self.config = config or self.Config()
        if self.config.max_upload_mb <= 0:
            raise ConfigError(f"web demo: max_upload_mb must be > 0, got {self.config.max_upload_mb}")
        self.lock = threading.Lock()
        if self.config.warmup and not self.needs_transcript:
            predictor.warmup()

    @property
    def needs_transcript(self) -> bool:
        """A text/fused model with no speech-to-text: each upload needs its transcript typed in."""
        return self.predictor.needs_transcript

    @property
    def max_bytes(self) -> int:
        return int(self.config.max_upload_mb * 1024 * 1024)

    def info(self) -> dict:
        p = self.predictor
        return {"model": p.name, "mode": p.mode, "labels": list(p.labels),
                "transcriber": p.transcriber.name if p.transcriber is not None else None,
                "needs_transcript": self.needs_transcript, "long_threshold": p.config.long_threshold,
                "max_upload_mb": self.config.max_upload_mb}

    def predict(self, data: bytes, name: str | None = None, transcript: str | None = None) -> Reply:
        """Audio file bytes (any format soundfile reads) -> Reply with the prediction or the error."""
        shown = _display_name(name)
        if not data:
            return Reply(400, {"error": f"{shown}: the upload is empty; choose an audio file or record one"})
        if len(data) > self.max_bytes:
            return Reply(413, {"error": f"{shown}: {len(data) / 1e6:.1f} MB is more than the "
                                        f"{self.config.max_upload_mb:g} MB this demo accepts"})
        transcript = (transcript or "").strip() or None
        if self.needs_transcript and transcript is None:
            return Reply(422, {"error": f"model {self.predictor.name} ({self.predictor.mode}) has no "
                                        "speech-to-text: type the transcript of the clip, or restart "
                                        "`fusion serve` with --transcriber NAME"})
        suffix = Path(shown).suffix.lower()
        suffix = suffix if suffix in AUDIO_EXTENSIONS else ".audio"  # soundfile reads the header anyway
        with tempfile.TemporaryDirectory(prefix="fusion-demo-") as folder:
            path = Path(folder) / f"upload{suffix}"
            path.write_bytes(data)
            try:
                with self.lock:
                    prediction = self.predictor.predict(path, transcript=transcript)
            except FusionError as exc:
                return Reply(422, {"error": self._message(str(exc), path, shown, exc)})
            except Exception as exc:  # noqa: BLE001 - a bug: keep serving, say so
                traceback.print_exc()
                return Reply(500, {"error": f"{shown}: internal error ({type(exc).__name__}: {exc})"})
        if not prediction.ok:
            return Reply(422, {"error": self._message(prediction.error, path, shown)})
        doc = prediction.to_dict()
        doc["id"] = doc["file"] = shown
        doc["warnings"] = [w.replace(str(path), shown) for w in doc["warnings"]]
        return Reply(200, {"model": self.predictor.name, "mode": self.predictor.mode,
                           "labels": list(self.predictor.labels), "prediction": doc})

    @staticmethod
    def _message(message: str, path: Path, shown: str, exc: BaseException | None = None) -> str:
        message = message.replace(str(path), shown)
        if not message.startswith(shown):
            message = f"{shown}: {message}"
        if isinstance(exc, AudioDecodeError) or "not a readable audio file" in message:
            message += f". Readable formats: {READABLE}"
        return message
