"""bench/accuracy/paired_fusion.py: the head table over pooled run records and the reports it renders."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import head_comparison as hc
import paired_fusion as pf
import paired_fusion_report as report
import support
from fusion.runners import RunRecord
from fusion.training.metrics import classification_metrics

LABELS = ["angry", "happy", "sad"]
COMMITTED = ["demo_fusion", "paired_fusion", "paired_fusion_seed1", "paired_fusion_texts3", "paired_fusion_texts3_seed1"]


def record(mode: str, fold: int, y: list[int], strength: float, rng, best_epoch: int = 3) -> RunRecord:
    logits = rng.standard_normal((len(y), len(LABELS)))                 # [N, C]
    logits[np.arange(len(y)), y] += strength
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)       # [N, C]
    return RunRecord(mode=mode, seed=0, fold=fold, metrics=classification_metrics(y, probs.argmax(1), LABELS),
                     best_epoch=best_epoch, curve=[{"epoch": 1}], ids=[f"f{fold}-{i}" for i in range(len(y))],
                     y_true=y, probs=np.round(probs, 6).tolist())


@pytest.fixture
def runs():
    rng = np.random.default_rng(0)
    unimodal, fused = [], {hc.DEFAULT_HEAD: [], "concat": []}
    for fold in range(2):
        y = rng.integers(0, len(LABELS), 60).tolist()
        unimodal += [record("audio", fold, y, 2.0, rng, best_epoch=10 + fold), record("text", fold, y, 0.5, rng)]
        fused[hc.DEFAULT_HEAD].append(record("fused", fold, y, 3.0, rng, best_epoch=20 + fold))
        fused["concat"].append(record("fused", fold, y, 0.1, rng))
    return unimodal, fused


def test_head_table_compares_every_head_and_the_product_with_the_best_unimodal_model(runs):
    unimodal, fused = runs
    table = hc.head_table(unimodal, fused, LABELS, n_folds=2)
    assert list(table["heads"]) == [hc.DEFAULT_HEAD, "concat", hc.REFERENCE] and table["best_unimodal"] == "audio"
    audio = table["unimodal"]["audio"]
    assert audio["ua"]["per_fold"] == [r.metrics["ua"] for r in unimodal if r.mode == "audio"]
    assert audio["best_epochs"] == [10, 11] and "curves" not in audio
    default, concat = table["heads"][hc.DEFAULT_HEAD], table["heads"]["concat"]
    assert default["best_epochs"] == [20, 21] and default["meets_target"] and not concat["meets_target"]
    assert default["vs_best_unimodal"]["unimodal"] == "audio" and default["vs_best_unimodal"]["diff"] > hc.TARGET
    assert concat["vs"]["audio"]["diff"] < 0 and concat["vs_best_unimodal"]["diff"] == concat["vs"]["audio"]["diff"]
    # the reference: per utterance, the normalised product of the two posteriors
    product = table["heads"][hc.REFERENCE]
    a, t = (np.asarray(r.probs) for r in unimodal[:2])                  # fold 0: [N, C] each
    expected = classification_metrics(unimodal[0].y_true, (a * t).argmax(1), LABELS)["ua"]
    assert product["ua"]["per_fold"][0] == pytest.approx(expected) and product["best_epochs"] == [None, None]


def test_product_needs_both_runs_tested_on_the_same_utterances(runs):
    unimodal, _ = runs
    unimodal[1].ids = list(reversed(unimodal[1].ids))
    with pytest.raises(RuntimeError, match="different utterances"):
        hc.product_records(unimodal, LABELS)


def test_ablation_records_reuse_a_finished_run_and_renumber_its_fold(tmp_path, runs):
    unimodal, _ = runs
    cfg = pf.demo_config(hc.DEFAULT_HEAD)
    (tmp_path / "runs").mkdir()
    (tmp_path / "results.json").write_text(json.dumps({"config": cfg.to_dict()}))
    for r in unimodal[:2]:
        (tmp_path / "runs" / f"{r.mode}-s{r.seed}-f{r.fold}.json").write_text(json.dumps(r.to_dict()))
    (tmp_path / "runs" / "audio-s7-f0.json").write_text(json.dumps({**unimodal[0].to_dict(), "seed": 7}))
    logged = []
    records = pf.ablation_records(cfg, tmp_path, logged.append, fold=3)  # seed 7 is not of this config
    assert sorted(r.mode for r in records) == ["audio", "text"] and {r.fold for r in records} == {3}
    assert "reused" in logged[0]


def test_several_texts_report_compares_with_the_best_unimodal_model_of_either_run():
    def table(audio, text, fused, k):
        row = lambda ua: {"ua": {"mean": ua}}  # noqa: E731
        return {"unimodal": {"audio": row(audio), "text": row(text)}, "heads": {hc.DEFAULT_HEAD: row(fused)},
                "train_texts": k, "seed": seed}

    seed = 0
    line = report.one_text_comparison(table(0.718, 0.379, 0.790, 3), table(0.730, 0.348, 0.758, 1))
    assert "audio-only 73.0 -> 71.8, text-only 34.8 -> 37.9" in line
    assert "(audio, one text, 73.0): +6.0 points" in line  # the one-text audio model is the stronger one
    line = report.one_text_comparison(table(0.74, 0.379, 0.790, 3), table(0.730, 0.348, 0.758, 1))
    assert "(audio, 3 texts, 74.0): +5.0 points" in line
    assert "(`paired_fusion.md`" in line
    seed = 1
    assert "(`paired_fusion_seed1.md`" in report.one_text_comparison(table(0.74, 0.3, 0.8, 3), table(0.7, 0.3, 0.7, 1))


def test_results_stems_name_texts_and_seed():
    assert [report.results_stem(k, s) for k, s in ((1, 0), (3, 0), (1, 1), (3, 2))] == [
        "paired_fusion", "paired_fusion_texts3", "paired_fusion_seed1", "paired_fusion_texts3_seed2"]


def test_render_only_reproduces_every_committed_report_byte_for_byte(tmp_path):
    """The reports are a function of their JSON alone: re-rendering them changes nothing."""
    assert sorted(p.stem for p in support.RESULTS.glob("*_fusion*.json")) == COMMITTED
    for stem in COMMITTED:
        shutil.copy(support.RESULTS / f"{stem}.json", tmp_path)
    assert pf.main(["--render-only", "--out", str(tmp_path)]) == 0
    for stem in COMMITTED:
        rendered = (tmp_path / f"{stem}.md").read_bytes()
        assert rendered == (support.RESULTS / f"{stem}.md").read_bytes(), stem


def test_render_only_restricted_and_the_machine_comes_from_the_json(tmp_path):
    t = json.loads((support.RESULTS / "demo_fusion.json").read_text())
    (tmp_path / "demo_fusion.json").write_text(json.dumps({**t, "machine": "riscv64"}))
    shutil.copy(support.RESULTS / "paired_fusion_seed1.json", tmp_path)
    assert pf.render_all(tmp_path, paired=False) == [tmp_path / "demo_fusion.md"]
    assert not (tmp_path / "paired_fusion_seed1.md").exists()
    assert "shared 2-core riscv64 CPU" in (tmp_path / "demo_fusion.md").read_text()
    assert pf.render_all(tmp_path, demo=False) == [tmp_path / "paired_fusion_seed1.md"]


def test_script_help_runs_as_a_script():
    out = subprocess.run([sys.executable, str(support.ROOT / "bench" / "accuracy" / "paired_fusion.py"), "--help"],
                         capture_output=True, text=True, cwd=support.ROOT.parent, check=True).stdout
    for flag in ("--work-dir", "--cache", "--render-only", "--train-texts", "--heads"):
        assert flag in out
