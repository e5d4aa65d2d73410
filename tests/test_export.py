"""`fusion export`: ONNX and TorchScript files of the trainable classifier agree with PyTorch on
inputs shaped unlike the export example; unsupported combinations fail with a clear message."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from fusion.cli import _register_plugin_commands, cli
from fusion.errors import ConfigError
from fusion.export import export_model, graph_inputs
from fusion.model import Batch, EmotionModel, ModelConfig
from tests.conftest import tone

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

TEXTS = ["i feel furious today and tomorrow and every single day after", "ok", "i feel gloomy today"]


def run_cli(*args):
    _register_plugin_commands()  # what `fusion` does before parsing (adds `export`)
    return CliRunner().invoke(cli, [str(a) for a in args])


def other_inputs(model: EmotionModel) -> dict[str, torch.Tensor]:
    """Three items, longer and shorter than the export example (1.0/1.5 s, 3/5 words)."""
    wavs = [tone(2.7, freq=440), tone(0.4, freq=165), tone(1.2, freq=220, seed=3)]
    return graph_inputs(model, wavs, TEXTS)


def pytorch_probabilities(model: EmotionModel, inputs: dict) -> dict[str, np.ndarray]:
    """The reference, straight from EmotionModel.run (not through the export wrapper)."""
    with torch.no_grad():
        result = model.run(Batch(**inputs))
        out = {"probabilities": result.logits.softmax(-1).numpy()}
        for name, branch in result.branches.items():
            out[f"{name}_probabilities"] = branch.softmax(-1).numpy()
    return out


def onnx_outputs(path, inputs: dict) -> dict[str, np.ndarray]:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {i.name: inputs[i.name].numpy() for i in session.get_inputs()}
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feed)))


def torchscript_outputs(path, inputs: dict, input_names) -> tuple[dict[str, np.ndarray], dict]:
    extra = {"fusion.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "torch.jit.load is deprecated"
        module = torch.jit.load(str(path), _extra_files=extra)
    meta = json.loads(extra["fusion.json"])
    with torch.no_grad():
        outputs = module(*(inputs[name] for name in input_names))
    return {o["name"]: t.numpy() for o, t in zip(meta["outputs"], outputs)}, meta


def assert_same(got: dict, want: dict):
    assert set(got) == set(want)
    for name, expected in want.items():
        assert got[name].shape == expected.shape
        np.testing.assert_allclose(got[name], expected, atol=1e-4, err_msg=name)
        np.testing.assert_allclose(got[name].sum(-1), 1.0, atol=1e-5)


@pytest.fixture
def tiny_model_dir(fake_plugins, synthetic_corpus, tmp_path):
    from fusion.experiment import ExperimentConfig
    from fusion.runners import train_model_dir
    from fusion.training.trainer import TrainConfig

    cfg = ExperimentConfig(dataset="synthetic", data_dir=str(synthetic_corpus), modes=("fused",),
                           acoustic_encoder="fake-frames", text_encoder="fake-bag", transcriber="gold",
                           head="cross-attention", train=TrainConfig(epochs=2))
    train_model_dir(cfg, tmp_path / "model", log=lambda msg: None)
    return tmp_path / "model"


def test_onnx_and_torchscript_match_pytorch_on_other_shapes(tiny_model_dir, tmp_path):
    model = EmotionModel.load(tiny_model_dir)
    inputs = other_inputs(model)
    assert inputs["audio"].shape[0] == 3 and inputs["audio"].shape[1] > 75  # longer than the 1.5 s example
    want = pytorch_probabilities(model, inputs)
    assert set(want) == {"probabilities", "audio_probabilities", "text_probabilities"}

    result = export_model(tiny_model_dir, "onnx")
    assert result.path == tiny_model_dir / "model.onnx" and result.max_difference <= 1e-4
    assert_same(onnx_outputs(result.path, inputs), want)
    session = onnxruntime.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    meta = json.loads(session.get_modelmeta().custom_metadata_map["fusion"])
    assert meta["labels"] == list(model.labels) and "featurize" in meta["preprocessing"]
    assert [i["name"] for i in meta["inputs"]] == ["audio", "audio_lengths", "text", "text_lengths"]
    # one clip alone (the web demo's batch of 1)
    single = {k: v[1:2] for k, v in inputs.items()}
    single["audio"] = single["audio"][:, : int(single["audio_lengths"][0])]
    single["text"] = single["text"][:, : int(single["text_lengths"][0])]
    np.testing.assert_allclose(onnx_outputs(result.path, single)["probabilities"][0],
                               want["probabilities"][1], atol=1e-4)

    out = tmp_path / "exported" / "classifier.pt"
    cli = run_cli("export", tiny_model_dir, "--format", "torchscript", "-o", out)
    assert cli.exit_code == 0, cli.output
    assert f"wrote {out}" in cli.stdout and "audio_lengths [batch] int64" in cli.stdout
    got, meta = torchscript_outputs(out, inputs, ("audio", "audio_lengths", "text", "text_lengths"))
    assert_same(got, want)
    assert meta["labels"] == list(model.labels) and meta["mode"] == "fused"
    assert_preprocessing_matches_the_predictor(tiny_model_dir, result.path, tmp_path)


def assert_preprocessing_matches_the_predictor(model_dir, onnx_path, tmp_path):
    """graph_inputs (the documented preprocessing) + the ONNX file == fusion.load(...).predict."""
    import soundfile as sf

    import fusion
    from fusion.audio import load

    path = tmp_path / "clip.wav"
    sf.write(str(path), tone(1.3, sr=22050, freq=330), 22050)  # another rate: resampled by both
    expected = fusion.load(model_dir).predict(path, transcript=TEXTS[2])
    assert expected.ok, expected.error
    inputs = graph_inputs(EmotionModel.load(model_dir), [load(path)], [TEXTS[2]])
    got = onnx_outputs(onnx_path, inputs)
    np.testing.assert_allclose(got["probabilities"][0], list(expected.probabilities.values()), atol=1e-4)
    np.testing.assert_allclose(got["text_probabilities"][0], list(expected.branches["text"].values()), atol=1e-4)


def _real_encoders_available():
    from fusion.errors import UnknownComponentError
    from fusion.plugins import get_component

    try:
        get_component("acoustic_encoder", "cnn-lstm").load()
        get_component("text_encoder", "gru").load()
    except (UnknownComponentError, ImportError) as exc:
        pytest.skip(f"fusion-acoustic / fusion-transformers plugins not installed: {exc}")


def _save(model: EmotionModel, model_dir):
    model_dir.mkdir(parents=True)
    torch.save(model.checkpoint(), model_dir / "model.pt")
    return model_dir


SMALL_CNN_LSTM = {"channels": [4, 8], "dim": 16, "hidden": 8}


def test_real_cnn_lstm_and_gru_export_to_torchscript_but_not_onnx(tmp_path):
    _real_encoders_available()
    torch.manual_seed(0)
    model = EmotionModel(ModelConfig(
        mode="fused", labels=("angry", "neutral", "sad"), acoustic_encoder="cnn-lstm", acoustic_config=SMALL_CNN_LSTM,
        text_encoder="gru", text_config={"buckets": 500, "embed_dim": 16, "hidden": 8}, transcriber="gold",
        head="cross-attention", head_config={"d_model": 16, "n_heads": 2, "hidden": 16})).eval()
    model_dir = _save(model, tmp_path / "real")
    inputs = other_inputs(model)
    assert inputs["text"].dim() == 3  # gru ids: [B, T, 1 + n-grams]

    result = export_model(model_dir, "torchscript")
    got, _ = torchscript_outputs(result.path, inputs, ("audio", "audio_lengths", "text", "text_lengths"))
    assert_same(got, pytorch_probabilities(model, inputs))

    with pytest.raises(ConfigError) as info:
        export_model(model_dir, "onnx", tmp_path / "real.onnx")
    message = str(info.value)
    assert "packed sequences" in message and "'cnn-lstm'" in message and "'gru'" in message
    assert "--format torchscript" in message and "valid formats: onnx, torchscript" in message
    assert not (tmp_path / "real.onnx").exists() and not list(tmp_path.glob(".real.onnx*"))  # no half-written file


def test_audio_only_cnn_lstm_exports_to_onnx_with_the_torchscript_based_exporter(tmp_path):
    _real_encoders_available()
    torch.manual_seed(1)
    model = EmotionModel(ModelConfig(mode="audio", labels=("a", "b", "c"), acoustic_encoder="cnn-lstm",
                                     acoustic_config=SMALL_CNN_LSTM)).eval()
    model_dir = _save(model, tmp_path / "audio")
    result = export_model(model_dir, "onnx", onnx_exporter="torchscript")
    inputs = graph_inputs(model, [tone(3.1), tone(0.3, freq=440)])
    got = onnx_outputs(result.path, inputs)
    assert set(got) == {"probabilities"}
    assert_same(got, pytorch_probabilities(model, inputs))


@pytest.mark.parametrize("head", ["late", "concat"])
def test_torchscript_of_other_heads_matches_or_says_to_use_onnx(fake_plugins, tmp_path, head):
    torch.manual_seed(2)
    model = EmotionModel(ModelConfig(mode="fused", labels=("a", "b", "c"), acoustic_encoder="fake-frames",
                                     text_encoder="fake-bag", transcriber="gold", head=head)).eval()
    model_dir = _save(model, tmp_path / head)
    try:
        result = export_model(model_dir, "torchscript")
    except ConfigError as exc:  # the PyTorch tracer cannot record torch.full(..., True) (concat/gated/tensor)
        assert f"fusion head {head!r}" in str(exc) and "--format onnx" in str(exc)
        assert head != "late"
        return
    inputs = other_inputs(model)
    got, _ = torchscript_outputs(result.path, inputs, ("audio", "audio_lengths", "text", "text_lengths"))
    assert_same(got, pytorch_probabilities(model, inputs))


def test_cli_errors_are_one_line(tmp_path):
    result = run_cli("export", tmp_path / "missing", "--format", "onnx")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith("error: ") and "expected a model directory" in result.stderr
    result = run_cli("export", tmp_path, "--format", "tflite")
    assert result.exit_code != 0 and "'tflite' is not one of 'onnx', 'torchscript'" in result.output
    with pytest.raises(ConfigError, match="valid choices: onnx, torchscript"):
        export_model(tmp_path, "tflite")
