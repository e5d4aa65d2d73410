"""EnsemblePredictor / fusion.load(A, B) / `fusion predict --ensemble-with`: averaged probabilities,
weights, label checks, per-input errors, long inputs, and the CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf
import torch

import fusion
from fusion.errors import ConfigError
from fusion.inference import EnsemblePredictor, Predictor
from tests.commands.test_predict import run
from tests.conftest import tone
from tests.fakes import LABELS
from tests.inference.helpers import registered_fakes, train_tiny_models, write_long_recording


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two tiny models with the same labels (audio-only: branch "audio"; fused: "audio" + "text"),
    plus a copy of the audio model whose labels are in another order."""
    root = tmp_path_factory.mktemp("models")
    with registered_fakes():
        dirs = train_tiny_models(root, names=("audio", "fused"))
        dirs["reordered"] = relabel(dirs["audio"], root / "reordered", tuple(reversed(LABELS)))
        yield dirs


def relabel(src, dst, labels):
    """A copy of model dir ``src`` whose checkpoint names its classes ``labels``."""
    ckpt = torch.load(src / "model.pt", map_location="cpu", weights_only=True)
    ckpt["labels"] = list(labels)
    ckpt["config"]["labels"] = list(labels)
    dst.mkdir()
    torch.save(ckpt, dst / "model.pt")
    return dst


@pytest.fixture(scope="module")
def members(models):
    return Predictor(models["audio"]), Predictor(models["fused"])


def _vec(probs: dict) -> np.ndarray:
    return np.array([probs[k] for k in LABELS])


def test_two_models_average_their_members_probabilities(models, members, make_wav):
    audio, fused = members
    ens = fusion.load(models["audio"], models["fused"])
    assert isinstance(ens, EnsemblePredictor) and [m.model_dir for m in ens.members] == [models["audio"], models["fused"]]
    assert ens.labels == LABELS and ens.mode == "ensemble of 2: audio, fused" and ens.uses_text
    items = [make_wav("a.wav", 1.2, freq=440), tone(1.0, 8000, freq=165)]
    got = ens.predict_batch(items, sr=8000)
    for n, (a, f) in enumerate(zip(audio.predict_batch(items, sr=8000), fused.predict_batch(items, sr=8000))):
        assert not np.allclose(_vec(a.probabilities), _vec(f.probabilities), atol=1e-3)  # the mean is informative
        p = got[n]
        np.testing.assert_allclose(_vec(p.probabilities), (_vec(a.probabilities) + _vec(f.probabilities)) / 2,
                                   atol=1e-6)
        assert p.label == max(p.probabilities, key=p.probabilities.get) and p.id == a.id
        # only the branch both members have is averaged; the fused member's "text" is left out
        assert set(p.branches) == {"audio"}
        np.testing.assert_allclose(_vec(p.branches["audio"]),
                                   (_vec(a.branches["audio"]) + _vec(f.branches["audio"])) / 2, atol=1e-6)
        assert p.transcript == f.transcript == "unknown" and a.transcript is None  # the first one there is
        assert p.duration == pytest.approx(a.duration)
    assert any("narrowband" in w for w in got[1].warnings) and got[0].warnings == []


def test_a_given_transcript_reaches_every_text_member(members, make_wav):
    audio, fused = members
    clip = make_wav("b.wav", 1.0, freq=330)
    ens = EnsemblePredictor.from_predictors([fused, audio])
    p = ens.predict(clip, transcript="i feel furious today")
    f = fused.predict(clip, transcript="i feel furious today")
    a = audio.predict(clip)
    assert p.transcript == "i feel furious today" and ens.mode == "ensemble of 2: fused, audio"
    np.testing.assert_allclose(_vec(p.probabilities), (_vec(a.probabilities) + _vec(f.probabilities)) / 2, atol=1e-6)


def test_weights_are_normalised_and_validated(models, members, make_wav):
    audio, fused = members
    clip = make_wav()
    ens = fusion.load([models["audio"], models["fused"]], weights=[3, 1])
    assert ens.weights == pytest.approx((0.75, 0.25))
    a, f = audio.predict(clip), fused.predict(clip)
    np.testing.assert_allclose(_vec(ens.predict(clip).probabilities),
                               0.75 * _vec(a.probabilities) + 0.25 * _vec(f.probabilities), atol=1e-6)
    for bad in ([1.0], [1.0, 0.0], [1.0, -2.0], [1.0, float("nan")], ["x", 1.0], [1.0, 1.0, 1.0]):
        with pytest.raises(ConfigError, match="ensemble weights"):
            EnsemblePredictor.from_predictors([audio, fused], weights=bad)
    with pytest.raises(ConfigError, match="ensemble weights"):
        fusion.load(models["audio"], weights=[0])


def test_different_labels_are_a_config_error_naming_both_models(models):
    with pytest.raises(ConfigError) as err:
        fusion.load(models["fused"], models["reordered"])
    message = str(err.value)
    assert str(models["fused"]) in message and str(models["reordered"]) in message
    assert str(list(LABELS)) in message and str(list(reversed(LABELS))) in message


def test_a_bad_input_is_an_error_and_the_others_are_predicted(members, make_wav, tmp_path, monkeypatch):
    audio, fused = members
    good = make_wav("good.wav")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    ens = EnsemblePredictor.from_predictors([audio, fused])
    out = ens.predict_batch([tmp_path / "missing.wav", good, tmp_path / "corrupt.wav"])
    assert [p.ok for p in out] == [False, True, False]
    assert "missing.wav" in out[0].error and "not found" in out[0].error and "model " not in out[0].error
    assert out[1].label in LABELS and out[2].label is None and out[2].probabilities == {}

    # a failure in one member fails the input and names that member: it is not averaged away
    monkeypatch.setattr(fused, "_forward", lambda feats: ["model forward pass failed: boom"] * len(feats))
    p = ens.predict(good)
    assert not p.ok and p.error == f"model {fused.model_dir}: model forward pass failed: boom"
    assert p.label is None and p.to_dict()["error"] == p.error


def test_one_directory_gives_a_plain_predictor(models):
    for call in (lambda: fusion.load(models["audio"]), lambda: fusion.load([models["audio"]]),
                 lambda: fusion.load(model_dir=models["audio"]), lambda: fusion.inference.load(str(models["audio"]))):
        predictor = call()
        assert type(predictor) is Predictor and predictor.model_dir == models["audio"] and predictor.mode == "audio"
    with pytest.raises(ConfigError, match="at least one model directory"):
        fusion.load()
    with pytest.raises(ConfigError, match="at least one model directory"):
        fusion.load([])


def test_the_same_model_twice_shares_its_transcriber_and_predicts_like_it(models, members, make_wav):
    clip = make_wav("c.wav", freq=220)
    ens = fusion.load(models["fused"], models["fused"], models["audio"])
    first, second, third = ens.members
    assert first.transcriber is second.transcriber and third.transcriber is None
    assert ens.mode == "ensemble of 3: fused, audio"
    audio, fused = members
    f, a = fused.predict(clip), audio.predict(clip)
    np.testing.assert_allclose(_vec(ens.predict(clip).probabilities),
                               (2 * _vec(f.probabilities) + _vec(a.probabilities)) / 3, atol=1e-6)


def test_members_sharing_a_transcriber_transcribe_an_array_once(models, members, monkeypatch):
    ens = fusion.load(models["fused"], models["fused"], models["audio"])
    shared = ens.members[0].transcriber
    heard = []
    real = shared.transcribe_batch
    monkeypatch.setattr(shared, "transcribe_batch", lambda wavs, sr: heard.append(len(wavs)) or real(wavs, sr))
    arrays = [tone(1.0, 16000, freq=220), tone(0.8, 16000, freq=330)]
    got = ens.predict_batch(arrays, sr=16000)
    assert sum(heard) == 2  # one transcription per array, not one per text member
    audio, fused = members
    for g, f, a in zip(got, fused.predict_batch(arrays, sr=16000), audio.predict_batch(arrays, sr=16000)):
        assert g.ok and g.transcript == f.transcript
        np.testing.assert_allclose(_vec(g.probabilities), (2 * _vec(f.probabilities) + _vec(a.probabilities)) / 3,
                                   atol=1e-6)


def test_long_inputs_are_averaged_segment_by_segment(models, members, tmp_path):
    path = tmp_path / "long.wav"
    write_long_recording(path, 60.0)
    audio, fused = members
    a, f = audio.predict(path), fused.predict(path)
    assert len(a.segments) >= 5 and [(s.start, s.end) for s in a.segments] == [(s.start, s.end) for s in f.segments]
    p = EnsemblePredictor.from_predictors([audio, fused]).predict(path)
    assert [(s.start, s.end) for s in p.segments] == [(s.start, s.end) for s in a.segments]
    for s, sa, sf_ in zip(p.segments, a.segments, f.segments):
        np.testing.assert_allclose(_vec(s.probabilities), (_vec(sa.probabilities) + _vec(sf_.probabilities)) / 2,
                                   atol=1e-6)
        assert s.label == max(s.probabilities, key=s.probabilities.get) and s.transcript == "unknown"
        assert set(s.branches) == {"audio"}
    np.testing.assert_allclose(_vec(p.probabilities), (_vec(a.probabilities) + _vec(f.probabilities)) / 2, atol=1e-6)
    weights = np.array([s.duration for s in p.segments])  # still the duration-weighted mean of its timeline
    np.testing.assert_allclose(_vec(p.probabilities),
                               weights @ np.array([_vec(s.probabilities) for s in p.segments]) / weights.sum(), atol=1e-6)
    assert not any("timelines differ" in w for w in p.warnings)

    # members with different VAD settings find different spans: only the summary is averaged
    short = Predictor(models["audio"], vad={"max_segment": 1.0})
    s = short.predict(path)
    mixed = EnsemblePredictor.from_predictors([short, fused]).predict(path)
    assert len(s.segments) != len(f.segments) and mixed.segments == []
    assert any("timelines differ" in w and f"({len(s.segments)}, {len(f.segments)} segments)" in w
               for w in mixed.warnings)
    np.testing.assert_allclose(_vec(mixed.probabilities), (_vec(s.probabilities) + _vec(f.probabilities)) / 2,
                               atol=1e-6)


# ---------------------------------------------------------------------- CLI
@pytest.fixture
def clips(tmp_path):
    sf.write(str(tmp_path / "a.wav"), tone(1.0, freq=440), 16000)
    sf.write(str(tmp_path / "b.wav"), tone(1.1, freq=165), 16000)
    return tmp_path


def test_cli_ensemble_with_averages_the_models_in_json_csv_and_table(models, clips, tmp_path):
    inputs = [clips / "a.wav", clips / "b.wav", clips / "missing.wav"]
    singles = [json.loads(run("predict", models[name], *inputs, "--json").stdout) for name in ("fused", "audio")]
    out = tmp_path / "out.csv"
    result = run("predict", models["fused"], *inputs, "--ensemble-with", models["audio"], "--json", "--csv", out)
    assert result.exit_code == 1  # missing.wav
    assert result.stderr.strip().splitlines()[-1] == "error: 1 of 3 inputs failed (see 'errors' in the JSON output)"
    doc = json.loads(result.stdout)
    assert doc["model"] == [str(models["fused"]), str(models["audio"])]
    assert doc["mode"] == "ensemble of 2: fused, audio" and doc["labels"] == list(LABELS)
    assert [e["id"] for e in doc["errors"]] == [str(clips / "missing.wav")] and "not found" in doc["errors"][0]["error"]
    assert [p["id"] for p in doc["predictions"]] == [str(clips / "a.wav"), str(clips / "b.wav")]
    for n, p in enumerate(doc["predictions"]):
        f, a = singles[0]["predictions"][n], singles[1]["predictions"][n]
        np.testing.assert_allclose(_vec(p["probabilities"]), (_vec(f["probabilities"]) + _vec(a["probabilities"])) / 2,
                                   atol=1e-6)
        assert p["transcript"] == "unknown" and set(p["branches"]) == {"audio"}
    rows = list(csv.DictReader(out.open()))
    assert [r["id"] for r in rows] == [str(i) for i in inputs] and rows[2]["error"] != ""
    assert float(rows[0]["p_angry"]) == pytest.approx(doc["predictions"][0]["probabilities"]["angry"], abs=1e-4)

    table = run("predict", models["fused"], clips / "a.wav", "--ensemble-with", models["audio"])
    assert table.exit_code == 0, table.output
    row = table.stdout.splitlines()[2].split()
    assert row[1] == doc["predictions"][0]["label"] and "audio=" in table.stdout and "unknown" in table.stdout
    # repeatable: three models
    three = json.loads(run("predict", models["fused"], clips / "a.wav", "--ensemble-with", models["audio"],
                           "--ensemble-with", models["fused"], "--json").stdout)
    assert len(three["model"]) == 3 and three["mode"] == "ensemble of 3: fused, audio"


def test_cli_ensemble_errors_are_one_line(models, clips, tmp_path):
    mismatch = run("predict", models["audio"], clips / "a.wav", "--ensemble-with", models["reordered"])
    assert mismatch.exit_code == 1 and mismatch.stdout == ""
    line = mismatch.stderr.strip()
    assert "\n" not in line and line.startswith("error: cannot ensemble models with different labels")
    assert str(models["audio"]) in line and str(models["reordered"]) in line
    missing = run("predict", models["audio"], clips / "a.wav", "--ensemble-with", tmp_path / "nothing")
    assert missing.exit_code == 1 and "nothing" in missing.stderr and "not found" in missing.stderr
    assert "Traceback" not in missing.output
    single = json.loads(run("predict", models["audio"], clips / "a.wav", "--json").stdout)
    assert single["model"] == str(models["audio"]) and single["mode"] == "audio"  # unchanged without the option
