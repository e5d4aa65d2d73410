"""bench/accuracy/cross_corpus.py end to end on tiny fakes: a fake RAVDESS (audio), fake MELD and DailyDialog
(text), synthetic target manifests; the fake encoders stand in for the default ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.accuracy import cross_corpus as cc
from tests.fakes import make_fake_dailydialog, make_fake_meld, make_fake_ravdess, make_synthetic_corpus

QUICK = ("--acoustic-encoder", "fake-frames", "--text-encoder", "fake-bag", "--epochs", "20")


@pytest.fixture
def public(tmp_path):
    """Fake public corpora laid out as ../shared/data is."""
    shared = tmp_path / "shared" / "data"
    make_fake_ravdess(shared / "ravdess")
    make_fake_meld(shared / "meld", dialogues=12)
    make_fake_dailydialog(shared / "text-emotion" / "dailydialog", dialogues=12, test=True)
    return shared


def test_trains_once_composes_and_scores_each_target(fake_plugins, public, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FUSION_SHARED", str(public.parent))
    work, out = tmp_path / "work", tmp_path / "out"
    target = make_synthetic_corpus(tmp_path / "target", speakers=3, per_label=3, seed=2,
                                   text_informative=1.0) / "manifest.csv"
    code = cc.main(["--target", str(target), "--out", str(out), "--transcriber", "gold", "--work-dir", str(work),
                    *QUICK])
    assert code == 0, capsys.readouterr().err
    r = json.loads((out / "results.json").read_text())
    for branch in ("audio", "text", "fused"):
        assert r[branch]["n"] == 36 and all(0.0 <= r[branch][k] <= 1.0 for k in ("ua", "wa", "macro_f1"))
    assert r["text"]["ua"] > 0.9  # gold transcripts, the words the text corpora taught under their own label names
    assert r["labels"] == ["angry", "happy", "neutral", "sad"] and r["transcriber"] == "gold"
    # defaults: the corpora present in the shared folder (ISEAR and GoEmotions are not there)
    assert r["corpora"] == {"audio": [f"ravdess={public / 'ravdess'}"],
                            "text": [f"meld={public / 'meld'}", f"dailydialog={public / 'text-emotion' / 'dailydialog'}"]}
    audio, text = r["training"]["audio"], r["training"]["text"]
    assert audio["dataset"] == "ravdess" and audio["labels"] == r["labels"] and audio["modes"] == ["audio"]
    assert text["dataset"] == "multi" and text["protocol"] == "predefined" and text["transcriber"] == "gold"
    assert r["defaults"] is False and r["changed"] == ["acoustic encoder", "text encoder", "epochs"]
    assert text["train"]["max_per_label"] == 2500 and "max_per_label" not in audio["train"]  # 0: not written
    held_out = r["text_held_out_test"]  # each text corpus' own test split (MELD's is not in the shared folder)
    assert sorted(held_out) == ["dailydialog"] and held_out["dailydialog"]["n"] > 0
    assert 0.0 <= held_out["dailydialog"]["ua"] <= 1.0
    assert r["adapted"] is True and r["unadapted"]["fused"]["n"] == 36  # adapted by default, both reported
    composition = json.loads((Path(r["models"]["composed"]) / "compose.json").read_text())
    assert composition["adaptation"]["n"] == 36 and composition["adaptation"]["transcriber"] == "gold"
    md = (out / "results.md").read_text()
    assert "adapted, without labels, on the target clips" in md and "Without the adaptation" in md
    assert md == cc.report(r) + "\n" and f"| text | {100 * r['text']['ua']:.1f} |" in md
    assert "dailydialog UA" in md and "at most 2500 sentences per corpus, split and label, plus 1 ASR-style" in md
    assert text["augment"]["text_copies"] == 1 and audio.get("augment", {}).get("text_copies", 0) == 0
    assert "augment" not in audio and text["augment"]["copies"] == 0  # no waveform copies unless asked
    err = capsys.readouterr().err
    assert "audio model: training on ravdess" in err and "text model: training on multi" in err
    stamps = {m: (work / d.split("/")[-1] / "model.pt").stat().st_mtime_ns for m, d in r["models"].items()
              if m != "composed"}

    # a second target: nothing trained again; another transcriber is named in the result
    target2 = make_synthetic_corpus(tmp_path / "target2", speakers=2, per_label=2, seed=3) / "manifest.csv"
    code = cc.main(["--target", str(target2), "--out", str(tmp_path / "out2"), "--transcriber", "fake-asr",
                    "--work-dir", str(work), *QUICK])
    assert code == 0
    err = capsys.readouterr().err
    assert "audio model: cached" in err and "text model: cached" in err and "training on" not in err
    r2 = json.loads((tmp_path / "out2" / "results.json").read_text())
    assert r2["fused"]["n"] == 16 and r2["transcriber"] == "fake-asr"
    assert {m: r2["models"][m] for m in ("audio", "text")} == {m: r["models"][m] for m in ("audio", "text")}
    assert r2["models"]["composed"] != r["models"]["composed"]  # adapted to its own clips and transcripts
    assert {m: (work / d.split("/")[-1] / "model.pt").stat().st_mtime_ns for m, d in r2["models"].items()
            if m != "composed"} == stamps


def test_text_corpora_can_be_chosen_and_errors_are_one_line(fake_plugins, public, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FUSION_SHARED", str(tmp_path / "empty"))
    target = make_synthetic_corpus(tmp_path / "target", speakers=2, per_label=1) / "manifest.csv"
    base = ["--target", str(target), "--out", str(tmp_path / "out"), "--work-dir", str(tmp_path / "work")]
    assert cc.main(base) == 2  # nothing in the (empty) shared folder
    assert capsys.readouterr().err.strip().startswith("error: no audio corpus found")
    code = cc.main([*base, "--audio-corpora", f"ravdess={public / 'ravdess'}", "--text-corpora",
                    f"meld={public / 'meld'}", "--transcriber", "gold", *QUICK])
    assert code == 0
    r = json.loads((tmp_path / "out" / "results.json").read_text())
    assert r["training"]["text"]["dataset"] == "meld" and r["corpora"]["text"] == [f"meld={public / 'meld'}"]
    assert "augment" not in r["training"]["audio"]
    assert cc.main([*base, "--audio-corpora", f"ravdess={public / 'ravdess'}", "--text-corpora",
                    f"meld={public / 'meld'}", "--transcriber", "gold", "--no-adapt", "--audio-copies", "1", *QUICK]) == 0
    r = json.loads((tmp_path / "out" / "results.json").read_text())
    assert r["adapted"] is False and "unadapted" not in r and r["training"]["audio"]["augment"]["copies"] == 1
    assert "ravdess (plus 1 noisy, speed-perturbed copy of each clip, augment.copies)" in \
        (tmp_path / "out" / "results.md").read_text()
    assert json.loads((Path(r["models"]["composed"]) / "compose.json").read_text())["adaptation"] is None
    assert "not adapted to the target" in (tmp_path / "out" / "results.md").read_text()
    assert r["training"]["audio"]["train"]["seed"] == 0
    assert cc.main([*base, "--audio-corpora", f"ravdess={public / 'ravdess'}", "--text-corpora",
                    f"meld={public / 'meld'}", "--transcriber", "gold", "--audio-seed", "3", *QUICK]) == 0
    r3 = json.loads((tmp_path / "out" / "results.json").read_text())
    assert r3["training"]["audio"]["train"]["seed"] == 3 and r3["training"]["text"]["train"]["seed"] == 0
    assert r3["models"]["audio"] != r["models"]["audio"] and r3["models"]["text"] == r["models"]["text"]
    capsys.readouterr()
    assert cc.main([*base, "--audio-corpora", f"ravdess={public / 'ravdess'}", "--text-corpora",
                    f"meld={public / 'meld'}", "--transcriber", "fake-asr", "--set", "transcriber.bogus=1", *QUICK]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: transcriber 'fake-asr': unknown option(s) bogus") and "training" not in err
    assert cc.main([*base, "--set", "head.x=1"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert cc.main([*base[:1], str(tmp_path / "nowhere.csv"), *base[2:], "--audio-corpora", "ravdess=x",
                    "--text-corpora", "meld=y"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "nowhere.csv" in err[-1]


def test_demo_target_is_the_bundled_corpus_as_a_manifest(tmp_path):
    import csv

    rows = list(csv.DictReader(open(cc.demo_target(tmp_path / "work"), encoding="utf-8")))
    assert len(rows) == 400 and {r["label"] for r in rows} == {"angry", "happy", "neutral", "sad"}
    assert len({r["speaker"] for r in rows}) == 10 and all(r["transcript"] for r in rows)
    assert all(Path(r["path"]).is_file() for r in rows[:5])
