"""Every bad input of the table (bad_input_table.py) through every entry point, and docs/bad-input.md.

Entry points: ``fusion.audio.load``; ``fusion prepare manifest``; ``fusion transcribe`` (a fake
speech-to-text for audio cases, ``gold`` for the transcript rows); ``fusion ablate`` and
``fusion train`` on the synthetic corpus with every input injected; ``fusion predict`` and
``fusion.load(...).predict_batch``. Each CLI runs once over all fast cases (entry_points.Matrix).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from fusion import audio
from fusion.data import read_manifest
from tests.conftest import ROOT
from tests.inference.helpers import registered_fakes, train_tiny_models
from tests.reliability.bad_input_table import BY_NAME, CASES, DOC, Accepted, Case, Loads, Raises, Reported, render
from tests.reliability.entry_points import Matrix, Seen, finite, invoke, permissions_enforced

# test name -> (Matrix entry, column of the table)
ENTRIES = {"prepare": ("prepare", "prepare"), "transcribe": ("transcribe", "transcribe"),
           "ablate": ("ablate", "corpus"), "train": ("train", "corpus"),
           "predict-cli": ("predict-cli", "predict"), "predict-api": ("predict-api", "predict")}


def params(cases=CASES):
    return [pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.slow else []) for c in cases]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    root = tmp_path_factory.mktemp("matrix")
    with registered_fakes():
        model = train_tiny_models(root / "models", names=("fused",))["fused"]  # labels lack "surprised"
        yield Matrix(root, CASES, model)


# ----------------------------------------------------------------------------- fusion.audio.load


@pytest.mark.parametrize("case", params())
def test_loader(case: Case, tmp_path):
    path = case.make(tmp_path)
    expected = case.load
    with permissions_enforced(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if isinstance(expected, Raises):
            with pytest.raises(expected.error) as info:
                audio.load(path)
            assert type(info.value) is expected.error
            assert str(info.value).startswith(f"{path}: ") and info.value.path == str(path)
            assert expected.fragment in str(info.value)
            return
        wav = audio.load(path)
    assert wav.dtype == np.float32 and wav.ndim == 1 and np.isfinite(wav).all()
    assert abs(wav.size - expected.seconds * audio.TARGET_SR) <= 1
    categories = {w.category for w in caught}
    assert (expected.warning in categories) if expected.warning else not categories & {audio.SilentAudioWarning}


# ----------------------------------------------------------------------------- the CLI and API


def _names_the_input(seen: Seen, case: Case, path) -> bool:
    return str(path) in seen.reason or seen.where == str(path) or repr(case.name) in seen.reason


@pytest.mark.parametrize("case", params())
@pytest.mark.parametrize("test_entry", list(ENTRIES))
def test_entry_point(matrix, test_entry: str, case: Case):
    entry, column = ENTRIES[test_entry]
    if test_entry == "transcribe" and case.row_case:
        entry = "transcribe-gold"  # the row's transcript is the point, not speech-to-text
    run, seen = matrix.observe(entry, case)
    outcome, path = case.outcome(column), matrix.path(case)
    if isinstance(outcome, Reported):
        assert not seen.accepted, f"{test_entry} used {case.name}, the table says it reports it"
        assert case.fragment(column).lower() in seen.reason.lower(), seen.reason
        assert _names_the_input(seen, case, path), f"{seen.reason!r} does not name {path}"
        return
    assert isinstance(outcome, Accepted)
    assert seen.accepted, f"{test_entry} did not use {case.name}: {seen.reason}"
    if outcome.warning:
        assert any(outcome.warning in w for w in seen.warnings), seen.warnings
    if entry == "prepare":
        assert seen.transcript == (case.transcript or None)
    if entry == "transcribe":
        assert seen.transcript == "unknown"  # what the fake speech-to-text hears
    if entry == "transcribe-gold":
        assert seen.transcript == case.transcript
    if column == "predict":
        long = case.load.seconds > 20
        assert (seen.segments > 0) == long
        assert long or seen.transcript == case.transcript  # a manifest's transcript is used as is


def _reported(column: str, cases) -> list[Case]:
    return [c for c in cases if isinstance(c.outcome(column), Reported)]


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("entry", ["prepare", "transcribe", "transcribe-gold", "ablate", "train", "predict-cli"])
def test_cli_prints_no_traceback_and_at_most_one_error_line(matrix, entry):
    run = matrix.run(entry, "fast")
    cases = [c for c in matrix.cases if not c.slow]
    out = run.cli.stdout + run.cli.stderr
    assert "Traceback" not in out and (run.cli.exception is None or isinstance(run.cli.exception, SystemExit))
    errors = _error_lines(run.cli.stderr)
    audio_cases = [c for c in cases if not c.row_case]
    failing = {"prepare": [], "transcribe": _reported("transcribe", audio_cases), "transcribe-gold": [],
               "ablate": [], "train": [], "predict-cli": _reported("predict", cases)}[entry]
    assert run.cli.exit_code == (1 if failing else 0), run.cli.output
    if failing:
        assert errors == [run.cli.stderr.strip().splitlines()[-1]]
        total = len(read_manifest(matrix.corpus("fast")[0]))
        assert errors[0].startswith(f"error: {len(failing)} of {total} ")
    else:
        assert errors == []
    if entry == "prepare":
        skipped = _reported("prepare", cases)
        assert f"warning: {len(skipped)} file(s) could not be parsed" in run.cli.stderr


@pytest.mark.parametrize("entry", ["ablate", "train"])
def test_the_good_utterances_finish_with_finite_losses(matrix, entry):
    run = matrix.run(entry, "fast")
    synthetic = {u.id for u in read_manifest(matrix.corpus("fast")[0])} - {c.name for c in CASES}
    assert finite(run.extra["losses"]), run.extra["losses"]
    if entry == "ablate":
        results = run.extra["results"]
        assert synthetic <= run.extra["tested"]  # every good utterance tested (exactly once: n below)
        used = len(run.extra["tested"])
        assert results["modes"]["fused"]["n"] == used == results["n_utterances"]
        assert "surprised" in results["labels"]
    else:
        metrics = run.extra["metrics"]
        assert synthetic <= run.extra["kept"]
        assert metrics["n_train"] + metrics["n_val"] == len(run.extra["kept"])


def test_predict_cli_and_api_agree(matrix):
    cli, api = matrix.run("predict-cli", "fast"), matrix.run("predict-api", "fast")
    assert len(api.extra["predictions"]) == api.extra["n_inputs"] == cli.extra["n_inputs"]
    doc = cli.extra["doc"]
    assert len(doc["predictions"]) + len(doc["errors"]) == cli.extra["n_inputs"]
    by_api = {p.id: p for p in api.extra["predictions"]}
    for p in doc["predictions"]:
        assert by_api[p["id"]].ok and by_api[p["id"]].label == p["label"]
    assert {e["id"] for e in doc["errors"]} == {p.id for p in api.extra["predictions"] if not p.ok}


@pytest.mark.parametrize("case", params([c for c in CASES if c.evaluate is not None]))
def test_evaluate_with_a_model_lacking_the_label(matrix, case: Case):
    manifest = matrix.corpus(matrix.group_of(case))[0]
    with permissions_enforced():
        result = invoke("evaluate", matrix.model_dir, "--dataset", "manifest", "--data-dir", manifest)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert _error_lines(result.stderr) == [result.stderr.strip()]
    assert case.evaluate.error.__name__ == "LabelMismatchError"
    assert case.evaluate.fragment in result.stderr and repr(case.label) in result.stderr
    with permissions_enforced():
        mapped = invoke("evaluate", matrix.model_dir, "--dataset", "manifest", "--data-dir", manifest,
                        "--label-map", f"{case.label}=happy", "--json")
    assert mapped.exit_code == 0, mapped.output
    # every input the corpus column rejects is listed with its reason (the model transcribes with
    # fake-asr, so the row-level transcript problems of a gold run do not arise)
    rejected = [c for c in _reported("corpus", matrix.cases) if not c.slow and not c.row_case]
    excluded = json.loads(mapped.stdout)["excluded"]
    assert len(excluded) == len(rejected) and f"{len(rejected)} utterance(s) could not be scored" in mapped.stderr
    paths = matrix.corpus("fast")[1]
    for bad in rejected:
        reason = excluded.get(bad.name) or excluded.get(str(paths[bad.name]))
        assert reason and bad.fragment("corpus").lower() in reason.lower(), (bad.name, reason)


# ----------------------------------------------------------------------------- permissions, docs


@pytest.mark.skipif(os.geteuid() != 0, reason="as a normal user the matrix already runs the real permission check")
def test_unreadable_file_as_an_unprivileged_user():
    """The real check behind the emulated one: ``nobody`` loading a mode-000 file."""
    import pwd
    import tempfile

    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user to drop privileges to")
    folder = tempfile.mkdtemp(prefix="fusion-perm-")  # /tmp/pytest-of-root is not traversable by others
    try:
        os.chmod(folder, 0o755)
        path = BY_NAME["unreadable-file"].make(Path(folder))
        code = ("import sys\nfrom fusion import audio\nfrom fusion.errors import AudioDecodeError\n"
                "try:\n    audio.load(sys.argv[1])\nexcept AudioDecodeError as e:\n    print(e)\n")
        try:
            done = subprocess.run([sys.executable, "-c", code, str(path)], user="nobody", cwd=ROOT,
                                  capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": folder})
        except PermissionError:
            pytest.skip(f"'nobody' cannot run {sys.executable} (e.g. a Python below a private /root)")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"{path}: permission denied"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_docs_bad_input_md_is_rendered_from_the_table():
    assert DOC.is_file(), "docs/bad-input.md is missing: run .venv/bin/python -m tests.reliability.bad_input_table"
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/bad-input.md differs from the table: run .venv/bin/python -m tests.reliability.bad_input_table")


def test_every_case_states_an_outcome_for_every_entry_point():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    for case in CASES:
        assert isinstance(case.load, (Raises, Loads))
        for column in ("prepare", "transcribe", "corpus", "predict"):
            assert isinstance(case.outcome(column), (Reported, Accepted)), (case.name, column)
        if isinstance(case.load, Loads):  # decodable audio: only a row-level problem can reject it
            assert case.row_case or all(isinstance(case.outcome(c), Accepted)
                                        for c in ("prepare", "transcribe", "corpus", "predict"))
