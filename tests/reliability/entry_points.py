"""Runs each entry point once over a group of bad-input cases and records what it did per case.

The cases of the table are injected into one synthetic corpus (``matrix.jsonl``: the synthetic
utterances of tests/fakes.py plus one row per case, id = the case's name). Every CLI entry point
runs in-process (click's CliRunner, as ``fusion`` would) once per group: all fast cases together,
a slow case alone; :class:`Matrix` runs a group lazily the first time one of its cases is asked for.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from fusion.data import Utterance, read_manifest, write_manifest
from tests.fakes import LABELS, make_synthetic_corpus, prepare_synthetic
from tests.reliability.bad_input_table import Case

FAKES = ("--acoustic-encoder", "fake-frames", "--text-encoder", "fake-bag", "--transcriber", "gold",
         "--head", "concat", "--epochs", "2")


@dataclass
class Seen:
    """What one entry point did with one case's input."""

    accepted: bool                      # used (kept / transcribed / trained on / predicted)
    reason: str = ""                    # the reason it gave when it did not use it
    where: str = ""                     # the path or id the reason was filed under
    transcript: str | None = None       # transcript it produced or used
    warnings: tuple[str, ...] = ()      # per-input warnings (predict)
    segments: int = 0                   # timeline length (predict, long inputs)


@dataclass
class Run:
    """One run of one entry point over a group of cases."""

    seen: dict[str, Seen]                          # case name -> what happened
    cli: Result | None = None                      # the CLI result (None for Python APIs)
    extra: dict = field(default_factory=dict)      # entry-specific facts (results.json, ...)


def invoke(*args) -> Result:
    """``fusion ARGS`` in-process (plugin commands registered, as the real entry point does)."""
    from fusion.cli import _register_plugin_commands, cli

    _register_plugin_commands()
    return CliRunner().invoke(cli, [str(a) for a in args])


@contextmanager
def permissions_enforced() -> Iterator[None]:
    """Root reads any file, so ``os.access`` says yes to mode 000: emulate the permission bits then
    (as a normal user the real check runs; see test_unreadable_file_as_an_unprivileged_user)."""
    if os.geteuid() != 0:
        yield
        return
    real = os.access

    def access(path, mode, *args, **kwargs):
        p = Path(path)
        if mode & os.R_OK and p.is_file() and not p.stat().st_mode & 0o444:
            return False
        return real(path, mode, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "access", access)
        yield


# ----------------------------------------------------------------------------- the corpus


def build_corpus(root: Path, cases: Sequence[Case]) -> tuple[Path, dict[str, Path]]:
    """Synthetic corpus + one row per case -> (matrix.jsonl, case name -> its input path)."""
    synthetic = prepare_synthetic(make_synthetic_corpus(root / "synthetic", speakers=6, per_label=2))
    inputs = root / "inputs"
    inputs.mkdir()
    rows, paths = list(synthetic), {}
    for n, case in enumerate(cases):
        paths[case.name] = case.make(inputs)
        rows.append(Utterance(case.name, paths[case.name], case.label or LABELS[n % len(LABELS)],
                              f"spk{n % 6}", transcript=case.transcript))
    return write_manifest(rows, root / "matrix.jsonl"), paths


# ----------------------------------------------------------------------------- entry points


def run_prepare(manifest: Path, cases: Sequence[Case], paths: dict[str, Path], out: Path) -> Run:
    result = invoke("prepare", "manifest", manifest, "-o", out / "prepared.jsonl", "--json")
    summary = json.loads(result.stdout)
    skipped = {s["path"]: s["reason"] for s in summary["skipped"]}
    kept = {u.id: u for u in read_manifest(out / "prepared.jsonl")} if result.exit_code == 0 else {}
    seen = {}
    for case in cases:
        path = str(paths[case.name])
        if case.name in kept:
            seen[case.name] = Seen(True, transcript=kept[case.name].transcript)
        else:
            seen[case.name] = Seen(False, skipped.get(path, "(not listed)"), path if path in skipped else "")
    return Run(seen, result, {"kept": len(kept), "summary": summary})


def run_transcribe(manifest: Path, cases: Sequence[Case], transcriber: str, out: Path) -> Run:
    output = out / f"transcripts-{transcriber}.jsonl"
    result = invoke("transcribe", manifest, "-t", transcriber, "-o", output)
    rows = {r["id"]: r for r in map(json.loads, output.read_text(encoding="utf-8").splitlines())}
    seen = {}
    for case in cases:
        row = rows.get(case.name)
        if row is None:
            seen[case.name] = Seen(False, "(no row)")
        elif "error" in row:
            seen[case.name] = Seen(False, row["error"], case.name)
        else:
            seen[case.name] = Seen(True, transcript=row["transcript"])
    return Run(seen, result, {"rows": len(rows)})


def _excluded_seen(cases: Sequence[Case], paths: dict[str, Path], excluded: dict[str, str],
                   used: set[str]) -> dict[str, Seen]:
    seen = {}
    for case in cases:
        for key in (case.name, str(paths[case.name])):
            if key in excluded:
                seen[case.name] = Seen(False, excluded[key], key)
                break
        else:
            seen[case.name] = Seen(case.name in used, "" if case.name in used else "(silently dropped)")
    return seen


def run_ablate(manifest: Path, cases: Sequence[Case], paths: dict[str, Path], out: Path) -> Run:
    run_dir = out / "ablation"
    result = invoke("ablate", "--dataset", "manifest", "--data-dir", manifest, *FAKES, "--modes", "fused",
                    "--folds", "2", "--out", run_dir)
    results = json.loads((run_dir / "results.json").read_text()) if result.exit_code == 0 else {}
    runs = [json.loads(p.read_text()) for p in sorted((run_dir / "runs").glob("*.json"))]
    tested = {i for r in runs for i in r["ids"]}
    seen = _excluded_seen(cases, paths, results.get("excluded", {}), tested)
    losses = [row["train_loss"] for r in runs for row in r["curve"]]
    return Run(seen, result, {"results": results, "tested": tested, "losses": losses})


def run_train(manifest: Path, cases: Sequence[Case], paths: dict[str, Path], out: Path) -> Run:
    model_dir = out / "model"
    result = invoke("train", "--dataset", "manifest", "--data-dir", manifest, *FAKES, "--mode", "fused",
                    "--out", model_dir)
    metrics = json.loads((model_dir / "metrics.json").read_text()) if result.exit_code == 0 else {}
    excluded = metrics.get("excluded", {})
    kept = {u.id for u in read_manifest(manifest) if u.id not in excluded and str(u.audio) not in excluded}
    seen = _excluded_seen(cases, paths, excluded, kept)
    curve = json.loads((model_dir / "curve.json").read_text()) if result.exit_code == 0 else []
    return Run(seen, result, {"metrics": metrics, "kept": kept, "losses": [r["train_loss"] for r in curve]})


def _prediction_seen(p: dict) -> Seen:
    """A prediction as `fusion predict --json` writes it (Prediction.to_dict())."""
    if p.get("error"):
        return Seen(False, p["error"], p["id"])
    return Seen(True, transcript=p["transcript"], warnings=tuple(p["warnings"]), segments=len(p.get("segments", ())))


def run_predict_cli(manifest: Path, cases: Sequence[Case], model_dir: Path) -> Run:
    result = invoke("predict", model_dir, manifest, "--json")
    doc = json.loads(result.stdout)
    by_id = {p["id"]: p for p in doc["predictions"] + doc["errors"]}
    seen = {c.name: _prediction_seen(by_id[c.name]) if c.name in by_id else Seen(False, "(no output)")
            for c in cases}
    return Run(seen, result, {"doc": doc, "n_inputs": len(read_manifest(manifest))})


def run_predict_api(manifest: Path, cases: Sequence[Case], model_dir: Path) -> Run:
    import fusion

    utterances = read_manifest(manifest)
    predictions = fusion.load(model_dir).predict_batch(utterances)
    by_id = {p.id: p.to_dict() for p in predictions}
    seen = {c.name: _prediction_seen(by_id[c.name]) if c.name in by_id else Seen(False, "(no output)")
            for c in cases}
    return Run(seen, None, {"predictions": predictions, "n_inputs": len(utterances)})


def finite(values: Sequence[float]) -> bool:
    return bool(values) and all(math.isfinite(v) for v in values)


# ----------------------------------------------------------------------------- lazily, per group


class Matrix:
    """``observe(entry, case)`` -> (Run, Seen); a group's entry point runs once, on first use."""

    ENTRIES = ("prepare", "transcribe", "transcribe-gold", "ablate", "train", "predict-cli", "predict-api")

    def __init__(self, root: Path, cases: Sequence[Case], model_dir: Path):
        self.root, self.cases, self.model_dir = root, list(cases), model_dir
        self._groups: dict[str, tuple[Path, dict[str, Path], list[Case]]] = {}
        self._runs: dict[tuple[str, str], Run] = {}

    def group_of(self, case: Case) -> str:
        return case.name if case.slow else "fast"

    def corpus(self, group: str) -> tuple[Path, dict[str, Path], list[Case]]:
        if group not in self._groups:
            members = [c for c in self.cases if self.group_of(c) == group]
            folder = self.root / group
            folder.mkdir()
            manifest, paths = build_corpus(folder, members)
            self._groups[group] = (manifest, paths, members)
        return self._groups[group]

    def run(self, entry: str, group: str) -> Run:
        if (entry, group) not in self._runs:
            manifest, paths, members = self.corpus(group)
            out = manifest.parent / entry
            out.mkdir()
            with pytest.MonkeyPatch.context() as mp, permissions_enforced():
                mp.setenv("FUSION_CACHE", str(manifest.parent / "cache"))
                self._runs[entry, group] = {
                    "prepare": lambda: run_prepare(manifest, members, paths, out),
                    "transcribe": lambda: run_transcribe(manifest, members, "fake-asr", out),
                    "transcribe-gold": lambda: run_transcribe(manifest, members, "gold", out),
                    "ablate": lambda: run_ablate(manifest, members, paths, out),
                    "train": lambda: run_train(manifest, members, paths, out),
                    "predict-cli": lambda: run_predict_cli(manifest, members, self.model_dir),
                    "predict-api": lambda: run_predict_api(manifest, members, self.model_dir),
                }[entry]()
        return self._runs[entry, group]

    def observe(self, entry: str, case: Case) -> tuple[Run, Seen]:
        run = self.run(entry, self.group_of(case))
        return run, run.seen[case.name]

    def path(self, case: Case) -> Path:
        return self.corpus(self.group_of(case))[1][case.name]
