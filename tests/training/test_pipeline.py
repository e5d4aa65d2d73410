import json

from fusion.experiment import ExperimentConfig
from fusion.training.pipeline import train_model_dir
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
