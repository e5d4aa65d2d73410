"""bench/accuracy/ravdess_audio.py (+ ravdess_support, ravdess_report): encoder entries with options, rows kept
across runs, budgets, re-rendering the committed results."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from bench.accuracy import ravdess_audio as ra
from bench.accuracy import ravdess_report as rr
from bench.accuracy import ravdess_support as rs

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"


def _row(ua: float, **extra) -> dict:
    metric = {"mean": ua, "std": 0.01, "per_fold": [ua] * 4}
    return {"ua": metric, "wa": metric, "macro_f1": metric, "weighted_f1": metric, **extra}


def test_encoder_entry_parses_options_as_json_when_they_are():
    assert rs.encoder_entry("cnn") == ("cnn", {})
    assert rs.encoder_entry("whisper-encoder:model=base:finetune_layers=1:standardize=false") == (
        "whisper-encoder", {"model": "base", "finetune_layers": 1, "standardize": False})


def test_rows_not_rerun_are_kept_with_the_command_that_made_them():
    previous = {"seeds": [0, 1, 2], "command": "old command",
                "encoders": {"mfcc-functionals+logreg": _row(0.4), "whisper-encoder": _row(0.69),
                             "cnn": _row(0.5, seeds=[0], command="cnn command")}}
    args = argparse.Namespace(encoders="cnn,lstm", no_baseline=True, sets=[])
    kept = rs.kept_rows(previous, args)
    assert sorted(kept) == ["mfcc-functionals+logreg", "whisper-encoder"]
    assert kept["whisper-encoder"]["command"] == "old command" and kept["whisper-encoder"]["seeds"] == [0, 1, 2]
    args = argparse.Namespace(encoders="whisper-encoder", no_baseline=False, sets=[])
    assert sorted(rs.kept_rows(previous, args)) == ["cnn"]
    assert rs.kept_rows(previous, args)["cnn"]["command"] == "cnn command"  # a row's own command wins


def test_markdown_shows_each_rows_budget(tmp_path):
    results = {"seeds": [0], "command": "c", "encoders": {
        "mfcc-functionals+logreg": _row(0.4, command="c"),
        "whisper-encoder": _row(0.7, seeds=[0, 1, 2], command="c", config={"train": {"epochs": 40, "refit": True}}),
        "cnn": _row(0.5, seeds=[0], command="c2", config={"train": {"epochs": 15}})}}
    (tmp_path / "ravdess_audio.json").write_text(json.dumps(results))
    md = ra.render(tmp_path)
    assert (tmp_path / "ravdess_audio.md").read_text() == md
    assert "`c`, `c2`" in md
    rows = {line.split(" | ")[0].strip("| "): line for line in md.splitlines() if line.startswith("| ")}
    assert "3 seeds, <= 40 epochs, refit" in rows["whisper-encoder"]
    assert "1 seed, <= 15 epochs |" in rows["cnn"]
    assert "| - |" in rows["mfcc-functionals+logreg"]


def test_rows_are_ordered_baseline_default_its_variants_then_the_rest():
    names = ["lstm", "whisper-encoder:model=base", "cnn", "whisper-encoder [train.refit=true]", "whisper-encoder",
             "mfcc-functionals+logreg"]
    assert sorted(names, key=rs.row_order) == ["mfcc-functionals+logreg", "whisper-encoder",
                                               "whisper-encoder [train.refit=true]", "whisper-encoder:model=base",
                                               "cnn", "lstm"]


def test_set_options_name_their_own_row_and_leave_the_plain_row_alone():
    assert rs.row_name("whisper-encoder", []) == "whisper-encoder"
    assert rs.row_name("whisper-encoder", ["train.refit=true", "augment.copies=2"]) == (
        "whisper-encoder [train.refit=true, augment.copies=2]")
    previous = {"encoders": {"whisper-encoder": _row(0.72), "whisper-encoder [train.refit=true]": _row(0.7)}}
    args = argparse.Namespace(encoders="whisper-encoder", no_baseline=True, sets=["train.refit=true"])
    assert sorted(rs.kept_rows(previous, args)) == ["whisper-encoder"]  # only the refit row is recomputed


def test_option_notes_are_rendered_under_their_rows():
    name = "whisper-encoder [train.refit=true]"
    results = {"seeds": [0], "command": "c", "encoders": {"whisper-encoder": _row(0.72, command="c"),
                                                          name: _row(0.73, command="c", wall_time_s=None)}}
    md = rr.audio_markdown(results)
    note = rr.notes("Option notes")[name]
    assert note.startswith(f"`{name}`: after early stopping") and f"\n\n{note}\n\nWall time" in md
    assert "augment.copies=2]`:" not in md  # a note without its row is left out
    row = next(line for line in md.splitlines() if line.startswith(f"| {name} |"))
    assert row.endswith("| - |")  # unknown wall time shows as "-", not "None"


def test_rendering_the_committed_json_reproduces_the_committed_markdown(tmp_path):
    for name in ("ravdess_audio.json", "ravdess_tuning.json"):
        shutil.copy(RESULTS / name, tmp_path)
    assert ra.main(["--render-only", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "ravdess_audio.md").read_bytes() == (RESULTS / "ravdess_audio.md").read_bytes()


def test_without_a_tuning_log_the_report_ends_with_the_references(tmp_path):
    shutil.copy(RESULTS / "ravdess_audio.json", tmp_path)
    md = ra.render(tmp_path)
    assert md.endswith("| frozen whisper base + logistic regression | 72.4 |\n") and "Not adopted: `" not in md
    assert (RESULTS / "ravdess_audio.md").read_text().startswith(md)  # the committed one goes on with the tuning
