"""Predictor / fusion.load: files, arrays, batches with bad inputs, gold-transcript models, the
transcript cache, and long recordings (timeline + summary)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

import fusion
from fusion.data import Utterance
from fusion.errors import CheckpointError, ConfigError
from fusion.inference import Prediction, Predictor
from tests.conftest import tone
from tests.fakes import LABELS, EchoTranscriber
from tests.inference.helpers import registered_fakes, train_tiny_models, write_long_recording


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    with registered_fakes():
        yield train_tiny_models(tmp_path_factory.mktemp("models"))


def test_module_fixtures_never_touch_the_user_cache(models):
    """Module-scoped fixtures run before the per-test FUSION_CACHE: the predictor must read it at use."""
    import os

    assert str(fusion.load(models["audio"]).cache.root) == os.environ["FUSION_CACHE"]


@pytest.fixture(scope="module")
def fused(models):
    return fusion.load(models["fused"])


def _sums_to_one(probs: dict) -> bool:
    return set(probs) == set(LABELS) and abs(sum(probs.values()) - 1.0) < 1e-5


def test_a_file_gets_label_probabilities_transcript_and_branches(fused, make_wav):
    p = fused.predict(make_wav("clip.wav", 1.3, freq=330))
    assert p.ok and p.label in LABELS and p.label == max(p.probabilities, key=p.probabilities.get)
    assert _sums_to_one(p.probabilities) and p.top_probability == p.probabilities[p.label]
    assert p.transcript == "unknown"  # what the fake transcriber hears
    assert set(p.branches) == {"audio", "text"} and all(_sums_to_one(b) for b in p.branches.values())
    assert p.duration == pytest.approx(1.3) and not p.silent and p.warnings == [] and p.segments == []
    # the late head's output is its weighted branch log-probabilities: branches come from the same pass
    w_audio, w_text = fused.model.head.fusion_weights.tolist()
    mix = w_audio * np.log([p.branches["audio"][k] for k in LABELS]) + \
        w_text * np.log([p.branches["text"][k] for k in LABELS])
    expected = torch.softmax(torch.tensor(mix), 0).numpy()
    np.testing.assert_allclose([p.probabilities[k] for k in LABELS], expected, atol=1e-5)


def test_an_audio_model_has_no_transcript_and_one_branch(models, make_wav):
    p = fusion.load(models["audio"]).predict(make_wav())
    assert p.transcript is None and p.branches == {"audio": p.probabilities}


def test_arrays_at_any_rate_and_layout_match_the_file(fused, tmp_path):
    wav = tone(1.5, 16000, freq=440)
    sf.write(str(tmp_path / "x.wav"), wav, 16000, subtype="FLOAT")
    from_file = fused.predict(tmp_path / "x.wav")
    from_array = fused.predict(wav, sr=16000)
    assert from_array.id == "array-0" and from_array.file is None
    for k in LABELS:
        assert from_array.probabilities[k] == pytest.approx(from_file.probabilities[k], abs=1e-5)

    stereo_8k = tone(2.0, 8000, freq=440, channels=2)  # [S, 2]
    for layout in (stereo_8k, stereo_8k.T.copy(), torch.from_numpy(stereo_8k)):
        p = fused.predict(layout, sr=8000)
        assert p.ok and p.duration == pytest.approx(2.0, abs=1e-3) and _sums_to_one(p.probabilities)
        assert any("8000 Hz" in w and "narrowband" in w for w in p.warnings)


def test_silence_is_predicted_but_flagged(fused):
    p = fused.predict(np.zeros(16000, np.float32), sr=16000)
    assert p.ok and p.label in LABELS and p.silent
    assert any("silent" in w for w in p.warnings)


def test_bad_inputs_fail_one_by_one_and_the_good_ones_are_predicted(fused, make_wav, tmp_path):
    good = make_wav("good.wav")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    (tmp_path / "empty.flac").write_bytes(b"")
    short = make_wav("short.wav", 0.02)
    nan = tone(1.0)
    nan[100] = np.nan
    items = [tmp_path / "missing.wav", good, tmp_path / "corrupt.wav", tmp_path / "empty.flac", short, nan,
             str(good)]
    out = fused.predict_batch(items, sr=16000)
    assert [p.ok for p in out] == [False, True, False, False, False, False, True]
    assert "missing.wav" in out[0].error and "not found" in out[0].error
    assert "corrupt.wav" in out[2].error and "empty" in out[3].error
    assert "shorter than the minimum" in out[4].error and "NaN" in out[5].error
    assert out[1].id == str(good) and out[6].id == f"{good}#2"  # repeated inputs stay addressable
    assert out[1].probabilities == out[6].probabilities


def test_an_array_without_its_rate_is_an_error_for_that_input_only(fused, make_wav):
    out = fused.predict_batch([tone(1.0), make_wav()])
    assert "sample rate" in out[0].error and out[1].ok


def test_a_gold_transcript_model_needs_a_transcriber_for_new_audio(models, make_wav):
    clip = make_wav()
    gold = fusion.load(models["gold"])
    with pytest.raises(ConfigError, match=r"gold \(corpus\) transcripts.*--transcriber NAME.*fake-asr"):
        gold.predict(clip)
    given = gold.predict(clip, transcript="i feel furious today")  # a known transcript is used as is
    assert given.ok and given.transcript == "i feel furious today"
    utt = Utterance("u1", clip, "angry", "s", transcript="i feel gloomy today")  # a manifest row
    assert gold.predict_batch([utt])[0].transcript == "i feel gloomy today"
    fallback = fusion.load(models["gold"], transcriber="fake-asr").predict(clip)
    assert fallback.ok and fallback.transcript == "unknown" and set(fallback.branches) == {"audio", "text"}


def test_file_transcripts_come_from_the_cache_the_second_time(models, make_wav):
    clips = [make_wav(f"c{i}.wav", freq=200 + 40 * i) for i in range(3)]
    EchoTranscriber.total_calls = 0
    first = fusion.load(models["fused"]).predict_batch(clips)
    assert EchoTranscriber.total_calls == 3
    second = fusion.load(models["fused"]).predict_batch(clips)  # a new process would see the same cache
    assert EchoTranscriber.total_calls == 3
    assert [p.probabilities for p in first] == [p.probabilities for p in second]
    fusion.load(models["fused"]).predict(tone(1.0), sr=16000)  # arrays are transcribed directly
    assert EchoTranscriber.total_calls == 4


def test_a_three_minute_recording_gets_a_timeline_and_a_summary(fused, tmp_path):
    path = tmp_path / "long.wav"
    bursts = write_long_recording(path, 180.0)
    EchoTranscriber.total_calls = 0
    p = fused.predict(path)
    assert p.ok and p.duration == pytest.approx(180.0) and not p.silent
    segs = p.segments
    assert len(segs) >= 0.8 * len(bursts) and len(segs) >= 10
    assert all(0 <= s.start < s.end <= 180.0 and s.end - s.start <= 15.0 for s in segs)
    assert all(a.end <= b.start for a, b in zip(segs, segs[1:]))
    hit = sum(any(s.start <= (a + b) / 2 <= s.end for s in segs) for a, b in bursts)
    assert hit >= len(bursts) - 1  # nearly every burst's middle lies inside a segment
    weights = np.array([s.end - s.start for s in segs])
    for k in LABELS:
        mean = float(np.dot(weights, [s.probabilities[k] for s in segs]) / weights.sum())
        assert p.probabilities[k] == pytest.approx(mean, abs=1e-6)
        assert p.branches["text"][k] == pytest.approx(
            float(np.dot(weights, [s.branches["text"][k] for s in segs]) / weights.sum()), abs=1e-6)
    assert p.label == max(p.probabilities, key=p.probabilities.get)
    assert p.transcript == " ".join(["unknown"] * len(segs))
    assert EchoTranscriber.total_calls == len(segs)
    again = fused.predict(path)  # segment transcripts are cached too
    assert EchoTranscriber.total_calls == len(segs) and len(again.segments) == len(segs)
    assert "segments" in p.to_dict() and len(p.to_dict()["segments"]) == len(segs)


def test_a_long_array_is_segmented_like_the_file(fused, tmp_path):
    path = tmp_path / "long.wav"
    write_long_recording(path, 60.0)
    from_file = fused.predict(path)
    wav, sr = sf.read(str(path), dtype="float32")
    from_array = fused.predict(wav, sr=sr)
    assert [(round(s.start, 2), round(s.end, 2)) for s in from_array.segments] == \
        [(round(s.start, 2), round(s.end, 2)) for s in from_file.segments]
    assert from_array.label == from_file.label


def test_a_short_threshold_segments_short_files_and_silent_long_files_are_flagged(models, tmp_path):
    predictor = fusion.load(models["audio"], config={"long_threshold": 5.0})
    sf.write(str(tmp_path / "quiet.wav"), np.zeros(16000 * 30, np.float32), 16000)
    p = predictor.predict(tmp_path / "quiet.wav")
    assert p.ok and p.silent and len(p.segments) == 1 and p.segments[0].end == pytest.approx(15.0)
    assert any("silent" in w and "first 15.0 s" in w for w in p.warnings)


def test_configuration_errors(models, tmp_path):
    with pytest.raises(ConfigError, match="batch_size"):
        Predictor(models["audio"], config={"batch_size": 0})
    with pytest.raises(ConfigError, match="valid options"):
        Predictor(models["audio"], config={"nope": 1})
    with pytest.raises(CheckpointError, match="not found"):
        fusion.load(tmp_path / "no-model")
    with pytest.raises(ConfigError, match="not installed"):
        fusion.load(models["fused"], transcriber="no-such-asr")
    with pytest.raises(ConfigError, match="cannot predict on a dict"):
        fusion.load(models["audio"]).predict({"x": 1})


def test_warmup_and_types(models):
    predictor = fusion.load(models["fused"])
    predictor.warmup()
    assert isinstance(predictor.predict(tone(0.5), sr=16000), Prediction)
    assert predictor.labels == LABELS and predictor.mode == "fused"
