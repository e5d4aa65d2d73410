"""examples/predict_api.py runs against a tiny model directory and prints what it promises."""

from __future__ import annotations

import runpy

import pytest

from tests.conftest import ROOT
from tests.fakes import LABELS
from tests.inference.helpers import registered_fakes, train_tiny_models


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    with registered_fakes():
        yield train_tiny_models(tmp_path_factory.mktemp("models"), names=("fused",))["fused"]


def test_the_example_predicts_a_file_an_array_and_a_batch(model_dir, make_wav, capsys):
    clip = make_wav("clip.wav", 1.5, sr=22050)
    example = runpy.run_path(str(ROOT / "examples" / "predict_api.py"))
    assert example["main"](str(model_dir), str(clip)) == 0
    lines = capsys.readouterr().out.splitlines()
    first = lines[0]
    assert first.startswith(f"{clip}: ") and first.split()[1] in LABELS and "'audio'" in first
    assert lines[1] == "  transcript: 'unknown'"
    assert lines[2].startswith("array: ") and lines[2].split()[1] in LABELS
    assert lines[-2].startswith(f"  {clip}: ") and lines[-1].startswith("  missing.wav: missing.wav: file not found")
    assert example["main"](str(model_dir), str(clip.with_name("nope.wav"))) == 1
