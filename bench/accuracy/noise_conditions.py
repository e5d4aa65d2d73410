"""The perturbed clips of bench/accuracy/noise_robustness.py, featurized through the library.

Noisy test copies (white noise or babble of training actors at an SNR), augmented training copies
(:func:`fusion.augment.augment_waveform`) and the babble noise bank, each a
:class:`fusion.features.PerturbedCopy` whose generator is seeded by (seed, condition, clip index)
alone, cached by :func:`fusion.features.perturbed_acoustic_features` under the ``perturbed-acoustic``
keys the benchmark always used.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

SR = 16000


@cache
def clip_wav(path: Path) -> np.ndarray:
    """A clip decoded at 16 kHz [S] (kept: babble mixes the same training clips again and again)."""
    from fusion import audio as audio_io

    return audio_io.load(path, target_sr=SR, on_silence="ignore")


def make_babble(wavs: list[np.ndarray], length: int) -> np.ndarray:
    """Equal-RMS sum of ``wavs``, each looped/cropped to ``length`` samples -> [length]."""
    out = np.zeros(length, dtype=np.float32)
    for w in wavs:
        w = w / (np.sqrt(np.mean(w ** 2)) + 1e-8)
        out += np.resize(w, length)
    return out


def write_babble_bank(folder: Path, pool: list, wav_of, files: int, talkers: int, seed: int) -> Path:
    """``files`` babble recordings (4 s, ``talkers`` clips of ``pool`` each, ``wav_of(clip)`` -> [S], peak
    0.9) as 24-bit WAVs in ``folder`` -> folder. Deterministic in (pool, files, talkers, seed), so the
    bank's key is too."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.wav"):
        old.unlink()
    rng = np.random.default_rng([seed, 7])
    for i in range(files):
        picks = sorted(int(k) for k in rng.choice(len(pool), talkers, replace=False))
        babble = make_babble([wav_of(pool[k]) for k in picks], 4 * SR)                  # [4 s]
        sf.write(folder / f"babble-{i:03d}.wav", 0.9 * babble / np.abs(babble).max(), SR, subtype="PCM_24")
    return folder


def mix(wav: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """wav [S] + noise [S] scaled to ``snr_db`` (torchaudio's add_noise)."""
    import torch
    import torchaudio.functional as AF

    out = AF.add_noise(torch.from_numpy(wav)[None], torch.from_numpy(noise)[None], torch.tensor([float(snr_db)]))
    return out[0].numpy()


def noisy_copy(u, n: int, kind: str, snr: float, babble_pool: list, talkers: int, seed: int):
    """Test clip ``u`` (index ``n``) with ``kind`` noise at ``snr`` dB: a PerturbedCopy keyed (kind, snr, n)."""
    from fusion.features import PerturbedCopy

    rng = np.random.default_rng([seed, n, int(round(snr * 10)) % 2**32, 0 if kind == "white" else 1])
    if kind == "white":
        what = {"noise": "white", "snr": snr, "seed": seed}
        noise = lambda wav: rng.standard_normal(len(wav)).astype(np.float32)  # noqa: E731
    else:
        picks = sorted(int(i) for i in rng.choice(len(babble_pool), talkers, replace=False))
        talkers_of = [babble_pool[i] for i in picks]
        what = {"noise": "babble", "snr": snr, "seed": seed, "talkers": [t.id for t in talkers_of]}
        noise = lambda wav: make_babble([clip_wav(t.audio) for t in talkers_of], len(wav))  # noqa: E731
    return PerturbedCopy((kind, snr, n), u, lambda wav: mix(wav, noise(wav), snr), what, f"{kind} {snr:g} dB")


def augmented_copy(u, n: int, config, tag: int, what: dict, seed: int):
    """Training clip ``u`` (index ``n``) through augment_waveform with generator ``[seed, tag, n]``."""
    from fusion.augment import augment_waveform
    from fusion.features import PerturbedCopy

    rng = np.random.default_rng([seed, tag, n])
    return PerturbedCopy(u.id, u, lambda wav: augment_waveform(wav, SR, rng, config), {**what, "seed": seed})


def featurized(copies: list, encoder, counts: dict) -> dict:
    """copy id -> perturbed features; any failure stops the benchmark."""
    from fusion.errors import FusionError
    from fusion.features import perturbed_acoustic_features

    if encoder.sample_rate != SR:  # the noise is mixed at 16 kHz
        raise FusionError(f"noise benchmark: the acoustic encoder must take {SR} Hz audio, not {encoder.sample_rate}")
    fs = perturbed_acoustic_features(copies, encoder)
    counts["featurized"] += fs.computed
    counts["from_cache"] += fs.cached
    if fs.errors:
        first = next(iter(fs.errors.values()))
        raise FusionError(f"noise benchmark: {len(fs.errors)} perturbed copies failed, the first: {first}")
    return fs.features
