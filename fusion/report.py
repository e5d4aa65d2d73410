"""report.md and PNG plots of an ablation run (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

from .cache import atomic_write_text

MODE_NAMES = {"audio": "audio-only", "text": "text-only", "fused": "fused", "probe": "linear probe (audio)",
              "text-probe": "linear probe (text)"}


METRIC_NAMES = {"ua": "UA", "wa": "WA", "macro_f1": "macro-F1", "weighted_f1": "weighted-F1"}
COMPONENT_ROLES = {  # results["components"] role -> (title in the report, default name, its config key)
    "acoustic_encoder": ("acoustic encoder", None, "acoustic_config"),  # None: the config's value of the role
    "transcriber": ("transcriber", None, "transcriber_config"),
    "text_encoder": ("text encoder", None, "text_config"),
    "head": ("fusion head", None, "head_config"),
    "unimodal_head": ("unimodal head", "unimodal", "unimodal_config"),  # the head of audio / text modes
}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def comparison_table(results: dict) -> str:
    lines = ["| mode | UA | WA | macro-F1 | weighted-F1 | n |", "|---|---|---|---|---|---|"]
    def cells(m: dict) -> str:
        return " | ".join(f"{_pct(m[k]['mean'])} ± {_pct(m[k]['std'])}" for k in ("ua", "wa", "macro_f1", "weighted_f1"))

    for mode, m in results["modes"].items():
        lines.append(f"| {MODE_NAMES.get(mode, mode)} | {cells(m)} | {m['n']} |")
        ens = m.get("seed_ensemble")
        if ens:  # the seeds' models as one ensemble (probabilities averaged per utterance)
            lines.append(f"| {MODE_NAMES.get(mode, mode)}, ensemble of {len(ens['seeds'])} seeds | {cells(ens)} | "
                         f"{m['n'] // len(ens['seeds'])} |")
    return "\n".join(lines)


def per_corpus_table(results: dict) -> str:
    """A multi-corpus run's ``per_corpus`` scores: one row per corpus, UA / WA / macro-F1 of each mode."""
    modes = [m for m in results["modes"] if any(m in by_mode for by_mode in results["per_corpus"].values())]
    lines = ["## Per corpus (test predictions of all folds and seeds, split by corpus)", "",
             "UA, WA and macro-F1 in %, over the classes present in each corpus; n = scored predictions.", "",
             "| corpus | " + " | ".join(f"{MODE_NAMES.get(m, m)} UA / WA / macro-F1" for m in modes) + " | n |",
             "|---|" + "---|" * (len(modes) + 1)]
    for name, by_mode in results["per_corpus"].items():
        cells = [" / ".join(_pct(by_mode[m][k]) for k in ("ua", "wa", "macro_f1")) if m in by_mode else "-"
                 for m in modes]
        n = max(s["n"] for s in by_mode.values())
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {n} |")
    return "\n".join(lines)


def write_report(results: dict, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    plots = write_plots(results, out)
    cfg = results.get("config", {})
    labels = results["labels"]
    lines = [f"# Ablation: {results.get('dataset')}", ""]
    lines += [f"Protocol: **{results.get('protocol')}**-independent folds "
              f"({len(results.get('folds', []))} folds; no {results.get('protocol')} in both train and test), "
              f"seeds {cfg.get('seeds')}. Validation speakers are carved from the training speakers "
              "(early stopping / model selection); each test fold is touched once.", ""]
    metric = results.get("metric", "ua")
    lines += ["Metrics in % (mean ± std over folds). UA = unweighted average recall (balanced accuracy), "
              f"WA = accuracy. This corpus' headline metric, which also selects each model's epoch on "
              f"validation: **{METRIC_NAMES.get(metric, metric)}**.", "", comparison_table(results), ""]
    if results.get("comparisons"):
        lines += ["## Fused vs unimodal (paired bootstrap over test utterances, UA difference)", "",
                  "| comparison | ΔUA (points) | 95% CI | P(Δ ≤ 0) |", "|---|---|---|---|"]
        for name, c in results["comparisons"].items():
            lines.append(f"| {name.replace('_', ' ')} | {100 * c['diff']:+.1f} | "
                         f"[{100 * c['ci_low']:+.1f}, {100 * c['ci_high']:+.1f}] | {c['p_not_better']:.3f} |")
        lines.append("")
    if results.get("per_corpus"):
        lines += per_corpus_table(results), ""
    lines += ["## Per-class recall (%)", "", "| class | " + " | ".join(MODE_NAMES.get(m, m) for m in results["modes"]) + " |",
              "|---|" + "---|" * len(results["modes"])]
    for label in labels:
        lines.append(f"| {label} | " + " | ".join(_pct(m["per_class_recall"].get(label, 0.0))
                                                  for m in results["modes"].values()) + " |")
    lines.append("")
    notes = _notes(results)
    if notes:
        lines += ["## Notes", "", *notes, ""]
    lines += ["## Components", "", *component_lines(results), ""]
    if results.get("excluded"):
        lines += [f"## Excluded utterances ({len(results['excluded'])})", ""]
        lines += [f"- `{k}`: {v}" for k, v in list(results["excluded"].items())[:50]]
        lines.append("")
    lines += ["## Plots", ""] + [f"![{p.stem}]({p.relative_to(out).as_posix()})" for p in plots] + [""]
    lines += [f"Wall time: {results.get('wall_time_s')} s. Versions: "
              + ", ".join(f"{k} {v}" for k, v in results.get("versions", {}).items()), ""]
    path = out / "report.md"
    atomic_write_text(path, "\n".join(lines))
    return path


def used_roles(results: dict) -> list[str]:
    """The :data:`COMPONENT_ROLES` the run used: the roles of ``results["components"]`` (written by the
    ablation runner for the components its modes use); for results without it, derived from the modes."""
    if "components" in results:
        return [role for role in COMPONENT_ROLES if role in results["components"]]
    modes = set(results.get("config", {}).get("modes") or results["modes"])
    used = set()
    if modes & {"audio", "fused"}:
        used.add("acoustic_encoder")
    if modes & {"text", "fused"}:
        used.update(("transcriber", "text_encoder"))
    if "fused" in modes:
        used.add("head")
    if modes - {"fused"}:
        used.add("unimodal_head")
    return [role for role in COMPONENT_ROLES if role in used]


def component_lines(results: dict) -> list[str]:
    """``- acoustic encoder: `cnn` {options} (fusion-acoustic 0.1.0)``: one line per component the run used."""
    cfg = results.get("config", {})
    lines = []
    for role in used_roles(results):
        title, default, config_key = COMPONENT_ROLES[role]
        known = results.get("components", {}).get(role, {})
        name = known.get("name") or default or cfg.get(role)
        line = f"- {title}: `{name}`"
        if cfg.get(config_key):
            line += f" {cfg[config_key]}"
        if known.get("distribution"):
            line += f" ({known['distribution']} {known.get('version', '?')})"
        lines.append(line)
    return lines


def _notes(results: dict) -> list[str]:
    notes = []
    text = results["modes"].get("text")
    n_labels = len(results["labels"])
    if text is not None and text["ua"]["mean"] < 1.5 / n_labels:
        notes.append(f"- Text-only UA ({_pct(text['ua']['mean'])}%) is near chance ({_pct(1 / n_labels)}%): the "
                     "transcripts carry little emotion in this corpus (acted corpora such as RAVDESS, CREMA-D, "
                     "TESS and EmoDB use fixed, emotionally neutral sentences). Fusion cannot gain from the "
                     "text channel here; use a corpus with natural wording (IEMOCAP, MELD, the demo corpus).")
    return notes


def write_plots(results: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    plot_dir = out / "plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    labels = results["labels"]
    paths = []
    modes = results["modes"]
    # bar chart of the modes with error bars
    fig, ax = plt.subplots(figsize=(6, 3.5))
    metrics = ("ua", "wa", "macro_f1")
    width = 0.8 / max(len(modes), 1)
    for i, (mode, m) in enumerate(modes.items()):
        xs = np.arange(len(metrics)) + i * width
        ax.bar(xs, [100 * m[k]["mean"] for k in metrics], width, yerr=[100 * m[k]["std"] for k in metrics],
               capsize=3, label=MODE_NAMES.get(mode, mode))
    ax.axhline(100 / len(labels), color="grey", ls="--", lw=1, label="chance (UA)")
    ax.set_xticks(np.arange(len(metrics)) + width * (len(modes) - 1) / 2, ["UA", "WA", "macro-F1"])
    ax.set_ylabel("%")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    ax.set_title(f"{results.get('dataset')}: modes compared")
    fig.tight_layout()
    paths.append(_save(fig, plot_dir / "modes.png"))
    # confusion matrices
    for mode, m in modes.items():
        cm = np.asarray(m["confusion_fraction"])
        fig, ax = plt.subplots(figsize=(1 + 0.6 * len(labels), 1 + 0.55 * len(labels)))
        ax.imshow(cm, vmin=0, vmax=1, cmap="Blues")
        for r in range(len(labels)):
            for c in range(len(labels)):
                ax.text(c, r, f"{100 * cm[r, c]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if cm[r, c] > 0.5 else "black")
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{MODE_NAMES.get(mode, mode)} (UA {_pct(m['ua']['mean'])}%)", fontsize=9)
        fig.tight_layout()
        paths.append(_save(fig, plot_dir / f"confusion_{mode}.png"))
    # training curves (validation UA per epoch) of the trained modes (a probe has no epochs)
    trained = {mode: m for mode, m in modes.items() if all("train_loss" in r for c in m["curves"] for r in c["curve"])}
    if not trained:
        return paths
    fig, axes = plt.subplots(1, len(trained), figsize=(3.2 * len(trained), 2.8), squeeze=False)
    for ax, (mode, m) in zip(axes[0], trained.items()):
        for run in m["curves"]:
            ua = [r.get("val_ua") for r in run["curve"]]
            loss = [r["train_loss"] for r in run["curve"]]
            if any(u is not None for u in ua):
                ax.plot(range(1, len(ua) + 1), [100 * (u or 0) for u in ua], lw=1)
            else:
                ax.plot(range(1, len(loss) + 1), loss, lw=1)
        ax.set_title(MODE_NAMES.get(mode, mode), fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation UA %")
    fig.tight_layout()
    paths.append(_save(fig, plot_dir / "training_curves.png"))
    return paths


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return path
