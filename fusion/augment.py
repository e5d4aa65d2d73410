"""Waveform augmentation: perturbed copies of training clips as extra training items.

* :func:`augment_waveform` changes speed (``torchaudio.functional.speed``) and adds noise at a
  random SNR (``torchaudio.functional.add_noise``): white noise, or with ``noise_dir`` a random
  excerpt of a recording from that folder (:class:`NoiseBank`: MUSAN noise, babble, room tone),
  looped to the clip's length. Every random choice comes from the caller's ``numpy`` generator,
  so runs are reproducible.
* :class:`AugmentConfig` is the ``augment`` section of an experiment (``--set augment.copies=1``):
  ``copies`` perturbed copies of every *training* clip are featurized through the acoustic encoder
  (:func:`fusion.features.augmented_acoustic_features`, cached under their own keys, never as the
  clip's features) and added to the training items of the audio and fused modes; validation and
  test items are never augmented. Copy ``c`` of clip ``id`` is drawn from :func:`copy_rng`
  ``(seed, id, c)`` alone, so it is the same in every fold, process and rerun.
* ``text_copies`` (``--set augment.text_copies=1``) adds ASR-style noisy copies of the training
  *transcripts* to the training items of the text and fused modes: each copy is the clip's transcript
  through :func:`fusion.text_noise.asr_noise` at ``text_wer`` (the other ``text_*`` options are the
  fields of :class:`~fusion.text_noise.TextNoiseConfig`), featurized by the text encoder
  (:func:`fusion.features.augmented_text_features`, cached by the noisy text's hash). Text copy ``c``
  of clip ``id`` is drawn from ``copy_rng(seed, id, c, stream=TEXT_STREAM)``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from .errors import ConfigError
from .registry import check_options
from .text_noise import TextNoiseConfig

TEXT_NOISE_OPTIONS = tuple(f.name for f in dataclasses.fields(TextNoiseConfig))  # augment.text_<option>
TEXT_STREAM = 1  # copy_rng stream of the text copies (0: the waveform copies)


def _number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float))


@dataclass(frozen=True)
class WaveformAugmentConfig:
    """What :func:`augment_waveform` may do to a training clip."""

    where: ClassVar[str] = "waveform augmentation"  # names the config in errors

    noise_prob: float = 0.5                       # probability of adding white noise
    snr_db: tuple[float, float] = (10.0, 30.0)    # noise SNR range (dB), drawn uniformly
    speed_prob: float = 0.5                       # probability of a speed change
    speeds: tuple[float, ...] = (0.9, 1.1)        # speed factors, one drawn uniformly
    noise_dir: str | None = None                  # folder of noise recordings drawn from; None: white noise

    def __post_init__(self):
        where = self.where
        if self.noise_dir is not None:
            if not isinstance(self.noise_dir, (str, Path)) or not str(self.noise_dir).strip():
                raise ConfigError(f"{where}: noise_dir must be a folder path, got {self.noise_dir!r}")
            object.__setattr__(self, "noise_dir", str(self.noise_dir))
        for option in ("noise_prob", "speed_prob"):
            value = getattr(self, option)
            if not _number(value) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"{where}: {option} must be in [0, 1], got {value!r}")
        for option in ("snr_db", "speeds"):  # lists (TOML, --set) are stored as tuples
            if isinstance(getattr(self, option), list):
                object.__setattr__(self, option, tuple(getattr(self, option)))
        snr = self.snr_db
        if not isinstance(snr, tuple) or len(snr) != 2 or not all(_number(x) for x in snr) or not snr[0] <= snr[1]:
            raise ConfigError(f"{where}: snr_db must be (low, high) with low <= high, got {snr!r}")
        speeds = self.speeds
        if not isinstance(speeds, tuple) or not speeds or any(not _number(s) or not s > 0 for s in speeds):
            raise ConfigError(f"{where}: speeds must be a non-empty list of factors > 0, got {speeds!r}")
        # floats throughout: equal configs give equal cache keys (JSON writes 20 and 20.0 differently)
        for option in ("noise_prob", "speed_prob"):
            object.__setattr__(self, option, float(getattr(self, option)))
        object.__setattr__(self, "snr_db", tuple(float(x) for x in snr))
        object.__setattr__(self, "speeds", tuple(float(x) for x in speeds))


def augment_waveform(wav: Tensor | np.ndarray, sr: int, rng: np.random.Generator | int | None = None,
                     config: WaveformAugmentConfig | None = None) -> Tensor | np.ndarray:
    """wav [S] float32 -> perturbed wav [S'] (speed, then noise), same type as the input.

    ``rng`` is a ``numpy.random.Generator`` (or a seed): the same generator state gives
    the same output. A silent clip stays silent (its SNR-scaled noise is zero). With
    ``config.noise_dir`` the noise is an excerpt of one of that folder's recordings
    (:func:`noise_bank`; a bad folder or noise file is a ConfigError naming it).
    """
    import torchaudio.functional as AF

    config = config or WaveformAugmentConfig()
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    is_numpy = isinstance(wav, np.ndarray)
    out = torch.as_tensor(wav, dtype=torch.float32).reshape(1, -1)  # [1, S]
    if rng.random() < config.speed_prob:
        factor = float(rng.choice(np.asarray(config.speeds, dtype=np.float64)))
        if factor != 1.0:
            out, _ = AF.speed(out, sr, factor)  # [1, S']
    if rng.random() < config.noise_prob:
        snr = torch.tensor([rng.uniform(*config.snr_db)], dtype=torch.float32)  # [1]
        if config.noise_dir is None:
            noise = torch.from_numpy(rng.standard_normal(out.shape[-1]).astype(np.float32))[None]  # [1, S']
        else:
            noise = torch.from_numpy(noise_bank(config.noise_dir).excerpt(rng, out.shape[-1], sr))[None]  # [1, S']
        out = AF.add_noise(out, noise, snr)  # [1, S']
    out = out[0]
    return out.numpy() if is_numpy else out


@dataclass(frozen=True)
class _AugmentTextNoise(TextNoiseConfig):
    """The ``augment.text_*`` options checked as a TextNoiseConfig, errors naming them as spelt there."""

    where: ClassVar[str] = "augment"
    prefix: ClassVar[str] = "text_"


@dataclass(frozen=True)
class AugmentConfig(WaveformAugmentConfig):
    """The ``augment`` section of an experiment: perturbed copies of the training clips, and ASR-style
    noisy copies of their transcripts.

    Off by default (``copies = 0``, ``text_copies = 0``). The perturbation defaults are those measured
    by bench/accuracy/noise_robustness.py (white noise at 0-20 dB on every copy, speed 0.9/1.1 half
    the time); the ``text_*`` defaults are :class:`~fusion.text_noise.TextNoiseConfig`'s."""

    where: ClassVar[str] = "augment"

    noise_prob: float = 1.0                       # probability of adding white noise to a copy
    snr_db: tuple[float, float] = (0.0, 20.0)     # noise SNR range (dB), drawn uniformly per copy
    speed_prob: float = 0.5                       # probability of a speed change of a copy
    speeds: tuple[float, ...] = (0.9, 1.1)        # speed factors, one drawn uniformly
    copies: int = 0                               # perturbed copies per training clip (0 = off)
    seed: int = 0                                 # seeds the perturbations (not the training seed: every
                                                  # training seed of an ablation shares the featurized copies)
    # ASR-style noisy copies of the training transcripts (fusion.text_noise; text and fused modes)
    text_copies: int = 0                          # noisy-text copies per training clip (0 = off)
    text_wer: float = 0.3                         # their target word error rate, in [0, 1)
    text_substitution: float = 0.65               # shares of the word errors: replaced / dropped / inserted
    text_deletion: float = 0.15                   # words (normalised to sum to 1)
    text_insertion: float = 0.2
    text_exclamation: float = 0.8                 # probability that a "!" becomes "."
    text_question: float = 0.4                    # probability that a "?" becomes "."
    text_comma_drop: float = 0.2                  # probability that a comma is dropped
    text_lower_first: float = 0.05                # probability that the first letter is lower-cased

    def __post_init__(self):
        super().__post_init__()
        for option in ("copies", "seed", "text_copies"):
            value = getattr(self, option)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{self.where}: {option} must be an integer >= 0, got {value!r}")
        checked = _AugmentTextNoise(**{option: getattr(self, f"text_{option}") for option in TEXT_NOISE_OPTIONS})
        for option in TEXT_NOISE_OPTIONS:  # validated, as floats
            object.__setattr__(self, f"text_{option}", getattr(checked, option))

    @property
    def waveform(self) -> WaveformAugmentConfig:
        """The perturbation alone (what a copy's cache key and :func:`augment_waveform` need)."""
        return WaveformAugmentConfig(noise_prob=self.noise_prob, snr_db=self.snr_db, speed_prob=self.speed_prob,
                                     speeds=self.speeds, noise_dir=self.noise_dir)

    @property
    def text_noise(self) -> TextNoiseConfig:
        """The corruption of a text copy (what :func:`fusion.text_noise.asr_noise` needs)."""
        return TextNoiseConfig(**{option: getattr(self, f"text_{option}") for option in TEXT_NOISE_OPTIONS})

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        if d["noise_dir"] is None:  # TOML has no null; unset means white noise
            del d["noise_dir"]
        if self.text_noise == TextNoiseConfig() and self.text_copies == 0:  # text copies untouched: not
            for option in ("copies", *TEXT_NOISE_OPTIONS):                   # written (configs of before
                del d[f"text_{option}"]                                      # stay identical)
        return {**d, "snr_db": list(self.snr_db), "speeds": list(self.speeds)}

    @classmethod
    def from_dict(cls, d: dict) -> "AugmentConfig":
        check_options(cls, d, cls.where)
        return cls(**d)


def copy_rng(seed: int, clip_id: str, copy: int, stream: int = 0) -> np.random.Generator:
    """The generator of copy ``copy`` of clip ``clip_id``: a function of the four alone. ``stream``
    separates kinds of copies (0: waveform copies, :data:`TEXT_STREAM`: text copies)."""
    digest = hashlib.sha256(str(clip_id).encode("utf-8")).digest()
    words = np.frombuffer(digest, dtype="<u4")[:4].tolist()  # 128 bits of the id
    return np.random.default_rng([seed, copy, *words] + ([stream] if stream else []))


def perturbation_key(config: WaveformAugmentConfig) -> dict:
    """What a perturbed copy's cache key records of ``config``: its fields, with ``noise_dir``
    replaced by the content of the folder (:meth:`NoiseBank.key`), left out when unset."""
    d = dataclasses.asdict(config)
    folder = d.pop("noise_dir")
    if folder is not None:
        d["noise_files"] = noise_bank(folder).key()
    return d


class NoiseBank:
    """The audio recordings below a folder (sorted, recursive), drawn from as additive noise.

    Files are decoded on first use (mono, resampled) and kept in memory. A missing or empty
    folder, an unreadable or a silent file is a ConfigError that names it."""

    def __init__(self, folder: str | Path):
        from .audio import AUDIO_EXTENSIONS, find_audio_files

        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ConfigError(f"augment: noise_dir {str(self.folder)!r} is not a folder")
        self.files = find_audio_files(self.folder)
        if not self.files:
            raise ConfigError(f"augment: noise_dir {str(self.folder)!r} holds no audio files "
                              f"({', '.join(AUDIO_EXTENSIONS)})")
        self._decoded: dict[tuple[Path, int], np.ndarray] = {}

    @functools.cached_property
    def _key(self) -> str:
        from .cache import file_hash

        digest = hashlib.sha256()
        for path in self.files:
            digest.update(f"{path.relative_to(self.folder).as_posix()}\0{file_hash(path)}\0".encode())
        return digest.hexdigest()

    def key(self) -> str:
        """A digest of the files' names and contents (not of the folder's location)."""
        return self._key

    def recording(self, index: int, sr: int) -> np.ndarray:
        """File ``index`` decoded at ``sr`` -> [S] float32."""
        from . import audio as audio_io
        from .errors import FusionError

        path = self.files[index]
        if (path, sr) not in self._decoded:
            try:
                wav = audio_io.load(path, target_sr=sr, min_duration=0.0, on_silence="ignore")  # [S]
            except FusionError as exc:
                raise ConfigError(f"augment: noise file {path} cannot be used: {exc}") from exc
            if not np.any(wav):
                raise ConfigError(f"augment: noise file {path} is silent; remove it from noise_dir")
            self._decoded[(path, sr)] = wav
        return self._decoded[(path, sr)]

    def excerpt(self, rng: np.random.Generator, length: int, sr: int) -> np.ndarray:
        """A random recording from a random offset, looped to ``length`` samples -> [length] float32."""
        wav = self.recording(int(rng.integers(len(self.files))), sr)   # [N]
        start = int(rng.integers(len(wav)))
        return np.resize(np.roll(wav, -start), length).astype(np.float32, copy=False)  # [length]


@functools.lru_cache(maxsize=4)
def noise_bank(folder: str) -> NoiseBank:
    """The :class:`NoiseBank` of ``folder`` (one per folder and process)."""
    return NoiseBank(folder)
