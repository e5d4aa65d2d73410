"""The audio channel of the demo corpus: speakers and emotional prosody as espeak-ng settings.

Each speaker is an espeak-ng voice with its own base pitch, pitch range and rate. An emotion
shifts these (and loudness, the gap between words and the spectral tilt, a stand-in for vocal
effort) by an amount scaled by a per-clip ``strength``; a *flat* clip keeps the speaker's
neutral settings. Small random jitter on every clip, and speakers whose base pitches overlap
the emotional shifts, keep the voice an imperfect cue under speaker-independent evaluation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .draw import Draw


@dataclass(frozen=True)
class Speaker:
    id: str        # speaker id in the manifest ("s01")
    voice: str     # espeak-ng voice + variant ("en-us+m3")
    pitch: int     # base pitch, espeak -p (0-99, default 50)
    range: int     # base pitch range, SSML <prosody range> absolute value (0-100, default 50)
    rate: int      # base rate, espeak -s (words per minute, default 175)


SPEAKERS: tuple[Speaker, ...] = (
    Speaker("s01", "en-us+m1", 42, 50, 165),
    Speaker("s02", "en-gb+f2", 58, 55, 160),
    Speaker("s03", "en-us+m3", 36, 45, 170),
    Speaker("s04", "en-gb+f1", 50, 50, 155),
    Speaker("s05", "en-gb-scotland+m2", 46, 55, 160),
    Speaker("s06", "en-us+f3", 62, 45, 168),
    Speaker("s07", "en-gb-x-rp+m4", 40, 55, 158),
    Speaker("s08", "en-gb+f4", 54, 50, 170),
    Speaker("s09", "en-us+m7", 48, 45, 162),
    Speaker("s10", "en-us+f2", 56, 50, 165),
)


@dataclass(frozen=True)
class EmotionShift:
    """How one emotion moves the voice away from the speaker's neutral settings (strength 1)."""

    pitch: int        # added to espeak -p
    range: int        # added to the pitch range
    rate: float       # multiplies the words per minute
    amplitude: float  # multiplies espeak -a (100 = default loudness)
    word_gap: int     # espeak -g, pause between words in 10 ms units
    tilt_db: float    # high-shelf gain above TILT_FREQ: vocal effort (+ tense/bright, - lax/dark)


SHIFTS: dict[str, EmotionShift] = {
    "neutral": EmotionShift(pitch=0, range=0, rate=1.0, amplitude=1.0, word_gap=0, tilt_db=0.0),
    "happy": EmotionShift(pitch=20, range=40, rate=1.12, amplitude=1.2, word_gap=0, tilt_db=3.0),
    "sad": EmotionShift(pitch=-15, range=-35, rate=0.78, amplitude=0.55, word_gap=5, tilt_db=-9.0),
    "angry": EmotionShift(pitch=8, range=15, rate=1.20, amplitude=1.8, word_gap=0, tilt_db=9.0),
}

STRENGTH = (0.7, 1.0)     # per-clip strength of an expressed emotion, uniform
JITTER_PITCH = 4          # +- espeak pitch units on every clip
JITTER_RANGE = 8          # +- range units on every clip
JITTER_RATE = 0.05        # +- relative rate on every clip
JITTER_AMPLITUDE = 0.08   # +- relative loudness on every clip
JITTER_TILT = 1.5         # +- dB of spectral tilt on every clip
TILT_FREQ = 1500.0        # Hz, centre of the high-shelf filter that sets the spectral tilt


@dataclass(frozen=True)
class EspeakSettings:
    """The exact espeak-ng arguments of one clip (stored in the manifest)."""

    voice: str      # -v
    pitch: int      # -p
    range: int      # <prosody range="...">
    rate: int       # -s
    amplitude: int  # -a
    word_gap: int   # -g

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ClipVoice:
    """How one clip is voiced: espeak-ng settings, spectral tilt, emotional strength."""

    espeak: EspeakSettings
    tilt_db: float    # high-shelf gain (dB) applied to the synthesised speech at TILT_FREQ
    strength: float   # 0 for a flat (neutral) voice, else in STRENGTH

    def to_dict(self) -> dict:
        return {"espeak": self.espeak.to_dict(), "tilt_db": self.tilt_db, "strength": self.strength}


def clip_voice(speaker: Speaker, emotion: str, expressive: bool, draw: Draw) -> ClipVoice:
    """The voice of one clip: the emotion's shift (if ``expressive``) plus per-clip jitter."""
    if emotion not in SHIFTS:
        raise ValueError(f"demo prosody: unknown emotion {emotion!r}; valid choices: {', '.join(SHIFTS)}")
    shift = SHIFTS[emotion] if expressive else SHIFTS["neutral"]
    strength = round(draw.uniform(*STRENGTH), 2) if expressive and emotion != "neutral" else 0.0
    pitch = speaker.pitch + strength * shift.pitch + draw.uniform(-JITTER_PITCH, JITTER_PITCH)
    prange = speaker.range + strength * shift.range + draw.uniform(-JITTER_RANGE, JITTER_RANGE)
    rate = speaker.rate * (1 + strength * (shift.rate - 1)) * (1 + draw.uniform(-JITTER_RATE, JITTER_RATE))
    amplitude = 100 * (1 + strength * (shift.amplitude - 1)) * (1 + draw.uniform(-JITTER_AMPLITUDE, JITTER_AMPLITUDE))
    gap = strength * shift.word_gap
    tilt = strength * shift.tilt_db + draw.uniform(-JITTER_TILT, JITTER_TILT)
    settings = EspeakSettings(
        voice=speaker.voice,
        pitch=_clamp(round(pitch), 0, 99),
        range=_clamp(round(prange), 0, 100),
        rate=_clamp(round(rate), 80, 400),
        amplitude=_clamp(round(amplitude), 10, 200),
        word_gap=_clamp(round(gap), 0, 50),
    )
    return ClipVoice(settings, round(tilt, 1), strength)


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))
