import json

import pytest
import torch

from fusion.experiment import ExperimentConfig
from fusion.runners import load_corpus, train_model_dir
from fusion.training.trainer import TrainConfig


def test_refit_model_dir_reports_the_selection_validation(fake_plugins, synthetic_corpus, tmp_path):
    cfg = ExperimentConfig(dataset="synthetic", data_dir=str(synthetic_corpus), modes=("audio",),
                           acoustic_encoder="fake-frames", head="late",
                           train=TrainConfig(epochs=4, batch_size=8, lr=3e-3, refit=True))
    metrics = train_model_dir(cfg, tmp_path / "model", log=lambda msg: None)
    assert metrics["refit_epochs"] == metrics["best_epoch"] >= 1
    curve = json.loads((tmp_path / "model" / "curve.json").read_text())
    assert metrics["val"]["ua"] == curve[metrics["best_epoch"] - 1]["val_ua"]
    assert json.loads((tmp_path / "model" / "metrics.json").read_text())["refit_epochs"] == metrics["best_epoch"]


def test_model_dir_trained_with_augmented_copies_records_them(fake_plugins, synthetic_corpus, tmp_path, monkeypatch):
    import fusion.runners.fit as fit
    from fusion.augment import AugmentConfig
    from fusion.data import train_val_split

    cfg = ExperimentConfig(dataset="synthetic", data_dir=str(synthetic_corpus), modes=("fused",),
                           acoustic_encoder="fake-frames", text_encoder="fake-bag", transcriber="gold", head="concat",
                           train=TrainConfig(epochs=2, batch_size=16, lr=3e-3),
                           augment=AugmentConfig(copies=1, seed=2, snr_db=(5.0, 5.0)))
    calls = []
    real_train = fit.train
    monkeypatch.setattr(fit, "train", lambda model, tr, va, *a, **k: calls.append((tr, va)) or
                        real_train(model, tr, va, *a, **k))
    logs = []
    metrics = train_model_dir(cfg, tmp_path / "model", log=logs.append)
    (train_items, val_items), = calls
    utts = load_corpus(cfg)
    tr, va = train_val_split(utts, "speaker", seed=cfg.train.seed, val_fraction=cfg.val_fraction)
    assert metrics["n_train"] == len(tr) and metrics["n_augmented"] == len(tr)
    assert len(train_items) == 2 * len(tr) and len(val_items) == len(va)
    assert sorted(it["copy_of"] for it in train_items[len(tr):]) == sorted(utts[n].id for n in tr)
    assert not any("copy_of" in it for it in val_items)
    assert all(it["text"] is not None for it in train_items)  # fused copies keep the transcript features
    assert any(f"(+ {len(tr)} augmented training copies)" in line for line in logs)
    # the model directory records the option: its config.toml reruns the same training
    assert ExperimentConfig.from_toml(tmp_path / "model") == cfg
    assert "[augment]" in (tmp_path / "model" / "config.toml").read_text()


def test_split_seed_keeps_the_validation_carve_across_training_seeds(fake_plugins, synthetic_corpus, tmp_path,
                                                                      monkeypatch):
    import fusion.runners.model_dir as pipeline

    carves = []
    real_split = pipeline.train_val_split
    monkeypatch.setattr(pipeline, "train_val_split", lambda *a, **k: carves.append(real_split(*a, **k)) or carves[-1])

    def run(name, **kwargs):
        seed = kwargs.pop("seed")
        cfg = ExperimentConfig(dataset="synthetic", data_dir=str(synthetic_corpus), modes=("audio",),
                               acoustic_encoder="fake-frames", train=TrainConfig(epochs=1, batch_size=16, seed=seed),
                               **kwargs)
        metrics = train_model_dir(cfg, tmp_path / name, log=lambda msg: None)
        assert ExperimentConfig.from_toml(tmp_path / name) == cfg  # the option is in the model's config.toml
        return carves[-1], metrics

    val0 = run("seed0", seed=0)[0][1]
    val3 = run("seed3", seed=3)[0][1]
    assert val3 != val0  # without split_seed the training seed moves the carve (else this test shows nothing)
    fixed = [run(f"seed{s}-split0", seed=s, split_seed=0)[0][1] for s in (1, 3)]
    assert fixed == [val0, val0]


def test_split_seed_must_be_an_integer():
    import pytest

    from fusion.errors import ConfigError

    for bad in ("0", 1.5, True):
        with pytest.raises(ConfigError, match="split_seed must be an integer"):
            ExperimentConfig(dataset="synthetic", split_seed=bad)


def test_predefined_training_does_not_featurize_the_test_split(fake_plugins, make_wav, tmp_path, monkeypatch):
    import fusion.experiment as experiment

    rows = ["path,label,speaker,split"]
    for split, n in (("train", 8), ("dev", 4), ("test", 3)):
        for i in range(n):
            name = f"{split}{i}.wav"
            rows.append(f"{make_wav(name, duration=0.3, seed=len(rows)).name},{('happy', 'sad')[i % 2]},"
                        f"{split}{i % 2},{split}")
    manifest = make_wav("train0.wav", duration=0.3, seed=1).parent / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n")
    seen = []
    real = experiment.prepare_inputs
    monkeypatch.setattr("fusion.runners.model_dir.prepare_inputs",
                        lambda cfg, utts, *a, **k: seen.append([u.split for u in utts]) or real(cfg, utts, *a, **k))
    logs = []
    cfg = ExperimentConfig(dataset="manifest", data_dir=str(manifest), modes=("audio",), protocol="predefined",
                           acoustic_encoder="fake-frames", train=TrainConfig(epochs=1, batch_size=4))
    metrics = train_model_dir(cfg, tmp_path / "model", log=logs.append)
    assert sorted(seen[0]) == ["dev"] * 4 + ["train"] * 8
    assert metrics["n_train"] == 8 and metrics["n_val"] == 4
    assert any("3 utterances of the held-out split are left for fusion evaluate" in m for m in logs)


def test_text_model_trained_with_noisy_text_copies(fake_plugins, synthetic_corpus, tmp_path, monkeypatch):
    """augment.text_copies=1: one ASR-style noisy copy of every training transcript, featurized from the
    noisy text, added to the training items only; recorded in config.toml and metrics.json."""
    import fusion.runners.fit as fit
    import fusion.runners.model_dir as pipeline
    from fusion.augment import AugmentConfig
    from fusion.data import train_val_split
    from fusion.text_noise import word_error_rate
    from tests.fakes import HashBagEncoder

    calls, prepared = [], []
    real_train, real_prepare = fit.train, pipeline.prepare_inputs
    monkeypatch.setattr(fit, "train", lambda model, tr, va, *a, **k: calls.append((tr, va)) or
                        real_train(model, tr, va, *a, **k))
    monkeypatch.setattr(pipeline, "prepare_inputs",
                        lambda *a, **k: prepared.append(real_prepare(*a, **k)) or prepared[-1])

    base = ExperimentConfig(dataset="synthetic", data_dir=str(synthetic_corpus), modes=("text",),
                            text_encoder="fake-bag", transcriber="gold", train=TrainConfig(epochs=2, batch_size=16))
    off = train_model_dir(base, tmp_path / "plain", log=lambda msg: None)  # the default: no copies
    (plain_train, _), = calls
    assert "n_augmented" not in off and "text_copies_wer" not in off and len(plain_train) == off["n_train"]
    assert "augment" not in (tmp_path / "plain" / "config.toml").read_text()

    cfg = base.replace(augment=AugmentConfig(text_copies=1, text_wer=0.5))
    logs = []
    metrics = train_model_dir(cfg, tmp_path / "model", log=logs.append)
    (train_items, val_items) = calls[-1]
    inputs = prepared[-1]
    utts = inputs.utterances
    tr, va = train_val_split(utts, "speaker", seed=cfg.train.seed, val_fraction=cfg.val_fraction)
    assert metrics["n_augmented"] == len(tr) and len(train_items) == 2 * len(tr) and len(val_items) == len(va)
    for it, plain in zip(train_items[:len(tr)], plain_train, strict=True):  # the clips' own items are unchanged
        assert it.keys() == plain.keys() and it["label"] == plain["label"] and torch.equal(it["text"], plain["text"])
    assert not any("copy_of" in it for it in val_items)
    copies = train_items[len(tr):]
    assert [it["copy_of"] for it in copies] == [utts[n].id for n in tr]
    noisy = inputs.noisy_transcripts[0]
    assert set(noisy) == {utts[n].id for n in tr}  # training clips only
    for it in copies:
        assert torch.equal(it["text"], HashBagEncoder().featurize(noisy[it["copy_of"]]))  # the corrupted text's
    changed = [uid for uid, text in noisy.items() if text != inputs.transcripts[uid]]
    assert len(changed) > len(noisy) // 2
    wer = word_error_rate([inputs.transcripts[u] for u in noisy], noisy.values())
    assert metrics["text_copies_wer"] == pytest.approx(wer, abs=1e-4) and 0.3 < wer < 0.7
    assert any("noisy-text copies (1 per training clip" in line for line in logs)
    assert ExperimentConfig.from_toml(tmp_path / "model") == cfg  # recorded: config.toml reruns it
    assert json.loads((tmp_path / "model" / "metrics.json").read_text())["text_copies_wer"] == metrics["text_copies_wer"]
