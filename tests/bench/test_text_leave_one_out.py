"""bench/accuracy/text_leave_one_out.py on fake MELD and DailyDialog: each corpus scored by a model that never
saw it, as it is and adapted to its label balance."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.accuracy import text_leave_one_out as loo
from tests.fakes import make_fake_dailydialog, make_fake_meld

QUICK = ("--text-encoder", "fake-bag", "--epochs", "5", "--text-copies", "0")


def test_each_corpus_is_scored_by_a_model_trained_on_the_others(fake_plugins, tmp_path, capsys):
    meld, dd = tmp_path / "meld", tmp_path / "dd"
    make_fake_meld(meld, dialogues=12)
    make_fake_dailydialog(dd, dialogues=12, test=True)
    out = tmp_path / "out"
    code = loo.main(["--corpora", f"meld={meld},dailydialog={dd}", "--work-dir", str(tmp_path / "work"),
                     "--out", str(out), *QUICK])
    assert code == 0, capsys.readouterr().err
    r = json.loads((out / "text_leave_one_out.json").read_text())
    assert sorted(r["held_out"]) == ["dailydialog", "meld"] and r["defaults"] is False
    for name, h in r["held_out"].items():
        assert h["n"] > 0 and sum(h["share"].values()) == pytest.approx(1.0)
        assert all(0.0 <= h[w]["ua"] <= 1.0 for w in ("as_is", "adapted"))
    err = capsys.readouterr().err
    assert "meld: UA" in err and "trained on dailydialog" in err and "trained on meld" in err
    md = (out / "text_leave_one_out.md").read_text()
    assert md == loo.report(r) + "\n" and "| meld |" in md and "Mean Δ over the 2 corpora" in md


def test_scores_are_computed_before_and_after_balancing():
    y = [0] * 10 + [1] * 10 + [2] * 10 + [3] * 10
    probs = np.full((40, 4), 0.1)
    probs[:, 0] = 0.7  # everything leans to label 0; the true label a little above the rest
    probs[np.arange(40), y] += 0.15
    probs /= probs.sum(1, keepdims=True)
    s = loo.scores(y, probs)
    assert s["as_is"]["ua"] == pytest.approx(0.25) and s["adapted"]["ua"] == pytest.approx(1.0)
    assert s["mean_output"]["angry"] > 0.5 and s["share"] == dict.fromkeys(loo.LABELS, 0.25)


def test_too_few_corpora_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FUSION_SHARED", str(tmp_path / "empty"))
    assert loo.main(["--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.startswith("error: need at least 2 text corpora")
