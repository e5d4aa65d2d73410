"""The MELD text benchmark's report: the run chosen per protocol, and ``templates/meld_text.md`` rendered
from a results dict (the same for a fresh run of ``meld_text.py`` and for its ``--render-only``)."""

from __future__ import annotations

from pathlib import Path

try:  # imported as bench.accuracy.meld_report (the tests)
    from .meld_support import PROTOCOLS
except ImportError:  # its script's folder is on sys.path
    from meld_support import PROTOCOLS

TEMPLATES = Path(__file__).resolve().parent / "templates"


def best(rows: list[dict], protocol: str, split: str) -> dict | None:
    """The row with the highest weighted-F1 on ``split`` ("val" or "dev") under ``protocol``."""
    scored = [r for r in rows if split in r.get(protocol, {})]
    return max(scored, key=lambda r: r[protocol][split]["weighted_f1"], default=None)


def selection(rows: list[dict]) -> dict:
    """Per protocol, the row its own selection split prefers (clean: validation; dev-selected: dev)."""
    out = {}
    for protocol, split in (("clean", "val"), ("dev_selected", "dev")):
        chosen = best(rows, protocol, split)
        if chosen:
            out[protocol] = {"run": chosen["name"], "by": f"{split} weighted-F1",
                             "dev_weighted_f1": chosen[protocol]["dev"]["weighted_f1"]}
    return out


def notes() -> list[str]:
    """The report's notes: the ``- `` lines of templates/meld_text_notes.md."""
    text = (TEMPLATES / "meld_text_notes.md").read_text(encoding="utf-8")
    return [line[2:] for line in text.splitlines() if line.startswith("- ")]


def cell(result: dict, *path: str) -> str:
    for key in path:
        if not isinstance(result, dict) or key not in result:
            return "-"
        result = result[key]
    return f"{result:.1f}" if isinstance(result, float) else str(result)


def epochs(result: dict) -> str:
    return f"{result['best_epoch']}/{result['epochs_run']}" if "epochs_run" in result else "-"


def per_epoch(result: dict) -> str:
    return f"{result['train_seconds'] / result['epochs_run']:.0f}" if "train_seconds" in result else "-"


def markdown(results: dict) -> str:
    """The table README.md embeds (no headings: the README gives it one): templates/meld_text.md."""
    rows = results["baselines"] + results["runs"] + results.get("ensembles", [])
    top = max(((r[p]["dev"]["weighted_f1"], r["name"], p) for r in results["runs"] + results.get("ensembles", [])
               for p in PROTOCOLS if p in r), default=(float("nan"), "-", "-"))
    sel = results["selection"].get("clean")
    table = ""
    for r in rows:
        clean, dsel = r.get("clean", {}), r.get("dev_selected", {})
        table += "\n| " + " | ".join([
            f"`{r['name']}`", r["note"], cell(clean, "val", "weighted_f1"), cell(clean, "dev", "weighted_f1"),
            cell(clean, "dev", "ua"), cell(dsel, "dev", "weighted_f1"), cell(dsel, "dev", "ua"),
            f"{epochs(clean)}; {epochs(dsel)}", per_epoch(clean)]) + " |"
    commands = "".join(f"\n- `{r['name']}`: " + " ; ".join(f"`{c}`" for c in r["commands"])
                       for r in results["runs"] if r.get("commands"))
    return (TEMPLATES / "meld_text.md").read_text(encoding="utf-8").format(
        command=results["command"], run_minutes=results["run_minutes"], machine=results["machine"],
        n_dev=results["n_dev"], goal="reached" if sel and sel["dev_weighted_f1"] >= 60 else "not reached",
        headline=f"`{sel['run']}`, dev wF1 **{sel['dev_weighted_f1']:.1f}**" if sel else "-",
        top_wf1=top[0], top_name=top[1], top_protocol=top[2].replace("_", "-"), rows=table, commands=commands,
        notes="".join(f"\n- {n}" for n in results.get("notes", [])))
