"""The cross-corpus benchmark's steps that keep state: trained branch models and their held-out scores
(kept in the work folder under a key of their configuration), the composed model, the target's labels,
the bundled demo corpus as a target manifest, and the report."""

from __future__ import annotations

import csv
from pathlib import Path

try:  # imported as bench.accuracy.cross_corpus_support (the tests)
    from . import support
except ImportError:  # run as a script: its own folder is on sys.path
    import support


def trained(cfg, work: Path, log) -> Path:
    """The model directory of ``cfg``: trained once, then reused (keyed by the whole configuration and the
    full configuration its encoders resolve to, so a changed component default trains anew)."""
    from fusion.cache import make_key
    from fusion.runners import train_model_dir

    model_dir = work / f"{cfg.modes[0]}-{make_key('cross_corpus', cfg.to_dict(), support.resolved_encoders(cfg))[:16]}"
    if (model_dir / "model.pt").is_file():
        log(f"{cfg.modes[0]} model: cached in {model_dir}")
    else:
        log(f"{cfg.modes[0]} model: training on {cfg.dataset} into {model_dir}")
        train_model_dir(cfg, model_dir, log=log)
    return model_dir


def held_out_scores(text_dir: Path, parts: list[str], labels, log) -> dict:
    """The text model on the test split of each of its corpora that has one (``{corpus: {ua, wa, macro_f1,
    n}}``; MELD's test split is not in ../shared): computed once, kept beside the model."""
    import json

    from fusion.cache import atomic_write_json
    from fusion.errors import DatasetError
    from fusion.runners import evaluate_model_dir

    stored = text_dir / "held_out_test.json"
    if stored.is_file():
        return json.loads(stored.read_text())
    scores = {}
    for part in parts:
        name, _, folder = part.partition("=")
        try:
            m = evaluate_model_dir(text_dir, name, folder or None, split="test", labels=labels, transcriber="gold",
                                   log=lambda s: None)
        except DatasetError as exc:  # no test split here
            log(f"text model, {name} test split: not scored ({exc})")
            continue
        scores[name] = {k: m[k] for k in ("ua", "wa", "macro_f1", "weighted_f1", "n")}
        log(f"text model, {name} test split: UA {100 * m['ua']:.1f} ({m['n']} sentences)")
    atomic_write_json(stored, scores)
    return scores


def composed(audio: Path, text: Path, labels, work: Path, log, transcriber: str, transcriber_config: dict,
             adapt: Path | None = None) -> Path:
    """The equal-weight composition of the two members, reading ``transcriber``'s transcripts (made once
    per pair, label set and speech-to-text); with ``adapt``, its label biases fitted on those clips, no
    labels read (``fusion compose --adapt``; once per clip set too)."""
    from fusion.cache import make_key
    from fusion.data import clip_set_hash
    from fusion.recipes import prepare_dataset

    key = [audio.name, text.name, labels, transcriber, transcriber_config]
    if adapt is not None:
        key.append(clip_set_hash(prepare_dataset("manifest", adapt, require_labels=False)))
    out = work / f"composed-{make_key('cross_corpus', *key)[:16]}"
    if not (out / "compose.json").is_file():
        from fusion.runners import compose_model_dir

        compose_model_dir(audio, text, out, labels=labels, log=log, adapt=adapt, transcriber=transcriber,
                          transcriber_config=transcriber_config)
    return out


def target_labels(target: Path, log) -> tuple[str, ...] | None:
    """The target's labels when all are canonical (the branches are trained on those only), else None."""
    from fusion.labels import CANONICAL
    from fusion.recipes import prepare_dataset

    found = sorted({u.label for u in prepare_dataset("manifest", target)})
    if set(found) <= set(CANONICAL):
        return tuple(found)
    log(f"target labels {', '.join(found)} are not all canonical: the branches keep every label they have")
    return None


def demo_target(work: Path) -> Path:
    """The bundled demo corpus (400 clips, 10 synthetic voices) as a target manifest CSV
    (path,label,speaker,transcript) in ``work``: ``--target demo``."""
    from fusion.recipes import prepare_dataset

    path = work / "demo_target.csv"
    rows = [(str(u.audio), u.label, u.speaker, u.transcript or "") for u in prepare_dataset("demo", None)]
    work.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("path", "label", "speaker", "transcript"), *rows])
    return path


def report(results: dict) -> str:
    """The markdown table of a results.json (bench/results/cross_corpus_*.md)."""
    rows = "\n".join(f"| {name} | {100 * r['ua']:.1f} | {100 * r['wa']:.1f} | {100 * r['macro_f1']:.1f} | {r['n']} |"
                     for name, r in ((n, results[n]) for n in ("audio", "text", "fused")))
    c = results["fused_vs_best_branch"]
    held = results.get("text_held_out_test") or {}
    cap = results["training"]["text"]["train"].get("max_per_label") or 0
    copies = results["training"]["text"].get("augment", {}).get("text_copies", 0)
    audio_copies = results["training"]["audio"].get("augment", {}).get("copies", 0)
    plain = results.get("unadapted")
    adapted = ("each member's label biases adapted, without labels, on the target clips themselves "
               "(`fusion compose --adapt`)" if plain else "not adapted to the target")
    before = ("" if not plain else "\n\nWithout the adaptation (the same members, equal weights): "
              + ", ".join(f"{name} UA {100 * plain[name]['ua']:.1f}" for name in ("audio", "text", "fused"))
              + f"; fused − best branch ({plain['fused_vs_best_branch']['best_branch']}) "
                f"{100 * plain['fused_vs_best_branch']['diff']:+.1f}.")
    return support.template(
        "cross_corpus", command=results["command"], adapted=adapted, before=before, n=results["n"],
        transcriber=results["transcriber"] + "".join(f" ({k}={v})" for k, v in
                                                     results.get("transcriber_config", {}).items()),
        audio=", ".join(p.partition("=")[0] for p in results["corpora"]["audio"])
        + (f" (plus {audio_copies} noisy, speed-perturbed cop{'y' if audio_copies == 1 else 'ies'} of each clip, "
           "augment.copies)" if audio_copies else ""),
        text=", ".join(p.partition("=")[0] for p in results["corpora"]["text"]),
        cap=(f"at most {cap} sentences per corpus, split and label" if cap else "every sentence")
        + (f", plus {copies} ASR-style noisy cop{'y' if copies == 1 else 'ies'} of each (augment.text_copies)"
           if copies else ""),
        labels="/".join(results["labels"] or ["every label"]), rows=rows, best=c["best_branch"],
        diff=100 * c["diff"], lo=100 * c["ci_low"], hi=100 * c["ci_high"],
        held_out="; ".join(f"{name} UA {100 * s['ua']:.1f} ({s['n']} sentences)" for name, s in held.items())
        or "no text corpus here has a test split")
