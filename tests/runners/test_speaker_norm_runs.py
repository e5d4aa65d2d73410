"""Speaker normalisation through the runners, the model directory and the predictor."""

import numpy as np
import pytest
import torch

from fusion.data import Utterance
from fusion.experiment import ExperimentConfig, Inputs
from fusion.model import EmotionModel
from fusion.runners import evaluate_model_dir, fit_and_score, train_model_dir
from fusion.speaker_norm import SpeakerNormConfig
from fusion.training.trainer import TrainConfig


def _offset_inputs(seed=0, speakers=8, per_label=10):
    """Frames [T, 8] whose label moves band 0 a little while each speaker moves every band a lot."""
    rng = np.random.default_rng(seed)
    utts, audio = [], {}
    for s in range(speakers):
        offset = rng.normal(0, 4.0, size=8)
        for label in ("a", "b"):
            for k in range(per_label):
                uid = f"s{s}-{label}-{k}"
                x = rng.normal(size=(12, 8)) + offset
                x[:, 0] += 1.5 if label == "b" else -1.5
                utts.append(Utterance(id=uid, audio=None, label=label, speaker=f"spk{s}"))
                audio[uid] = torch.tensor(x, dtype=torch.float32)
    return Inputs(utts, ("a", "b"), audio=audio)


def _cfg(enabled):
    return ExperimentConfig(dataset="synthetic", acoustic_encoder="fake-frames", modes=("audio",),
                            unimodal_config={"pool": "mean"}, speaker_norm=SpeakerNormConfig(enabled=enabled),
                            train=TrainConfig(epochs=15, batch_size=16, lr=1e-2, patience=15))


def test_normalising_speakers_removes_a_speaker_offset_the_plain_model_cannot(fake_plugins):
    inputs = _offset_inputs()
    speakers = [u.speaker for u in inputs.utterances]
    train = [n for n, s in enumerate(speakers) if s in {"spk0", "spk1", "spk2", "spk3", "spk4"}]
    val = [n for n, s in enumerate(speakers) if s == "spk5"]
    test = [n for n, s in enumerate(speakers) if s in {"spk6", "spk7"}]
    plain = fit_and_score(_cfg(False), inputs, "audio", train, val, test)
    normed = fit_and_score(_cfg(True), inputs, "audio", train, val, test)
    assert plain.model.speaker_prior is None and normed.model.speaker_prior is not None
    assert normed.model.speaker_prior.mean.shape == (8,)
    assert normed.record.metrics["ua"] >= 0.9 and normed.record.metrics["ua"] > plain.record.metrics["ua"] + 0.1, \
        (normed.record.metrics["ua"], plain.record.metrics["ua"])
    assert inputs.audio["s0-a-0"].abs().max() > 3  # the run normalised a view, not the caller's inputs


def test_model_config_records_the_option():
    on = _cfg(True).model_config("audio", ("a", "b"))
    assert on.speaker_norm == {"shrink": 2.0}
    assert _cfg(False).model_config("audio", ("a", "b")).speaker_norm == {}
    text = ExperimentConfig(dataset="demo", modes=("text",)).model_config("text", ("a", "b"))
    assert text.speaker_norm == {}  # nothing acoustic to normalise


def test_model_directory_keeps_the_training_moments_and_evaluate_uses_them(fake_plugins, synthetic_corpus,
                                                                          tmp_path):
    cfg = ExperimentConfig(dataset="synthetic", data_dir=str(synthetic_corpus), acoustic_encoder="fake-frames",
                           modes=("audio",), train=TrainConfig(epochs=2, batch_size=16))
    train_model_dir(cfg, tmp_path / "m", log=lambda s: None)
    model = EmotionModel.load(tmp_path / "m")
    assert model.normalizes_speakers and model.speaker_prior.mean.shape == (8,)
    logs = []
    m = evaluate_model_dir(tmp_path / "m", "synthetic", synthetic_corpus, log=logs.append)
    assert m["n"] == 96 and any("6 speaker(s) standardised" in line for line in logs)


def test_the_predictor_normalises_each_speakers_clips_together(fake_plugins, synthetic_corpus, tmp_path,
                                                               monkeypatch):
    from fusion.inference import Predictor
    from fusion.inference.inputs import PredictInput

    cfg = ExperimentConfig(dataset="synthetic", data_dir=str(synthetic_corpus), acoustic_encoder="fake-frames",
                           modes=("audio",), train=TrainConfig(epochs=1, batch_size=16))
    train_model_dir(cfg, tmp_path / "m", log=lambda s: None)
    predictor = Predictor(tmp_path / "m")
    seen = []
    real = predictor.model.normalize_speakers
    monkeypatch.setattr(predictor.model, "normalize_speakers", lambda f, g: seen.append(dict(g)) or real(f, g))
    wavs = sorted(synthetic_corpus.glob("spk0_*.wav"))[:3] + sorted(synthetic_corpus.glob("spk1_*.wav"))[:2]
    items = [PredictInput(p.stem, p, speaker=p.stem.split("_")[0]) for p in wavs] + \
            [PredictInput("alone", sorted(synthetic_corpus.glob("spk2_*.wav"))[0])]
    preds = predictor.predict_batch(items)
    assert all(p.ok for p in preds) and len(seen) == 1  # one call: every clip of the batch at once
    groups = list(seen[0].values())
    assert groups.count("speaker:spk0") == 3 and groups.count("speaker:spk1") == 2
    assert groups.count("unnamed speakers") == 1  # inputs without a speaker: one group per call
    one = predictor.predict_batch([items[0]])[0]  # alone, the same clip is normalised differently
    assert one.probabilities != preds[0].probabilities


def test_predict_cli_sends_a_speakers_clips_in_one_call():
    from fusion.commands.predict import CHUNK, speaker_chunks
    from fusion.inference.inputs import PredictInput

    items = [PredictInput(f"u{n}", speaker=("a" if n % 2 else "b") if n < 6 else None) for n in range(6 + CHUNK + 1)]
    chunks = speaker_chunks(items)
    assert chunks[0] == [0, 2, 4] and chunks[1] == [1, 3, 5]
    assert [len(c) for c in chunks[2:]] == [CHUNK, 1]
    assert [len(c) for c in speaker_chunks(items, loose=100)[2:]] == [CHUNK + 1]
    assert sorted(n for c in chunks for n in c) == list(range(len(items)))
