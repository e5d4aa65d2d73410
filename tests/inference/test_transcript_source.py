"""Which transcripts a text-reading model reads: an explicitly named transcriber always wins."""

from __future__ import annotations

import json

import pytest

from fusion.errors import ConfigError
from fusion.inference import Predictor
from fusion.inference.inputs import PredictInput
from tests.conftest import tone
from tests.inference.helpers import registered_fakes, train_tiny_models


@pytest.fixture(scope="module")
def fused(tmp_path_factory):
    with registered_fakes():
        root = tmp_path_factory.mktemp("models")
        yield train_tiny_models(root, names=("fused",))["fused"]


@pytest.fixture
def clip(tmp_path):
    import soundfile as sf

    path = tmp_path / "clip.wav"
    sf.write(str(path), tone(1.0), 16000)
    return path


def _item(clip):
    return PredictInput("c", clip, transcript="i feel happy today")


def test_default_reads_given_transcripts_and_transcribes_the_rest(fused, fake_plugins, clip):
    p = Predictor(fused)
    assert p.uses_given_transcripts and "given with the input where it has one, else fake-asr" in p.transcript_source
    given, bare = p.predict_batch([_item(clip), PredictInput("d", clip)])
    assert given.transcript == "i feel happy today" and bare.transcript == "unknown"


def test_a_named_transcriber_transcribes_even_inputs_with_a_transcript(fused, fake_plugins, clip):
    p = Predictor(fused, transcriber="fake-asr")
    assert not p.uses_given_transcripts and "transcripts given with the inputs are not used" in p.transcript_source
    (pred,) = p.predict_batch([_item(clip)])
    assert pred.transcript == "unknown"  # fake-asr's words, not the manifest's
    with pytest.raises(ConfigError, match="built with transcriber 'fake-asr'"):
        p.predict(clip, transcript="i feel happy today")


def test_gold_reads_only_the_given_transcripts(fused, fake_plugins, clip):
    p = Predictor(fused, transcriber="gold")
    assert p.transcriber is None and p.transcript_source == "given with each input (gold)"
    (pred,) = p.predict_batch([_item(clip)])
    assert pred.transcript == "i feel happy today"
    with pytest.raises(ConfigError, match="trained on gold|--transcriber NAME"):
        p.predict_batch([PredictInput("d", clip)])


def test_cli_prints_which_transcripts_it_used(fused, fake_plugins, clip, tmp_path):
    from click.testing import CliRunner

    from fusion.cli import _register_plugin_commands, cli

    _register_plugin_commands()  # what `fusion` does before parsing (adds predict)

    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "c", "audio": str(clip), "label": "happy", "speaker": "s",
                                    "transcript": "i feel happy today"}) + "\n")
    result = CliRunner().invoke(cli, ["predict", str(fused), str(manifest), "--transcriber", "fake-asr", "--json"])
    assert result.exit_code == 0, result.output
    assert "transcripts: fake-asr (speech-to-text; transcripts given with the inputs are not used)" in result.stderr
    assert json.loads(result.stdout)["predictions"][0]["transcript"] == "unknown"
