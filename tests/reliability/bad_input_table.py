"""THE table of bad inputs: how each is made, and what every entry point documents for it.

One :class:`Case` per kind of bad (or merely unusual) input. ``test_bad_input_matrix.py`` applies
every case to every entry point (``fusion.audio.load``, ``fusion prepare manifest``,
``fusion transcribe``, ``fusion ablate`` / ``fusion train``, ``fusion predict`` / ``predict_batch``)
and checks the outcome written here; ``docs/bad-input.md`` is rendered from this table:

    .venv/bin/python -m tests.reliability.bad_input_table   # rewrites docs/bad-input.md
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from fusion.audio import SilentAudioWarning
from fusion.errors import (
    AudioDecodeError,
    AudioFileNotFoundError,
    AudioTooShortError,
    EmptyAudioError,
    LabelMismatchError,
    NonFiniteAudioError,
)
from tests.conftest import ROOT, tone

DOC = ROOT / "docs" / "bad-input.md"
SENTENCE = "i feel furious today"   # the transcript of every row that is not about transcripts
ENTRY_POINTS = ("load", "prepare", "transcribe", "corpus", "predict")


# ----------------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class Raises:
    """``fusion.audio.load`` raises ``error``; its message names the file and contains ``fragment``."""

    error: type
    fragment: str


@dataclass(frozen=True)
class Loads:
    """``fusion.audio.load`` returns float32 mono 16 kHz audio of ``seconds`` (after ``handling``)."""

    handling: str                 # what the loader does, for the docs
    seconds: float = 1.0          # duration of the returned audio
    warning: type | None = None   # warning category the loader emits


@dataclass(frozen=True)
class Reported:
    """An entry point reports the input with its reason and goes on with the others
    (prepare: skipped; transcribe: error row; ablate/train: excluded; predict: per-input error)."""

    fragment: str | None = None   # the reason contains it (None: the loader's fragment)


@dataclass(frozen=True)
class Accepted:
    """An entry point uses the input (prepare: kept; transcribe: transcribed; ablate/train:
    trained and tested on; predict: predicted)."""

    note: str = ""                # for the docs
    warning: str | None = None    # a per-input warning containing this (predict)


REPORTED, ACCEPTED = Reported(), Accepted()


@dataclass(frozen=True)
class Case:
    name: str                                  # test id, and the utterance id in the manifests
    what: str                                  # the input, for the docs
    make: Callable[[Path], Path]               # writes the input below a folder -> its path
    load: Raises | Loads
    prepare: Reported | Accepted
    transcribe: Reported | Accepted
    corpus: Reported | Accepted
    predict: Reported | Accepted
    label: str | None = None                   # manifest label (None: assigned round-robin)
    transcript: str = SENTENCE                 # manifest transcript
    row_case: bool = False                     # the manifest row is the problem, not the audio
    evaluate: Raises | None = None             # `fusion evaluate` on it with a model lacking its label
    slow: bool = False

    def outcome(self, entry: str) -> Raises | Loads | Reported | Accepted:
        return getattr(self, entry)

    def fragment(self, entry: str) -> str:
        """The reason an entry point reports for this input (its own fragment, else the loader's)."""
        own = self.outcome(entry)
        return own.fragment if isinstance(own, Reported) and own.fragment else self.load.fragment


# ----------------------------------------------------------------------------- inputs


def _wav_bytes(seconds: float = 1.0, fmt: str = "WAV") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, tone(seconds), 16000, format=fmt, subtype="PCM_16")
    return buf.getvalue()


def _bytes(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path], Path]:
    def make(root: Path) -> Path:
        (root / name).write_bytes(data() if callable(data) else data)
        return root / name
    return make


def _first_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _audio(name: str, data: Callable[[], np.ndarray], sr: int = 16000, subtype: str = "PCM_16"):
    def make(root: Path) -> Path:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), data(), sr, subtype=subtype)
        return path
    return make


def _tone_with(value: float, every: int = 100) -> np.ndarray:
    """A 1 s tone whose every ``every``-th sample is ``value``."""
    wav = tone(1.0)
    wav[::every] = value
    return wav


def _directory(root: Path) -> Path:
    (root / "folder.wav").mkdir()
    return root / "folder.wav"


def _unreadable(root: Path) -> Path:
    path = _audio("locked.wav", lambda: tone(1.0))(root)
    path.chmod(0)
    return path


def _missing(root: Path) -> Path:
    return root / "gone" / "missing.wav"


def _random(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).bytes(n)


def _good(name: str) -> Callable[[Path], Path]:
    return _audio(name, lambda: tone(1.0, freq=330.0))


# ----------------------------------------------------------------------------- the table

DECODE = Accepted("the header is fine; decoding reports it")
LONG_TEXT = (SENTENCE + " ") * (10_000 // (len(SENTENCE) + 1)) + "x" * (10_000 % (len(SENTENCE) + 1))

CASES: tuple[Case, ...] = (
    Case("empty-file", "0-byte file `empty.wav`", _bytes("empty.wav", b""),
         Raises(EmptyAudioError, "empty file (0 bytes)"), REPORTED, REPORTED, REPORTED, REPORTED),
    Case("zero-length-audio", "valid WAV header, 0 frames", _audio("zero.wav", lambda: np.zeros((0, 1), np.float32)),
         Raises(EmptyAudioError, "audio has no samples"), DECODE, REPORTED, REPORTED, REPORTED),
    Case("header-only-wav", "the 44-byte header of a 1 s WAV, no data",
         _bytes("header-only.wav", lambda: _wav_bytes()[:44]),
         Raises(AudioDecodeError, "truncated WAV"), DECODE, REPORTED, REPORTED, REPORTED),
    Case("truncated-wav", "WAV cut in the middle of its data",
         _bytes("truncated.wav", lambda: _first_half(_wav_bytes())),
         Raises(AudioDecodeError, "truncated WAV"), DECODE, REPORTED, REPORTED, REPORTED),
    Case("corrupt-wav", "RIFF/WAVE magic followed by random bytes",
         _bytes("corrupt.wav", lambda: _wav_bytes()[:12] + _random(5000, 1)),
         Raises(AudioDecodeError, "not a readable audio file"), REPORTED, REPORTED, REPORTED, REPORTED),
    Case("truncated-flac", "FLAC cut in the middle of its frames",
         _bytes("truncated.flac", lambda: _first_half(_wav_bytes(fmt="FLAC"))),
         Raises(AudioDecodeError, "not a readable audio file"), DECODE, REPORTED, REPORTED, REPORTED),
    Case("corrupt-flac", "FLAC stream header followed by random bytes",
         _bytes("corrupt.flac", lambda: _wav_bytes(fmt="FLAC")[:42] + _random(8000, 2)),
         Raises(AudioDecodeError, "not a readable audio file"), REPORTED, REPORTED, REPORTED, REPORTED),
    Case("text-file-named-wav", "a text file called `notes.wav`", _bytes("notes.wav", b"not audio at all\n" * 40),
         Raises(AudioDecodeError, "not a readable audio file"), REPORTED, REPORTED, REPORTED, REPORTED),
    Case("directory-named-wav", "a directory called `folder.wav`", _directory,
         Raises(AudioDecodeError, "is a directory"), REPORTED, REPORTED, REPORTED, REPORTED),
    Case("unreadable-file", "a WAV with mode 000 (permission denied)", _unreadable,
         Raises(AudioDecodeError, "permission denied"), REPORTED, REPORTED, REPORTED, REPORTED),
    Case("nan-samples", "float WAV with 10 NaN samples",
         _audio("nan.wav", lambda: _tone_with(np.nan, 1600), subtype="FLOAT"),
         Raises(NonFiniteAudioError, "NaN/Inf samples"), DECODE, REPORTED, REPORTED, REPORTED),
    Case("inf-samples", "float WAV with 10 +Inf samples",
         _audio("inf.wav", lambda: _tone_with(np.inf, 1600), subtype="FLOAT"),
         Raises(NonFiniteAudioError, "NaN/Inf samples"), DECODE, REPORTED, REPORTED, REPORTED),
    Case("garbage-floats", "float WAV with samples of 3e20 (garbage data, finite)",
         _audio("garbage.wav", lambda: _tone_with(3e20), subtype="FLOAT"),
         Raises(AudioDecodeError, "far outside [-1, 1]"), DECODE, REPORTED, REPORTED, REPORTED),
    Case("silence", "1 s of digital silence (all zeros)", _audio("silence.wav", lambda: np.zeros(16000, np.float32)),
         Loads("returned as is, with a warning", warning=SilentAudioWarning), ACCEPTED,
         Accepted("Whisper transcribers return \"\" without decoding"), ACCEPTED,
         Accepted(warning="audio is silent")),
    Case("clip-0.05s", "a 0.05 s clip", _audio("short.wav", lambda: tone(0.05)),
         Raises(AudioTooShortError, "shorter than the minimum 0.1 s"), DECODE, REPORTED, REPORTED, REPORTED),
    Case("rate-8k", "8 kHz WAV", _audio("8k.wav", lambda: tone(1.0, 8000), 8000),
         Loads("resampled 8 kHz -> 16 kHz"), ACCEPTED, ACCEPTED, ACCEPTED,
         Accepted(warning="8000 Hz (narrowband)")),
    Case("rate-44.1k", "44.1 kHz WAV", _audio("44k.wav", lambda: tone(1.0, 44100), 44100),
         Loads("resampled 44.1 kHz -> 16 kHz"), ACCEPTED, ACCEPTED, ACCEPTED, ACCEPTED),
    Case("rate-48k", "48 kHz FLAC", _audio("48k.flac", lambda: tone(1.0, 48000), 48000),
         Loads("resampled 48 kHz -> 16 kHz"), ACCEPTED, ACCEPTED, ACCEPTED, ACCEPTED),
    Case("stereo", "stereo WAV", _audio("stereo.wav", lambda: tone(1.0, channels=2)),
         Loads("mixed down to mono (channel mean)"), ACCEPTED, ACCEPTED, ACCEPTED, ACCEPTED),
    Case("six-channel", "5.1 (6-channel) WAV", _audio("surround.wav", lambda: tone(1.0, channels=6)),
         Loads("mixed down to mono (channel mean)"), ACCEPTED, ACCEPTED, ACCEPTED, ACCEPTED),
    Case("int16", "16-bit PCM", _audio("pcm16.wav", lambda: tone(1.0), subtype="PCM_16"),
         Loads("scaled to float32 in [-1, 1]"), ACCEPTED, ACCEPTED, ACCEPTED, ACCEPTED),
    Case("int32", "32-bit PCM", _audio("pcm32.wav", lambda: tone(1.0), subtype="PCM_32"),
         Loads("scaled to float32 in [-1, 1]"), ACCEPTED, ACCEPTED, ACCEPTED, ACCEPTED),
    Case("float64", "64-bit float WAV", _audio("double.wav", lambda: tone(1.0), subtype="DOUBLE"),
         Loads("converted to float32"), ACCEPTED, ACCEPTED, ACCEPTED, ACCEPTED),
    Case("ten-minutes", "a 10-minute recording", _audio("ten-minutes.wav", lambda: tone(600.0)),
         Loads("decoded whole", seconds=600.0), ACCEPTED, ACCEPTED, ACCEPTED,
         Accepted("split at pauses: a timeline plus a whole-file summary"), slow=True),
    Case("unicode-and-spaces", "`dír with spaces/ünïcødé clip №1.wav`",
         _good("dír with spaces/ünïcødé clip №1.wav"),
         Loads("decoded as is"), ACCEPTED, ACCEPTED, ACCEPTED, ACCEPTED),
    Case("missing-file", "a manifest row pointing at a missing file", _missing,
         Raises(AudioFileNotFoundError, "file not found"), Reported("audio file not found"),
         Reported("No such file or directory"), Reported("audio file not found"), REPORTED),
    Case("unknown-label", "a manifest row labelled `surprised` (unknown to the model)", _good("surprised.wav"),
         Loads("decoded as is"), ACCEPTED, ACCEPTED, Accepted("a class of its own: labels come from the corpus"),
         Accepted("the manifest's labels are not used"), label="surprised", row_case=True,
         evaluate=Raises(LabelMismatchError, "unknown to the model")),
    Case("empty-transcript", "a manifest row with an empty transcript", _good("empty-transcript.wav"),
         Loads("decoded as is"), Accepted("without a transcript: an empty cell means none"),
         Accepted("`-t gold` gives \"\""), Reported("has no gold transcript"),
         Accepted("the empty string is encoded"), transcript="", row_case=True),
    Case("long-transcript", "a manifest row with a 10,000-character transcript", _good("long-transcript.wav"),
         Loads("decoded as is"), ACCEPTED, Accepted("`-t gold` gives it unchanged"),
         Accepted("text encoders truncate to their token limit"), ACCEPTED, transcript=LONG_TEXT, row_case=True),
)
BY_NAME = {case.name: case for case in CASES}


# ----------------------------------------------------------------------------- docs

HEADER = """# Bad input: what every entry point does

Generated from `tests/reliability/bad_input_table.py` (the table `tests/reliability/test_bad_input_matrix.py`
checks against every entry point); do not edit by hand: run
`.venv/bin/python -m tests.reliability.bad_input_table` after changing the table.

Columns: **load** = `fusion.audio.load(path)` (errors are `fusion.errors` classes whose message starts
with the file's path); **prepare** = `fusion prepare manifest FILE` (skipped files are listed with
their reason, plus one `warning:` line); **transcribe** = `fusion transcribe MANIFEST` (one row per
utterance, failed ones with an `error` field; exit status 1 when any failed); **ablate / train** =
`fusion ablate` and `fusion train` (`--transcriber gold`) on a corpus holding the input (reasons in `results.json` /
`metrics.json` `"excluded"`, keyed by utterance id or, for files the recipe could not parse, by
path; the other utterances are trained on); **predict** = `fusion predict MODEL ...` and
`fusion.load(MODEL).predict_batch(...)` (a per-input error; the others are predicted; exit status 1
when any failed). Nothing is dropped silently, and no entry point shows a traceback: the CLI prints
per-input errors and at most one `error:` line.

"""


def _quote(text: str) -> str:
    return f"\u201c{text}\u201d"


def cell_of(raises: Raises) -> str:
    return f"`{raises.error.__name__}` {_quote(raises.fragment)}"


def cell(case: Case, entry: str) -> str:
    outcome = case.outcome(entry)
    if isinstance(outcome, Raises):
        return cell_of(outcome)
    if isinstance(outcome, Loads):
        return outcome.handling + (f" (`{outcome.warning.__name__}`)" if outcome.warning else "")
    if isinstance(outcome, Reported):
        verb = {"prepare": "skipped", "transcribe": "error row", "corpus": "excluded",
                "predict": "error"}[entry]
        return f"{verb}: {_quote(case.fragment(entry))}"
    verb = {"prepare": "kept", "transcribe": "transcribed", "corpus": "trained on", "predict": "predicted"}[entry]
    text = verb + (f" ({outcome.note})" if outcome.note else "") \
        + (f", with the warning {_quote(outcome.warning)}" if outcome.warning else "")
    if entry == "corpus" and case.evaluate is not None:
        text += f"; `fusion evaluate` with a model lacking it: {cell_of(case.evaluate)}"
    return text


def render() -> str:
    rows = ["| input | load | prepare | transcribe | ablate / train | predict |",
            "|---|---|---|---|---|---|"]
    for case in CASES:
        name = case.what + (" *(slow test)*" if case.slow else "")
        rows.append("| " + " | ".join([name, *(cell(case, e).replace("|", "\\|") for e in ENTRY_POINTS)]) + " |")
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {DOC}", file=sys.stderr)
