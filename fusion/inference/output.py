"""Predictions as a readable table, one JSON document, or CSV rows.

JSON (``fusion predict --json``) is a single document::

    {"model": "MODEL_DIR" (a list for an ensemble), "mode": "fused", "labels": ["angry", ...],
     "predictions": [{"id", "file", "label", "probabilities": {label: p}, "transcript",
                      "branches": {"audio": {label: p}, "text": {...}}, "duration", "silent",
                      "warnings": [...], "segments": [{"start", "end", "label", "probabilities",
                      "transcript", "branches"}]   # only for segmented (long) inputs
                     }, ...],
     "errors": [{"id", "file", "error", "duration"}, ...]}

CSV has one row per input (``segment`` empty) followed, for a segmented input, by one row per
segment (``segment`` = 0, 1, ... with ``start``/``end``); ``p_<label>`` columns hold the
probabilities, ``<branch>_label`` the per-modality labels, ``error`` the reason of a failure.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence

from .prediction import Prediction, SegmentPrediction

TRANSCRIPT_WIDTH = 48  # characters of transcript shown in the table


def json_document(predictions: Sequence[Prediction], model_dir: str | Sequence[str], mode: str,
                  labels: Sequence[str]) -> dict:
    """``model``: the model directory, or the list of an ensemble's directories."""
    model = str(model_dir) if isinstance(model_dir, (str, os.PathLike)) else [str(d) for d in model_dir]
    return {"model": model, "mode": mode, "labels": list(labels),
            "predictions": [p.to_dict() for p in predictions if p.ok],
            "errors": [p.to_dict() for p in predictions if not p.ok]}


def to_json(predictions: Sequence[Prediction], model_dir: str | Sequence[str], mode: str,
            labels: Sequence[str]) -> str:
    return json.dumps(json_document(predictions, model_dir, mode, labels), ensure_ascii=False, indent=2)


def _clip(text: str | None, width: int = TRANSCRIPT_WIDTH) -> str:
    if text is None:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _clock(seconds: float) -> str:
    minutes, sec = divmod(seconds, 60.0)
    return f"{int(minutes):02d}:{sec:04.1f}"


def _branches(p: Prediction | SegmentPrediction) -> str:
    return " ".join(f"{name}={label}" for name, label in p.branch_labels().items())


def to_table(predictions: Sequence[Prediction], show_transcript: bool = True) -> str:
    """Columns: input, label, top probability, per-branch labels, transcript; then the timeline of
    each segmented input and the warnings/errors under their input."""
    width = min(60, max([len(p.id) for p in predictions] + [5]))
    header = f"{'input':<{width}}  {'label':<10} {'p':>5}  {'branches':<28}" + ("  transcript" if show_transcript else "")
    lines = [header, "-" * len(header)]
    for p in predictions:
        name = p.id if len(p.id) <= width else "…" + p.id[-(width - 1):]
        if not p.ok:
            lines.append(f"{name:<{width}}  {'ERROR':<10} {'':>5}  {p.error}")
            continue
        row = f"{name:<{width}}  {p.label:<10} {p.top_probability:5.2f}  {_branches(p):<28}"
        lines.append(row + (f"  {_clip(p.transcript)}" if show_transcript else ""))
        for s in p.segments:
            seg = f"  {_clock(s.start)}-{_clock(s.end)}"
            lines.append(f"{seg:<{width}}  {s.label:<10} {s.probabilities[s.label]:5.2f}  {_branches(s):<28}"
                         + (f"  {_clip(s.transcript)}" if show_transcript else ""))
        lines.extend(f"{'':<{width}}  warning: {w}" for w in p.warnings)
    return "\n".join(line.rstrip() for line in lines)


def csv_rows(predictions: Sequence[Prediction], labels: Sequence[str]) -> list[dict]:
    rows = []

    def row(p: Prediction, **extra) -> dict:
        return {"id": p.id, "file": p.file or "", "segment": "", "start": "", "end": "",
                "duration": "" if p.duration is None else round(p.duration, 3), **extra}

    for p in predictions:
        if not p.ok:
            rows.append(row(p, error=p.error))
            continue
        rows.append(row(p, label=p.label, top_probability=round(p.top_probability, 4),
                        transcript=p.transcript or "", silent=int(p.silent), warnings=" | ".join(p.warnings),
                        **{f"{b}_label": lab for b, lab in p.branch_labels().items()},
                        **{f"p_{k}": round(v, 4) for k, v in p.probabilities.items()}))
        for n, s in enumerate(p.segments):
            rows.append(row(p, segment=n, start=round(s.start, 3), end=round(s.end, 3),
                            duration=round(s.duration, 3), label=s.label,
                            top_probability=round(s.probabilities[s.label], 4), transcript=s.transcript or "",
                            **{f"{b}_label": lab for b, lab in s.branch_labels().items()},
                            **{f"p_{k}": round(v, 4) for k, v in s.probabilities.items()}))
    fields = csv_fields(predictions, labels)
    return [{k: r.get(k, "") for k in fields} for r in rows]


def csv_fields(predictions: Sequence[Prediction], labels: Sequence[str]) -> list[str]:
    branches = sorted({b for p in predictions for b in p.branches})
    return ["id", "file", "segment", "start", "end", "duration", "label", "top_probability",
            *[f"{b}_label" for b in branches], *[f"p_{l}" for l in labels], "transcript", "silent",
            "warnings", "error"]


def to_csv(predictions: Sequence[Prediction], labels: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=csv_fields(predictions, labels), lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(predictions, labels))
    return buf.getvalue()
