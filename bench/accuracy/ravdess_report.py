"""The RAVDESS audio benchmark's reports, the same for a fresh run and for ``--render-only``.

:func:`audio_markdown` renders ``templates/ravdess_audio.md`` from ravdess_audio.json (+ the head of
the tuning log, ravdess_tuning.json); :func:`tuning_results` / :func:`tuning_markdown` turn the
search's JSON-lines log (``tune_ravdess.py``) into ravdess_tuning.json and ``templates/ravdess_tuning.md``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

try:  # imported as bench.accuracy.ravdess_report (the tests)
    from .ravdess_support import row_order
except ImportError:  # its script's folder is on sys.path
    from ravdess_support import row_order

TEMPLATES = Path(__file__).resolve().parent / "templates"
TARGET_UA = 0.75
# logistic regression on exactly these folds (12 training actors, no validation split), for context
REFERENCES = {
    "eGeMAPS functionals + logistic regression": 0.462,
    "frozen whisper tiny.en, mean of all block outputs, mean-pooled + logistic regression": 0.700,
    "frozen whisper tiny.en, best single block + logistic regression": 0.731,
    "frozen whisper base + logistic regression": 0.724,
}
# The specs in the committed tuning log are relative to the defaults when the search ran (commit 9a11129):
BASELINE = {"acoustic": {"standardize": False, "feature_noise": 0.0, "frame_dropout": 0.0, "time_mask_ratio": 0.0},
            "head": {"pool": "attention", "norm": "layer", "hidden": 128, "dropout": 0.3}}


def template(name: str) -> str:
    return (TEMPLATES / f"{name}.md").read_text(encoding="utf-8")


def notes(section: str) -> dict[str, str]:
    """``NAME -> "`NAME`: NOTE."`` of one section ("Option notes", "Not adopted") of templates/ravdess_notes.md."""
    out, current = {}, None
    for line in template("ravdess_notes").splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
        elif current == section and (m := re.match(r"`([^`]+)`: ", line)):
            out[m.group(1)] = line
    return out


def whisper_model(run: dict) -> str:
    """The Whisper model of a tuning run: its ``featurize`` option, else tiny.en (the search's default)."""
    return run.get("featurize", {}).get("model", "tiny.en")


def tuning_summary(tuning: dict | None, top: int = 5) -> str:
    """The head of the ranked tuning log (ravdess_tuning.json), as the end of ravdess_audio.md."""
    if tuning is None:
        return ""
    ranked = sorted((r for r in tuning["runs"] if not r.get("inner")), key=lambda r: -r["val_ua"])[:top]
    reasons = notes("Not adopted")
    inner = "".join(f"\n| {r['spec'].get('name', '?')} | {whisper_model(r)} | {len(r['spec'].get('seeds', [0]))} | "
                    f"{100 * r['test_ua']:.1f} ± {100 * r['test_ua_std']:.1f} | {100 * r['ensemble_test_ua']:.1f} | "
                    f"{r['wall_s']} |" for r in tuning.get("inner_runs", []))
    return "\n\n" + template("ravdess_audio_tuning").removesuffix("\n").format(
        n_configurations=tuning["n_configurations"], n_runs=tuning.get("n_runs", tuning["n_configurations"]),
        top=len(ranked),
        ranked="".join(f"\n| {r['spec'].get('name', '?')} | {whisper_model(r)} | {len(r['spec'].get('seeds', [0]))} | "
                       f"{100 * r['val_ua']:.1f} | {100 * r['test_ua']:.1f} |" for r in ranked),
        not_adopted="".join(f"\n\nNot adopted: {reasons[r['spec']['name']]}" for r in ranked
                            if r["spec"].get("name") in reasons),
        inner="\n\n" + template("ravdess_audio_inner").removesuffix("\n").format(rows=inner) if inner else "")


def budget(row: dict, results: dict) -> str:
    """'3 seeds, <= 40 epochs' (+ refit) for a neural row, '-' for the closed-form baseline."""
    if "config" not in row:
        return "-"
    seeds = row.get("seeds", results["seeds"])
    train = row["config"].get("train", {})
    text = f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''}, <= {train.get('epochs', '?')} epochs"
    return text + (", refit" if train.get("refit") else "")


def ensemble_cell(row: dict) -> str:
    """'74.5 ± 6.3' for a row with several seeds (their models' probabilities averaged), else '-'."""
    ens = row.get("seed_ensemble")
    return f"{100 * ens['ua']['mean']:.1f} ± {100 * ens['ua']['std']:.1f}" if ens else "-"


def ensemble_claim(row: dict) -> str:
    """'; ensemble of its 3 seeds: 74.5 (not met)' when the default row has a seed ensemble."""
    ens = row.get("seed_ensemble")
    if not ens:
        return ""
    ua = ens["ua"]["mean"]
    return (f"; ensemble of its {len(ens['seeds'])} seeds: {100 * ua:.1f} ± {100 * ens['ua']['std']:.1f} "
            f"({'met' if ua >= TARGET_UA else 'not met'})")


def target_lines(default: dict | None) -> str:
    """The target / anchor / achieved table of the default audio model ('' without its row)."""
    if not default:
        return ""
    achieved = default["ua"]["mean"]
    return "".join(f"\n{line}" for line in [
        "| target | anchor | achieved (default audio model) |", "|---|---|---|",
        f"| UA >= {100 * TARGET_UA:.0f} | {100 * max(REFERENCES.values()):.1f} (best single tiny.en block "
        f"+ logistic regression) | {100 * achieved:.1f} ± {100 * default['ua']['std']:.1f} "
        f"({'met' if achieved >= TARGET_UA else 'not met'})" + ensemble_claim(default) + " |", ""])


def audio_markdown(results: dict, tuning: dict | None = None) -> str:
    """ravdess_audio.md from ravdess_audio.json (``tuning``: ravdess_tuning.json, when there is one)."""
    from fusion.experiment import DEFAULT_ACOUSTIC_ENCODER

    rows = ""
    for name, r in sorted(results["encoders"].items(), key=lambda kv: row_order(kv[0])):
        val = f"{100 * r['val_ua']:.1f}" if "val_ua" in r else "-"
        folds = " / ".join(f"{100 * v:.1f}" for v in r["ua"]["per_fold"])
        rows += (f"\n| {name} | {100 * r['ua']['mean']:.1f} ± {100 * r['ua']['std']:.1f} | "
                 f"{100 * r['wa']['mean']:.1f} | {100 * r['macro_f1']['mean']:.1f} | {val} | {folds} | "
                 f"{ensemble_cell(r)} | {budget(r, results)} | {r.get('wall_time_s') or '-'}"
                 + (f" (featurized {r['features_computed']} clips)" if r.get("features_computed") else "")
                 + (f" ({r['runs_reused']} runs reused: time of the run that trained them)"
                    if r.get("runs_reused") and r.get("wall_time_s") else "") + " |")
    commands = sorted({r.get("command", results["command"]) for r in results["encoders"].values()})
    return template("ravdess_audio").format(
        commands=", ".join(f"`{c}`" for c in commands), target=target_lines(results["encoders"].get(
            DEFAULT_ACOUSTIC_ENCODER)), rows=rows,
        option_notes="".join(f"\n\n{line}" for name, line in notes("Option notes").items()
                             if name in results["encoders"]),
        references="".join(f"\n| {k} | {100 * v:.1f} |" for k, v in REFERENCES.items()),
        tuning=tuning_summary(tuning))


def changes(run: dict) -> dict:
    """What a logged run changed: its spec without name and seeds, plus the encoder options that
    change the cached features (``featurize``, e.g. the model) when it has any."""
    spec = {k: v for k, v in run["spec"].items() if k not in ("name", "seeds")}
    if run.get("featurize"):
        spec["featurize"] = run["featurize"]
    return spec


def tuning_results(log_lines: list[dict]) -> dict:
    """Every run of the search's log (in order) -> the ravdess_tuning.json dict: the test-fold runs,
    then the ``--inner`` runs (scored on validation actors only)."""
    runs = [r for r in log_lines if not r.get("inner")]
    distinct = {json.dumps(changes(r), sort_keys=True) for r in runs}
    return {"benchmark": "ravdess-audio-8class-4fold", "selection": "mean validation UA over the 4 folds "
            "(validation actors carved from the training actors); test UA reported, never used to choose",
            "specs_relative_to": BASELINE, "n_configurations": len(distinct), "n_runs": len(runs), "runs": runs,
            "inner_runs": [r for r in log_lines if r.get("inner")]}


def tuning_markdown(tuning: dict) -> str:
    """ravdess_tuning.md: the test-fold runs ranked by mean validation UA, then the ``--inner`` runs."""
    ranked = sorted(tuning["runs"], key=lambda r: -r["val_ua"])
    inner = "".join(
        f"\n| {r['spec'].get('name', '')} | {len(r['spec'].get('seeds', [0]))} | {100 * r['val_ua']:.1f} | "
        f"{100 * r['test_ua']:.1f} ± {100 * r['test_ua_std']:.1f} | {100 * r['ensemble_test_ua']:.1f} | "
        + " / ".join(f"{100 * f['test_ua']:.1f}" for f in r["folds"])
        + f" | {r['wall_s']} | `{json.dumps(changes(r))}` |" for r in tuning["inner_runs"])
    return template("ravdess_tuning").format(
        n_runs=tuning["n_runs"], n_configurations=tuning["n_configurations"],
        baseline=json.dumps(tuning["specs_relative_to"]),
        ranked="".join(f"\n| {i} | {r['spec'].get('name', '')} | {len(r['spec'].get('seeds', [0]))} | "
                       f"{100 * r['val_ua']:.1f} | {100 * r['test_ua']:.1f} ± {100 * r['test_ua_std']:.1f} | "
                       f"{100 * r['ensemble_test_ua']:.1f} | `{json.dumps(changes(r))}` |"
                       for i, r in enumerate(ranked, 1)),
        inner="\n\n" + template("ravdess_tuning_inner").removesuffix("\n").format(rows=inner) if inner else "")
