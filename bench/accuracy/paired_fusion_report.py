"""The markdown reports of bench/accuracy/paired_fusion.py, from its results JSON alone.

The prose is in templates/{head_table,paired_fusion*,demo_fusion}.md; this fills it in, so
``paired_fusion.py --render-only`` re-renders a committed report from its JSON.
"""

from __future__ import annotations

import platform

from head_comparison import DEFAULT_HEAD, REFERENCE
from support import template


def results_stem(train_texts: int, seed: int) -> str:
    """bench/results file stem: paired_fusion[_texts{K}][_seed{N}]."""
    return "paired_fusion" + (f"_texts{train_texts}" if train_texts > 1 else "") + (f"_seed{seed}" if seed else "")


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def markdown_table(table: dict) -> str:
    """The head table, its legend and the per-fold UA (templates/head_table.md)."""
    rows = []
    for mode, m in table["unimodal"].items():
        best = " (best unimodal)" if mode == table["best_unimodal"] else ""
        rows.append(f"| {mode}-only{best} | {pct(m['ua']['mean'])} ± {pct(m['ua']['std'])} | {pct(m['wa']['mean'])} "
                    f"| {pct(m['macro_f1']['mean'])} | | | | | |")
    for head, m in table["heads"].items():
        c, vs = m["vs_best_unimodal"], m["vs"]
        name = (f"reference: {head}" if head == REFERENCE
                else f"fused: {head}" + (" (default)" if head == DEFAULT_HEAD else ""))
        rows.append(f"| {name} | {pct(m['ua']['mean'])} ± {pct(m['ua']['std'])} | {pct(m['wa']['mean'])} | "
                    f"{pct(m['macro_f1']['mean'])} | {100 * c['diff']:+.1f} [{100 * c['ci_low']:+.1f}, "
                    f"{100 * c['ci_high']:+.1f}] | {c['p_not_better']:.3f} | {100 * vs['audio']['diff']:+.1f} | "
                    f"{100 * vs['text']['diff']:+.1f} | {'yes' if m['meets_target'] else '**no**'} |")
    missed = [h for h, m in table["heads"].items() if h != REFERENCE and not m["meets_target"]]
    n_folds = len(table["folds"])
    fold_rows = []
    for name, m in [*table["unimodal"].items(), *table["heads"].items()]:
        epochs = ", ".join("-" if e is None else str(e) for e in m["best_epochs"])
        fold_rows.append(f"| {name} | " + " | ".join(pct(v) for v in m["ua"]["per_fold"]) + f" | {epochs} |")
    return template("head_table", rows="\n".join(rows), missed=", ".join(missed) if missed else "none",
                    fold_columns=" | ".join(f"fold {i}" for i in range(n_folds)), fold_rules="---|" * (n_folds + 1),
                    fold_rows="\n".join(fold_rows))


def one_text_comparison(t: dict, one: dict) -> str:
    """For a several-texts run: its UAs beside the one-text run's (same folds, pairing seed, defaults)."""
    def ua(table: dict, model: str) -> float:
        return 100 * (table["unimodal"].get(model) or table["heads"][model])["ua"]["mean"]

    rows = [("audio-only", "audio"), ("text-only", "text"), (f"{DEFAULT_HEAD} (default head)", DEFAULT_HEAD)]
    best = max((ua(table, m), m, name) for table, name in ((one, "one text"), (t, f"{t['train_texts']} texts"))
               for m in ("audio", "text"))
    return template("paired_fusion_one_text", stem=results_stem(1, one["seed"]), best_model=best[1],
                    changes=", ".join(f"{label} {ua(one, m):.1f} -> {ua(t, m):.1f}" for label, m in rows),
                    best_run=best[2], best_ua=best[0], gain=ua(t, DEFAULT_HEAD) - best[0])


def render_paired(t: dict, one: dict | None = None) -> str:
    """The report of a paired run ``t``; ``one``: the one-text run of the same deal, beside a several-texts run."""
    p, k = t["pairing"], t.get("train_texts", 1)
    several = "" if k == 1 else "\n\n".join(
        [template("paired_fusion_texts", k=k), *([one_text_comparison(t, one)] if one else []), ""])
    train_uses = p["train"]["max_uses"]
    intro = template(
        "paired_fusion", command=t["command"], minutes=t["compute_minutes"],
        machine=t.get("machine", platform.machine()), clips=p["train"]["clips"], seed=t["seed"], several_texts=several,
        train_distinct=p["train"]["distinct_meld_utterances"],
        train_pairs=f"{p['train']['pairs']} training pairs of " if p["train"].get("pairs", 0) > p["train"]["clips"]
        else "",
        train_max_uses=f"{train_uses} use" + ("s" if train_uses > 1 else " each"),
        dev_distinct=p["dev"]["distinct_meld_utterances"], dev_clips=p["dev"]["clips"],
        dev_max_uses=p["dev"]["max_uses"],
        dev_disgust=p["dev"]["distinct_per_label"]["disgust"], dev_fear=p["dev"]["distinct_per_label"]["fearful"],
        seen_verbatim=", ".join(f"fold {c['fold']} {c['test_texts_seen_verbatim_in_training_pairs']}/{c['n_test']}"
                                for c in t["folds"]))
    title = ("Fusion on real signals: pseudo-paired RAVDESS x MELD"
             + (f", {k} training texts per clip" if k > 1 else "")
             + (f", pairing seed {t['seed']}" if t["seed"] else ""))
    return f"# {title}\n\n{intro}\n\n{markdown_table(t)}\n"


def render_demo(t: dict) -> str:
    """The report of the demo-corpus head table ``t``."""
    intro = template("demo_fusion", command=t["command"], minutes=t["compute_minutes"],
                     machine=t.get("machine", platform.machine()), n_utterances=t["n_utterances"],
                     n_folds=len(t["folds"]), commands="\n".join(f"* {h}: `{c}`" for h, c in t["commands"].items()))
    return f"# Demo corpus: fused vs unimodal for every fusion head\n\n{intro}\n\n{markdown_table(t)}\n"
