"""ComposedPredictor / fusion.load(COMPOSED_DIR): pooled member probabilities, branches, transcripts,
long inputs, calibrated weights, and the errors around composed directories."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fusion
from fusion.errors import ConfigError
from fusion.inference import ComposedPredictor, EnsemblePredictor, Predictor
from fusion.runners import compose_model_dir
from fusion.runners.product_of_experts import PoolParams
from tests.fakes import LABELS
from tests.inference.helpers import registered_fakes, train_members, write_long_recording

QUIET = dict(log=lambda msg: None)


@pytest.fixture(scope="module")
def composed(tmp_path_factory):
    """Members, an uncalibrated composition of them, and one with hand-set weights/temperatures (the
    fake plugins stay registered while the module's tests run)."""
    root = tmp_path_factory.mktemp("composed")
    with registered_fakes():
        dirs = train_members(root / "members", epochs=3)
        compose_model_dir(dirs["audio"], dirs["text"], root / "equal", **QUIET)
        compose_model_dir(dirs["audio"], dirs["text"], root / "weighted", **QUIET)
        doc = json.loads((root / "weighted" / "compose.json").read_text())
        doc.update(PoolParams({"audio": 0.5, "text": 2.0}, {"audio": 2.0, "text": 0.8}).to_dict())
        (root / "weighted" / "compose.json").write_text(json.dumps(doc))
        yield {**dirs, "equal": root / "equal", "weighted": root / "weighted"}


def _vec(probs: dict) -> np.ndarray:
    return np.array([probs[k] for k in LABELS])


def _clips(corpus):
    return [corpus / "spk0_happy_0.wav", corpus / "spk1_sad_2.wav", corpus / "spk2_angry_1.wav"]


def test_load_gives_the_normalised_product_of_the_members(composed):
    p = fusion.load(composed["equal"], transcriber="fake-asr")
    assert isinstance(p, ComposedPredictor) and p.labels == LABELS and p.mode == "composed" and p.uses_text
    audio, text = Predictor(composed["audio"]), Predictor(composed["text"], transcriber="fake-asr")
    clips = _clips(composed["corpus"])
    for got, a, t in zip(p.predict_batch(clips), audio.predict_batch(clips), text.predict_batch(clips)):
        product = _vec(a.probabilities) * _vec(t.probabilities)
        np.testing.assert_allclose(_vec(got.probabilities), product / product.sum(), atol=1e-9)
        # the branches are the members' float32 probabilities renormalised over the output labels in float64
        np.testing.assert_allclose(_vec(got.branches["audio"]), _vec(a.probabilities), atol=1e-6)
        np.testing.assert_allclose(_vec(got.branches["text"]), _vec(t.probabilities), atol=1e-6)
        assert got.transcript == t.transcript == "unknown" and got.label == max(got.probabilities, key=got.probabilities.get)


def test_weights_and_temperatures_are_applied(composed):
    p = fusion.load(composed["weighted"])
    audio, text = Predictor(composed["audio"]), Predictor(composed["text"])
    clip = _clips(composed["corpus"])[0]
    words = "i feel delighted today"
    got, a, t = p.predict(clip, transcript=words), audio.predict(clip), text.predict(clip, transcript=words)
    pooled = _vec(a.probabilities) ** (0.5 / 2.0) * _vec(t.probabilities) ** (2.0 / 0.8)
    np.testing.assert_allclose(_vec(got.probabilities), pooled / pooled.sum(), atol=1e-9)
    tempered = _vec(t.probabilities) ** (1 / 0.8)
    np.testing.assert_allclose(_vec(got.branches["text"]), tempered / tempered.sum(), atol=1e-9)


def test_a_text_member_on_gold_transcripts_needs_a_transcriber_or_the_text(composed):
    p = fusion.load(composed["equal"])
    assert p.needs_transcript and p.transcriber is None
    with pytest.raises(ConfigError, match="trained on gold"):
        p.predict(_clips(composed["corpus"])[0])
    assert p.predict(_clips(composed["corpus"])[0], transcript="i feel gloomy today").ok


def test_a_bad_input_is_reported_once(composed, tmp_path):
    p = fusion.load(composed["equal"], transcriber="fake-asr")
    bad = tmp_path / "missing.wav"
    good, missing = p.predict_batch([_clips(composed["corpus"])[0], bad])
    assert good.ok and not missing.ok and "member" not in missing.error and "not found" in missing.error


def test_long_recordings_are_pooled_segment_by_segment(composed, tmp_path):
    path = tmp_path / "long.wav"
    write_long_recording(path, duration=40.0)
    p = fusion.load(composed["equal"], transcriber="fake-asr")
    got = p.predict(path)
    a = Predictor(composed["audio"]).predict(path)
    assert got.ok and len(got.segments) == len(a.segments) > 1
    for seg, aseg in zip(got.segments, a.segments):
        assert (seg.start, seg.end) == (aseg.start, aseg.end) and set(seg.branches) == {"audio", "text"}
        np.testing.assert_allclose(_vec(seg.branches["audio"]), _vec(aseg.probabilities), atol=1e-9)


def test_a_composed_dir_is_not_a_plain_model_or_an_ensemble_member(composed):
    with pytest.raises(ConfigError, match="is a composed model .* fusion.load"):
        Predictor(composed["equal"])
    with pytest.raises(ConfigError, match="cannot be an ensemble member"):
        EnsemblePredictor([composed["audio"], composed["equal"]])


def test_the_transcriber_chosen_at_compose_time_is_used(composed, tmp_path):
    compose_model_dir(composed["audio"], composed["text"], tmp_path / "asr", transcriber="fake-asr", **QUIET)
    p = fusion.load(tmp_path / "asr")
    assert not p.needs_transcript and p.transcriber.name == "fake-asr"
    assert p.predict(_clips(composed["corpus"])[0]).transcript == "unknown"
