"""``fusion export``: a trained model directory -> an ONNX or TorchScript file of its classifier."""

from __future__ import annotations

import json

import click


def _shape(spec: dict) -> str:
    """{"name": "audio", "shape": ["batch", "audio_time", 80], "dtype": "float32"} -> 'audio [batch, ...] float32'."""
    dims = ", ".join(str(d) for d in spec["shape"])
    return f"{spec['name']} [{dims}]" + (f" {spec['dtype']}" if "dtype" in spec else "")


@click.command()
@click.argument("model_dir", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["onnx", "torchscript"]), default="onnx", show_default=True,
              help="file format")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="file to write (default: MODEL_DIR/model.onnx or MODEL_DIR/model.torchscript.pt)")
@click.option("--onnx-exporter", type=click.Choice(["auto", "dynamo", "torchscript"]), default="auto",
              show_default=True, help="PyTorch ONNX exporter; auto tries torch.export (dynamo), then the "
                                      "TorchScript-based one")
@click.option("--no-verify", is_flag=True, help="skip running the export on other input shapes and "
                                                "comparing it with PyTorch")
@click.option("--json", "as_json", is_flag=True, help="print the result as one JSON object")
def export(model_dir, fmt, output, onnx_exporter, no_verify, as_json):
    """Export the trainable classifier of MODEL_DIR (encoders' forward + fusion head) to ONNX or TorchScript.

    The graph takes featurized, zero-padded inputs with their lengths (audio, audio_lengths, text,
    text_lengths, as the model's mode needs; batch and time axes are dynamic) and returns the class
    probabilities, plus audio_probabilities/text_probabilities for heads with unimodal branches.
    Featurizing (log-mel, frozen Whisper/MiniLM states, tokenizer) and speech-to-text stay in Python:
    fusion.export.graph_inputs(model, wavs, transcripts) is that preprocessing step. Labels, the
    input/output spec and the preprocessing are stored in the file's metadata.
    """
    from ..export import export_model

    result = export_model(model_dir, fmt, output, onnx_exporter=onnx_exporter, verify=not no_verify,
                          log=lambda message: click.echo(message, err=True))
    meta = result.metadata
    if as_json:
        click.echo(json.dumps({"path": str(result.path), "format": result.format, "exporter": meta["exporter"],
                               "max_difference": result.max_difference, "attempts": result.attempts,
                               "labels": meta["labels"], "inputs": meta["inputs"], "outputs": meta["outputs"]}))
        return
    checked = ("not checked against PyTorch" if result.max_difference is None
               else f"max |p - p_pytorch| = {result.max_difference:.1e} on batches shaped unlike the example")
    click.echo(f"wrote {result.path} ({result.format} via {meta['exporter']}; {checked})")
    click.echo("inputs:  " + ", ".join(_shape(s) for s in meta["inputs"]))
    click.echo("outputs: " + ", ".join(_shape(s) for s in meta["outputs"]) + f"; classes: {', '.join(meta['labels'])}")
    click.echo("preprocessing (Python, not in the file): fusion.export.graph_inputs(model, wavs, transcripts)")
