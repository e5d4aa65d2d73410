"""Properties (hypothesis) of feature extraction: whatever the length, rate, channels, sample type and
amplitude, the acoustic encoders' featurize (log-mel / MFCC of fusion_acoustic.features) and forward
never crash and never give NaN; a text encoder's featurize takes any string.

The loader's own property (float32 mono 16 kHz out) is tests/test_audio.py::test_any_rate_channels_...
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, example, given, settings, strategies as st

import fusion
from fusion import audio
from fusion.errors import AudioDecodeError, AudioTooShortError, FusionError
from fusion_acoustic.features import MFCC, LogMel, LogMelOptions, MFCCOptions

ENCODERS = ("cnn", "cnn-lstm", "lstm")  # log-mel, log-mel, MFCC + deltas
HOP = 160                               # samples per frame at 16 kHz (10 ms)
SETTINGS = settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def encoders():
    torch.manual_seed(0)
    built = {name: fusion.get_acoustic_encoder(name).build({}) for name in ENCODERS}
    for encoder in built.values():
        encoder.eval()
    return built


def signal(rng: np.random.Generator, frames: int, channels: int, amplitude: float, kind: str) -> np.ndarray:
    """[S, C] noise, a tone, a DC offset or clipped square waves, scaled to ``amplitude``."""
    t = np.arange(frames)[:, None] / 8000.0
    base = {"noise": rng.standard_normal((frames, channels)),
            "tone": np.sin(2 * np.pi * rng.uniform(50, 3000) * t) * np.ones(channels),
            "dc": np.ones((frames, channels)),
            "square": np.sign(np.sin(2 * np.pi * 100 * t) + 1e-9) * np.ones(channels)}[kind]
    return amplitude * base


def amplitudes(largest: float):
    """0, or 1e-9 .. ``largest``, the decades drawn evenly."""
    decades = st.integers(-9, int(np.log10(largest)) - 1)
    return st.just(0.0) | st.builds(lambda d, m: m * 10.0 ** d, decades, st.floats(1.0, 10.0))


def _as_dtype(data: np.ndarray, dtype: str) -> np.ndarray:
    if dtype.startswith("int"):
        limit = np.iinfo(dtype).max
        return np.round(np.clip(data, -1, 1) * limit).astype(dtype)  # integer PCM saturates
    return data.astype(dtype)


@settings(SETTINGS, max_examples=60)
@given(sr=st.integers(8000, 96000), channels=st.integers(1, 8), seconds=st.integers(10, 150).map(lambda c: c / 100),
       amplitude=amplitudes(1e30), dtype=st.sampled_from(["float32", "float64", "int16", "int32"]),
       kind=st.sampled_from(["noise", "tone", "dc", "square"]), transpose=st.booleans(), seed=st.integers(0, 2**16))
@example(sr=16000, channels=1, seconds=1.0, amplitude=1e11, dtype="float32", kind="noise",
         transpose=False, seed=0)  # beyond the loader's MAX_PEAK: an error, not NaN features
def test_any_audio_is_an_error_or_finite_features(encoders, sr, channels, seconds, amplitude, dtype, kind,
                                                   transpose, seed):
    frames = max(1, int(seconds * sr))
    data = _as_dtype(signal(np.random.default_rng(seed), frames, channels, amplitude, kind), dtype)
    if channels == 1:
        data = data[:, 0]
    elif transpose and channels < frames:
        data = data.T.copy()  # [C, S] layout
    try:
        wav = audio.load(data, sr=sr, on_silence="ignore")
    except AudioTooShortError:
        event("too short")
        assert frames / sr < audio.MIN_DURATION
        return
    except AudioDecodeError as exc:
        event("garbage amplitude")
        assert "far outside" in str(exc) and np.abs(data.astype(np.float64)).max() > audio.MAX_PEAK
        return
    event("featurized")
    for name, encoder in encoders.items():
        feats = encoder.featurize(torch.from_numpy(wav))  # [T, F]
        assert feats.dtype == torch.float32 and feats.shape == (1 + wav.size // HOP, encoder.features.dim), name
        assert torch.isfinite(feats).all(), f"{name}: non-finite features"
        with torch.no_grad():
            encoded = encoder(feats[None], torch.tensor([feats.shape[0]]))  # [1, T', D]
        assert torch.isfinite(encoded.pooled).all() and torch.isfinite(encoded.seq).all(), name


@SETTINGS
@given(samples=st.integers(1, 24000), amplitude=amplitudes(audio.MAX_PEAK),
       kind=st.sampled_from(["noise", "tone", "dc", "square"]), normalize=st.booleans(), seed=st.integers(0, 2**16))
def test_log_mel_and_mfcc_of_any_waveform_are_finite(samples, amplitude, kind, normalize, seed):
    """The featurizers alone: any length from one sample, any amplitude the loader lets through."""
    wav = torch.from_numpy(signal(np.random.default_rng(seed), samples, 1, amplitude, kind)[:, 0].astype(np.float32))
    for featurizer in (LogMel(LogMelOptions(normalize=normalize), "property"),
                       MFCC(MFCCOptions(normalize=normalize), "property")):
        feats = featurizer(wav)  # [T, F]
        assert feats.shape == (1 + max(samples, featurizer.n_fft) // HOP, featurizer.dim)
        assert torch.isfinite(feats).all(), f"{featurizer.kind}: non-finite features"
        if normalize:
            assert feats.abs().max() < 1e3  # per-utterance normalisation keeps values in range


@pytest.fixture(scope="module")
def gru():
    torch.manual_seed(0)
    return fusion.get_text_encoder("gru").build({"dropout": 0.0}).eval()


@SETTINGS
@given(text=st.text(max_size=400) | st.from_regex(r"(\w{1,12}[ \t\n.,!?]{1,3}){0,300}", fullmatch=True))
@example(text="")
@example(text="x" * 10_000)
@example(text=("i feel furious today " * 500)[:10_000])
def test_a_text_encoder_featurizes_any_string(gru, text):
    ids = gru.featurize(text)  # [T, 1 + N]
    c = gru.config
    assert ids.dtype == torch.long and ids.shape[1] == 1 + c.max_ngrams
    assert 1 <= ids.shape[0] <= c.max_tokens and 0 <= int(ids.min()) and int(ids.max()) < c.buckets
    with torch.no_grad():
        encoded = gru(ids[None], torch.tensor([ids.shape[0]]))  # [1, T, D]
    assert torch.isfinite(encoded.pooled).all()


@pytest.mark.slow
def test_minilm_featurizes_empty_and_10000_character_transcripts():
    """The pretrained text encoder truncates at max_length tokens (skips when its weights are absent)."""
    try:
        encoder = fusion.get_text_encoder("minilm").build({})
    except FusionError as exc:
        pytest.skip(f"minilm not available offline: {exc}")
    for text in ("", ("i feel furious today " * 500)[:10_000]):
        feats = encoder.featurize(text)  # [T, D]
        assert 1 <= feats.shape[0] <= encoder.config.max_length and torch.isfinite(feats).all()
