"""Text across corpora: train on all text corpora but one, score on that one's held-out split, with and
without adapting the label balance to it (what ``fusion compose --adapt`` does to each member).

    python bench/accuracy/text_leave_one_out.py [--corpora meld,dailydialog,goemotions,isear] [--out DIR]

For each corpus H: a text model is trained with fusion's defaults on the other corpora (the cross-corpus
benchmark's text branch: each corpus' own train split, its validation split for model selection, at most
``--max-per-label`` sentences per corpus, split and label, ``--text-copies`` ASR-style noisy copies) and
restricted to neutral / happy / sad / angry; it is scored on H's test split (MELD's dev split: its test
split is not in ../shared) as it is, and after the balancing bias of :mod:`fusion.runners.adaptation`
(fitted on H's sentences, their labels unread). A corpus never trains the model that scores it.
Writes ``text_leave_one_out.json`` / ``.md`` to ``--out`` (default bench/results).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

try:  # imported as bench.accuracy.text_leave_one_out (the tests)
    from . import support
    from .cross_corpus import TEXT_CORPORA, branch_config, corpus_parts
    from .cross_corpus_support import trained
except ImportError:  # run as a script: its own folder is on sys.path
    import support
    from cross_corpus import TEXT_CORPORA, branch_config, corpus_parts
    from cross_corpus_support import trained

STEM = "text_leave_one_out"
LABELS = ("angry", "happy", "neutral", "sad")
SCORED_SPLIT = {"meld": "dev"}  # the split a corpus is scored on, when not "test"


def held_out_outputs(model_dir: Path, part: str) -> tuple[list[int], "np.ndarray"]:
    """(labels as indices of LABELS, probabilities [N, 4]) of the model on the held-out corpus ``part``."""
    from fusion.labels import label_map_for, restrict_probs, select_labels
    from fusion.model import EmotionModel
    from fusion.runners.scoring import evaluation_corpus, model_outputs

    name, _, folder = part.partition("=")
    _, chosen = evaluation_corpus(name, folder or None, SCORED_SPLIT.get(name, "test"))
    mapping = label_map_for(name)
    kept, _ = select_labels(chosen, keep=LABELS, label_map=mapping)
    model = EmotionModel.load(model_dir)
    out = model_outputs(model, kept, name, folder or None, "gold", log=lambda s: None)
    y = [LABELS.index(mapping.get(u.label, u.label)) for u in out.utterances]
    return y, restrict_probs(out.probs, model.labels, LABELS)                                    # [N, 4]


def scores(y, probs) -> dict:
    """UA / WA / macro-F1 as they are and after the balancing bias, and the mean output before."""
    import numpy as np

    from fusion.runners.adaptation import balancing_bias
    from fusion.runners.product_of_experts import branch_probs
    from fusion.training.metrics import classification_metrics

    balanced = branch_probs(probs, 1.0, balancing_bias(probs))                                   # [N, 4]
    counts = np.bincount(np.asarray(y), minlength=len(LABELS))
    out = {"n": len(y), "share": {k: float(c / len(y)) for k, c in zip(LABELS, counts)},
           "mean_output": {k: float(v) for k, v in zip(LABELS, np.asarray(probs).mean(axis=0))}}
    for name, p in (("as_is", probs), ("adapted", balanced)):  # UA: over the labels the corpus has
        m = classification_metrics(y, np.asarray(p).argmax(1), LABELS)
        out[name] = {k: m[k] for k in ("ua", "wa", "macro_f1")}
    return out


def report(results: dict) -> str:
    def shares(r: dict) -> str:
        return " / ".join(f"{100 * r['share'][k]:.0f}" for k in LABELS)

    rows = "\n".join(
        f"| {name} | {r['n']} | {shares(r)} | "
        f"{100 * r['as_is']['ua']:.1f} | {100 * r['adapted']['ua']:.1f} | "
        f"{100 * (r['adapted']['ua'] - r['as_is']['ua']):+.1f} |"
        for name, r in results["held_out"].items())
    deltas = [r["adapted"]["ua"] - r["as_is"]["ua"] for r in results["held_out"].values()]
    return support.template(STEM, command=results["command"], rows=rows, labels=" / ".join(LABELS),
                            mean=100 * sum(deltas) / len(deltas), k=len(deltas))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpora", default=None, help="comma-separated NAME[=DIR] (default: those of meld, "
                                                   "dailydialog, goemotions, isear present)")
    p.add_argument("--max-per-label", type=int, default=2500, help="train.max_per_label (default 2500)")
    p.add_argument("--text-copies", type=int, default=1, help="augment.text_copies (default 1)")
    p.add_argument("--text-encoder", default=None, help="quick checks only: not the default encoder")
    p.add_argument("--epochs", type=int, default=None, help="quick checks only: not the default epochs")
    p.add_argument("--work-dir", type=Path, default=support.ROOT / "runs" / "bench" / "cross_corpus",
                   help="trained models (shared with cross_corpus.py; default runs/bench/cross_corpus)")
    p.add_argument("--cache", type=Path, default=None, help="feature cache (default: $FUSION_CACHE, else runs/cache)")
    p.add_argument("--out", type=Path, default=support.RESULTS, help="where the .json and .md results go")
    args = p.parse_args(argv)
    support.use_cache(args.cache)
    from fusion.errors import FusionError

    parts = corpus_parts(args.corpora, TEXT_CORPORA)
    if len(parts) < 2:
        print(f"error: need at least 2 text corpora, found {len(parts)} under {support.shared_data()}",
              file=sys.stderr)
        return 2
    options = argparse.Namespace(text_copies=args.text_copies, text_max_per_label=args.max_per_label, audio_copies=0,
                                 audio_seed=0,
                                 acoustic_encoder=None, text_encoder=args.text_encoder, epochs=args.epochs)
    held_out = {}
    try:
        for part in parts:
            name = part.partition("=")[0]
            others = [q for q in parts if q != part]
            model_dir = trained(branch_config("text", others, LABELS, options), args.work_dir, support.log)
            held_out[name] = scores(*held_out_outputs(model_dir, part))
            r = held_out[name]
            support.log(f"{name}: UA {100 * r['as_is']['ua']:.1f} as is, {100 * r['adapted']['ua']:.1f} adapted "
                        f"({r['n']} sentences, trained on {', '.join(q.partition('=')[0] for q in others)})")
    except FusionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = {"benchmark": "text across corpora: leave one corpus out, with and without label-balance adaptation",
               "command": support.command_line("text_leave_one_out.py", argv), "labels": list(LABELS),
               "corpora": parts, "held_out": held_out,
               "defaults": not (args.text_encoder or args.epochs)}
    support.write_results(args.out, STEM, results, report(results) + "\n")
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
