"""The `fusion` command line, run as a real subprocess: help, plugins, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from tests.conftest import tone


def fusion_cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("FUSION_DEBUG", "FUSION_LOAD_PLUGINS")}
    return subprocess.run([sys.executable, "-m", "fusion.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    (line,) = error_lines(result.stderr)
    return line


def test_help_lists_the_commands():
    result = fusion_cli("--help")
    assert result.returncode == 0, result.stderr
    commands = {line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert {"plugins", "prepare", "train", "evaluate", "ablate"} <= commands


def test_console_script_matches_module_entry():
    script = Path(sys.executable).parent / "fusion"
    if not script.exists():
        pytest.skip("no `fusion` console script beside this interpreter")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == fusion_cli("--version").stdout.strip()
    assert "fusion" in result.stdout


def test_plugins_command_text_and_json():
    text = fusion_cli("plugins")
    assert text.returncode == 0, text.stderr
    assert "fusion.default_plugins.heads  (fusion-ser " in text.stdout
    assert "    fusion head: concat, cross-attention" in text.stdout
    as_json = fusion_cli("plugins", "--json")
    assert as_json.returncode == 0
    report = json.loads(as_json.stdout)
    names = {row["name"] for row in report["plugins"]}
    assert all(f"{name}  (" in text.stdout for name in names)


def test_prepare_unknown_dataset_is_one_error_line():
    line = assert_one_line_error(fusion_cli("prepare", "nosuchdataset", "/tmp"))
    assert line.startswith("error: unknown dataset 'nosuchdataset'; valid choices: ")


def test_prepare_missing_directory_is_one_error_line():
    line = assert_one_line_error(fusion_cli("prepare", "ravdess", "/nonexistent"))
    if "unknown dataset" in line:  # the corpora plugin is not installed: still a one-line error
        return
    assert "ravdess" in line and "/nonexistent" in line and "does not exist" in line


def test_prepare_empty_directory_is_one_error_line(tmp_path):
    line = assert_one_line_error(fusion_cli("prepare", "ravdess", str(tmp_path)))
    assert "ravdess" in line and str(tmp_path) in line or "unknown dataset" in line


def test_unknown_command_and_option_are_usage_errors():
    result = fusion_cli("frobnicate")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "No such command 'frobnicate'" in result.stderr
    result = fusion_cli("plugins", "--nope")
    assert result.returncode == 2 and "No such option" in result.stderr


def test_prepare_manifest_recipe_end_to_end(tmp_path):
    """A tiny CSV corpus through the `manifest` recipe: counts printed, manifest written."""
    listed = fusion_cli("plugins", "--json")
    datasets = {name for row in json.loads(listed.stdout)["plugins"]
                for name in row["components"].get("dataset", [])}
    if "manifest" not in datasets:
        pytest.skip("the fusion-corpora `manifest` recipe is not installed")
    rows = []
    for speaker in ("s1", "s2"):
        for label in ("happy", "sad"):
            name = f"{speaker}_{label}.wav"
            sf.write(tmp_path / name, tone(0.5), 16000)
            rows.append(f"{name},{label},{speaker}")
    (tmp_path / "list.csv").write_text("path,label,speaker\n" + "\n".join(rows) + "\n")
    out = tmp_path / "m.jsonl"
    result = fusion_cli("prepare", "manifest", str(tmp_path / "list.csv"), "-o", str(out), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["utterances"] == 4 and summary["labels"] == {"happy": 2, "sad": 2}
    assert len(out.read_text().splitlines()) == 4
