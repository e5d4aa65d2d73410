"""Table, JSON document and CSV rows of predictions (hand-made predictions: no model needed)."""

from __future__ import annotations

import csv
import io
import json

from fusion.inference.output import json_document, to_csv, to_json, to_table
from fusion.inference.prediction import Prediction, SegmentPrediction, summarize_segments

LABELS = ("angry", "sad")


def _p(a: float) -> dict:
    return {"angry": a, "sad": 1 - a}


def predictions() -> list[Prediction]:
    segs = [SegmentPrediction(1.0, 4.0, "angry", _p(0.9), "go away", {"audio": _p(0.8), "text": _p(0.7)}),
            SegmentPrediction(6.0, 7.0, "sad", _p(0.3), "", {"audio": _p(0.2), "text": _p(0.6)})]
    summary, transcript = summarize_segments(segs)
    return [
        Prediction("a.wav", "a.wav", "sad", _p(0.25), "i feel gloomy", {"audio": _p(0.4), "text": _p(0.1)}, 2.5),
        Prediction("bad.wav", "bad.wav", error="bad.wav: not a readable audio file (junk)"),
        Prediction("long.wav", "long.wav", summary.label, summary.probabilities, transcript, summary.branches,
                   60.0, warnings=["segment 9.00-10.00 s skipped: boom"], segments=segs),
    ]


def test_summary_is_the_duration_weighted_mean():
    long = predictions()[2]
    assert long.probabilities["angry"] == (3 * 0.9 + 1 * 0.3) / 4
    assert long.branches["text"]["angry"] == (3 * 0.7 + 1 * 0.6) / 4
    assert long.label == "angry" and long.transcript == "go away"


def test_json_document_splits_predictions_and_errors():
    doc = json.loads(to_json(predictions(), "models/m", "fused", LABELS))
    assert doc == json_document(predictions(), "models/m", "fused", LABELS)
    assert doc["model"] == "models/m" and doc["labels"] == list(LABELS) and doc["mode"] == "fused"
    assert [p["id"] for p in doc["predictions"]] == ["a.wav", "long.wav"]
    assert doc["errors"] == [{"id": "bad.wav", "file": "bad.wav", "duration": None,
                              "error": "bad.wav: not a readable audio file (junk)"}]
    first = doc["predictions"][0]
    assert set(first) == {"id", "file", "label", "probabilities", "transcript", "branches", "duration",
                          "silent", "warnings"}
    assert first["branches"]["text"] == {"angry": 0.1, "sad": 0.9}
    long = doc["predictions"][1]
    assert [s["start"] for s in long["segments"]] == [1.0, 6.0]
    assert set(long["segments"][0]) == {"start", "end", "label", "probabilities", "transcript", "branches"}


def test_csv_has_a_row_per_input_and_per_segment():
    rows = list(csv.DictReader(io.StringIO(to_csv(predictions(), LABELS))))
    assert [(r["id"], r["segment"]) for r in rows] == [("a.wav", ""), ("bad.wav", ""), ("long.wav", ""),
                                                       ("long.wav", "0"), ("long.wav", "1")]
    assert list(rows[0])[:8] == ["id", "file", "segment", "start", "end", "duration", "label", "top_probability"]
    assert {"audio_label", "text_label", "p_angry", "p_sad", "transcript", "error"} <= set(rows[0])
    assert rows[0]["label"] == "sad" and float(rows[0]["p_sad"]) == 0.75 and rows[0]["text_label"] == "sad"
    assert rows[1]["label"] == "" and "not a readable" in rows[1]["error"]
    assert rows[3]["start"] == "1.0" and rows[3]["end"] == "4.0" and rows[3]["transcript"] == "go away"
    assert rows[2]["warnings"] == "segment 9.00-10.00 s skipped: boom"
    assert to_csv([], LABELS).splitlines()[0].startswith("id,file,segment")  # header even when empty


def test_table_shows_labels_branches_timeline_errors_and_warnings():
    table = to_table(predictions())
    lines = table.splitlines()
    assert lines[0].split()[:5] == ["input", "label", "p", "branches", "transcript"]
    row = next(line for line in lines if line.startswith("a.wav"))
    assert "sad" in row and "0.75" in row and "audio=sad text=sad" in row and "i feel gloomy" in row
    assert any(line.startswith("bad.wav") and "ERROR" in line and "not a readable" in line for line in lines)
    assert any("00:01.0-00:04.0" in line and "angry" in line for line in lines)
    assert any("warning: segment 9.00-10.00 s skipped" in line for line in lines)
    assert "transcript" not in to_table(predictions(), show_transcript=False).splitlines()[0]
