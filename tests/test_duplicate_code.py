"""No block of more than 6 lines of logic is written twice in fusion/, plugins/ or bench/ (pylint's
duplicate-code check, comments, docstrings, imports and signatures ignored)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MIN_LINES = 7  # a shared run of 7 lines or more is a finding: "nothing over 6 lines"


def duplicate_code(files: list[str], cwd: Path) -> subprocess.CompletedProcess:
    pytest.importorskip("pylint", reason="pylint is in the [test] extra: pip install -e '.[test]'")
    return subprocess.run([sys.executable, "-m", "pylint", "--disable=all", "--enable=duplicate-code",
                           f"--min-similarity-lines={MIN_LINES}", "--score=no", *files],
                          cwd=cwd, capture_output=True, text=True)


def test_no_duplicated_logic_in_the_tree():
    files = subprocess.run(["git", "ls-files", "fusion/*.py", "plugins/*.py", "bench/*.py"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    assert len(files) > 100
    proc = duplicate_code(files, ROOT)
    assert "R0801" not in proc.stdout, proc.stdout
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_check_finds_a_planted_duplicate(tmp_path):
    body = "\n".join(f"    total = total * {k} + value % {k + 2}" for k in range(1, 9))
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text(f"def f{name[0]}(value):\n    total = 0\n{body}\n    return total\n")
    proc = duplicate_code(["a.py", "b.py"], tmp_path)
    assert "R0801" in proc.stdout
