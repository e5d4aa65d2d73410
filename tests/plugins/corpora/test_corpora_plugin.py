"""Registration of the recipes and `fusion prepare` end to end."""

import pytest
from click.testing import CliRunner

from fusion.cli import cli
from fusion.plugins import get_component
from fusion.recipes import dataset_protocol, prepare_dataset
from tests.conftest import require_shared


@pytest.mark.parametrize("name, canonical, protocol", [
    ("ravdess", "ravdess", "speaker"), ("crema-d", "cremad", "speaker"), ("tess", "tess", "speaker"),
    ("emo-db", "emodb", "speaker"), ("iemocap", "iemocap", "session"), ("meld", "meld", "predefined"),
    ("manifest", "manifest", "speaker"), ("demo", "demo", "speaker"),
])
def test_registered_lazily_with_protocol(name, canonical, protocol):
    component = get_component("dataset", name)
    assert component.name == canonical and component.plugin == "corpora"
    assert isinstance(component.target, str) and component.target.startswith("fusion_corpora.")
    assert component.description
    assert dataset_protocol(name) == protocol


def test_demo_default_dir():
    from fusion_corpora import plugin

    default_dir = get_component("dataset", "demo").meta["default_dir"]
    assert default_dir is plugin._demo_dir
    assert default_dir() == plugin.Path(plugin.__file__).parent / "demo" / "data"


def test_every_recipe_target_loads():
    for name in ("ravdess", "cremad", "tess", "emodb", "iemocap", "meld", "manifest"):
        assert callable(get_component("dataset", name).load())


def test_manifest_file_through_prepare_dataset(tmp_path, make_wav):
    make_wav("spk1/a.wav", duration=0.2)
    make_wav("spk2/b.wav", duration=0.2)
    (tmp_path / "m.csv").write_text("path,label\nspk1/a.wav,sad\nspk2/b.wav,happy\n")
    corpus = prepare_dataset("manifest", tmp_path / "m.csv")
    assert sorted(u.speaker for u in corpus) == ["spk1", "spk2"]


def test_cli_prepare_manifest_and_missing_dir(tmp_path, make_wav):
    make_wav("spk1/a.wav", duration=0.2)
    (tmp_path / "m.csv").write_text("path,label\nspk1/a.wav,sad\nspk1/gone.wav,sad\n")
    runner = CliRunner()
    result = runner.invoke(cli, ["prepare", "manifest", str(tmp_path / "m.csv"), "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    assert "1 utterances, 1 speakers, 1 labels" in result.stdout
    assert "gone.wav: audio file not found" in result.stdout
    assert (tmp_path / "out.jsonl").read_text().count("\n") == 1
    result = runner.invoke(cli, ["prepare", "ravdess", str(tmp_path / "nonexistent")])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: dataset 'ravdess': {tmp_path / 'nonexistent'} does not exist"]


@pytest.mark.real
def test_cli_prepare_real_ravdess(tmp_path):
    data = require_shared("data", "ravdess")
    result = CliRunner().invoke(cli, ["prepare", "ravdess", str(data), "-o", str(tmp_path / "m.jsonl")])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "960 utterances, 16 speakers, 8 labels"
    assert len((tmp_path / "m.jsonl").read_text().splitlines()) == 960
