"""EnergyVAD: speech regions of a level envelope (hysteresis, min durations, max segment, noise)."""

from __future__ import annotations

import numpy as np
import pytest

from fusion.errors import ConfigError
from fusion.inference.segmentation import EnergyVAD, frame_levels_db
from fusion.inference.sources import ArraySource
from tests.conftest import tone
from tests.inference.helpers import long_recording

HOP = 0.01


def envelope(*pieces: tuple[float, float]) -> np.ndarray:
    """(seconds, dBFS) pieces -> level envelope at HOP."""
    return np.concatenate([np.full(round(sec / HOP), db, dtype=np.float32) for sec, db in pieces])


def overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def test_frame_levels_are_rms_in_dbfs():
    frames = np.stack([np.full(160, 0.5), np.zeros(160), np.sin(np.linspace(0, 20 * np.pi, 160))])
    levels = frame_levels_db(frames)
    assert levels[0] == pytest.approx(20 * np.log10(0.5), abs=1e-4)
    assert levels[1] == -np.inf
    assert levels[2] == pytest.approx(20 * np.log10(np.sqrt(0.5)), abs=0.1)


def test_bursts_in_silence_are_found_with_padding():
    levels = envelope((1, -90), (2, -20), (3, -90), (1.5, -25), (2, -90))
    segments = EnergyVAD().detect(levels, HOP)
    assert segments == [pytest.approx((0.85, 3.15)), pytest.approx((5.85, 7.65))]


def test_hysteresis_keeps_a_fading_tail_but_quiet_sound_alone_is_not_speech():
    # loud onset then a tail 45 dB below the peak (under the start level, above the release level)
    tail = envelope((1, -90), (1, -15), (1, -58 + 3), (2, -90))
    (seg,) = EnergyVAD().detect(tail, HOP)
    assert seg[1] == pytest.approx(3.15)
    # the same quiet level with no loud frame anywhere near it starts nothing
    quiet_alone = envelope((1, -90), (1, -15), (3, -90), (1, -55), (2, -90))
    assert len(EnergyVAD().detect(quiet_alone, HOP)) == 1


def test_short_pauses_are_bridged_and_clicks_dropped():
    levels = envelope((1, -90), (1, -20), (0.2, -90), (1, -20), (2, -90), (0.05, -10), (2, -90))
    segments = EnergyVAD().detect(levels, HOP)
    assert len(segments) == 1  # the 0.2 s pause is bridged, the 50 ms click is dropped
    assert segments[0] == pytest.approx((0.85, 3.35))


def test_long_regions_are_split_at_the_quietest_point_under_max_segment():
    rng = np.random.default_rng(0)
    syllable = np.concatenate([np.full(20, -15.0), np.full(10, -40.0)])  # 0.2 s voiced, 0.1 s closure
    speech = np.tile(syllable, 134)[:4000].astype(np.float32) + rng.normal(0, 2, 4000).astype(np.float32)
    speech[1200:1230] = -45  # a quiet breath at 12.0-12.3 s (40 s of speech, no pause long enough)
    speech[2500:2530] = -45  # and at 25.0-25.3 s
    levels = np.concatenate([np.full(100, -90, np.float32), speech, np.full(100, -90, np.float32)])
    vad = EnergyVAD({"max_segment": 15.0})
    segments = vad.detect(levels, HOP)
    assert len(segments) == 3
    assert all(b - a <= 15.0 + 1e-6 for a, b in segments)
    cuts = [b for a, b in segments[:-1]]
    assert cuts[0] == pytest.approx(13.15, abs=0.15) and cuts[1] == pytest.approx(26.15, abs=0.15)
    assert all(segments[i][1] == segments[i + 1][0] for i in range(2))  # no audio lost at a cut


def test_steady_background_noise_is_not_speech():
    wav, bursts = long_recording(60.0)
    noisy = wav + 0.01 * np.random.default_rng(1).standard_normal(len(wav)).astype(np.float32)  # ~-40 dBFS
    segments = EnergyVAD().detect(ArraySource(noisy).levels(HOP), HOP)
    found = sum(1 for b in bursts if any(overlap(b, s) > 0.5 * (b[1] - b[0]) for s in segments))
    assert found >= len(bursts) - 1
    noise_only = sum(b - a for a, b in segments) - sum(min(b[1] - b[0], 15) for b in bursts)
    assert noise_only < 0.25 * 60  # padding/bridging only, not the noise between bursts


def test_digital_silence_and_empty_envelopes_give_no_segments():
    assert EnergyVAD().detect(np.full(1000, -np.inf, np.float32), HOP) == []
    assert EnergyVAD().detect(np.zeros(0, np.float32), HOP) == []
    assert EnergyVAD().detect(ArraySource(tone(3.0, amp=1e-5)).levels(HOP), HOP) == []  # below the floor


@pytest.mark.parametrize("bad", [{"threshold_db": -60.0, "release_db": -50.0}, {"max_segment": 0.5},
                                 {"noise_percentile": 99.9}, {"min_speech": -1.0}, {"nonsense": 1}])
def test_invalid_configuration_names_the_detector(bad):
    with pytest.raises(ConfigError, match="voice activity detector 'energy'"):
        EnergyVAD(bad)
