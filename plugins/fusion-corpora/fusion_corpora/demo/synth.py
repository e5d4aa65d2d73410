"""Rendering one demo clip: espeak-ng speech, silence padding, recording gain, background noise."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import soundfile as sf

from fusion.audio import resample
from fusion.errors import DatasetError

from .prosody import TILT_FREQ, EspeakSettings

SAMPLE_RATE = 16000
NOISE_KINDS = ("white", "rumble")  # rumble: white noise low-passed at RUMBLE_CUTOFF
RUMBLE_CUTOFF = 500.0              # Hz
MIN_SECONDS = 1.5
MAX_SECONDS = 5.0
AUDIO_FORMAT = ("OGG", "VORBIS")   # soundfile format/subtype of the committed clips
AUDIO_SUFFIX = ".ogg"
VORBIS_COMPRESSION = 0.6           # soundfile compression_level (0 best quality .. 1 smallest)


class SynthesisError(DatasetError):
    """espeak-ng is missing or failed on a demo clip."""


@dataclass(frozen=True)
class Recording:
    """How a clip is 'recorded' after synthesis (stored in the manifest)."""

    lead_s: float    # silence before the speech, seconds
    tail_s: float    # silence after the speech, seconds
    gain_db: float   # recording level applied to the speech
    noise: str       # one of NOISE_KINDS
    snr_db: float    # speech-to-noise ratio over the whole clip


def espeak_binary() -> str | None:
    """Path of espeak-ng (or espeak), None when neither is installed."""
    return shutil.which("espeak-ng") or shutil.which("espeak")


def espeak_version() -> str:
    exe = espeak_binary()
    if exe is None:
        return "not installed"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False).stdout
    # "eSpeak NG text-to-speech: 1.51  Data at: ..." -> "eSpeak NG 1.51"
    head = out.split("Data at")[0].replace("text-to-speech:", "")
    return " ".join(head.split())


def speak(text: str, settings: EspeakSettings) -> np.ndarray:
    """espeak-ng speech for ``text`` -> float32 mono [S] at SAMPLE_RATE."""
    exe = espeak_binary()
    if exe is None:
        raise SynthesisError("demo generator: espeak-ng is not installed "
                             "(apt-get install espeak-ng); the committed demo data needs no synthesiser")
    ssml = f'<speak><prosody range="{settings.range}">{escape(text)}</prosody></speak>'
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        cmd = [exe, "-m", "-v", settings.voice, "-p", str(settings.pitch), "-s", str(settings.rate),
               "-a", str(settings.amplitude), "-g", str(settings.word_gap), "-w", str(out), ssml]
        run = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if run.returncode != 0 or not out.exists():
            raise SynthesisError(f"demo generator: espeak-ng failed on {text!r} with voice "
                                 f"{settings.voice!r}: {run.stderr.strip() or run.returncode}")
        data, sr = sf.read(str(out), dtype="float32")  # [S]
    return resample(trim_silence(data), sr, SAMPLE_RATE)


def trim_silence(speech: np.ndarray, floor: float = 1e-4) -> np.ndarray:
    """Drop the leading and trailing digital silence of clean synthesiser output [S] -> [S'].

    With SSML input espeak-ng ends every text with a sentence pause (``-z`` is ignored) that
    grows with slow speech; the recording step adds its own, seeded, padding instead.
    """
    voiced = np.flatnonzero(np.abs(speech) > floor)
    if voiced.size == 0:
        raise SynthesisError("demo generator: espeak-ng produced only silence")
    return speech[voiced[0]:voiced[-1] + 1]


def tilt(speech: np.ndarray, gain_db: float) -> np.ndarray:
    """High-shelf filter at TILT_FREQ: [S] -> [S] with ``gain_db`` more (or less) treble."""
    import torch
    import torchaudio.functional as AF

    if gain_db == 0:
        return speech
    out = AF.treble_biquad(torch.from_numpy(speech)[None], SAMPLE_RATE, gain_db, central_freq=TILT_FREQ)  # [1, S]
    return out[0].numpy()


def record(speech: np.ndarray, rec: Recording, noise_seed: tuple[int, ...]) -> np.ndarray:
    """Pad, apply gain, add noise at ``rec.snr_db`` -> float32 [S] in [-1, 1]."""
    import torch
    import torchaudio.functional as AF

    if rec.noise not in NOISE_KINDS:
        raise ValueError(f"demo recording: unknown noise {rec.noise!r}; valid choices: {', '.join(NOISE_KINDS)}")
    lead = int(round(rec.lead_s * SAMPLE_RATE))
    tail = int(round(rec.tail_s * SAMPLE_RATE))
    total = max(lead + speech.size + tail, int(MIN_SECONDS * SAMPLE_RATE))
    if total > MAX_SECONDS * SAMPLE_RATE:  # drop padding before giving up
        total = max(speech.size, int(MAX_SECONDS * SAMPLE_RATE))
        lead = min(lead, (total - speech.size) // 2)
    clean = np.zeros(total, dtype=np.float32)  # [S]
    clean[lead:lead + speech.size] = speech * np.float32(10 ** (rec.gain_db / 20))

    rng = np.random.default_rng(list(noise_seed))
    noise = torch.from_numpy(rng.standard_normal(total).astype(np.float32))  # [S]
    if rec.noise == "rumble":
        noise = AF.lowpass_biquad(noise, SAMPLE_RATE, RUMBLE_CUTOFF)
    mixed = AF.add_noise(torch.from_numpy(clean)[None], noise[None],
                         torch.tensor([rec.snr_db], dtype=torch.float32))[0]  # [S]
    peak = float(mixed.abs().max())
    if peak > 0.99:  # keep the mix inside the 16-bit range
        mixed = mixed * (0.99 / peak)
    return mixed.numpy().astype(np.float32)


def write_clip(path: Path, wav: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt, subtype = AUDIO_FORMAT
    sf.write(str(path), wav, SAMPLE_RATE, format=fmt, subtype=subtype, compression_level=VORBIS_COMPRESSION)
