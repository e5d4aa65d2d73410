"""The README's results section is a copy of the committed benchmark tables, never typed by hand."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_results_section_matches_committed_benchmarks():
    proc = subprocess.run([sys.executable, "bench/render_results.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_render_includes_every_present_table(tmp_path):
    sys.path.insert(0, str(ROOT))
    from bench.render_results import END, START, render

    (tmp_path / "asr_wer.md").write_text("| a | b |\n|---|---|\n| 1 | 2 |\n")
    block = render(tmp_path)
    assert block.startswith(START) and block.endswith(END)
    assert "### Speech-to-text WER on RAVDESS" in block and "| 1 | 2 |" in block
    assert "RAVDESS audio-only" not in block  # absent files are left out, not faked
