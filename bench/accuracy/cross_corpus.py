"""Cross-corpus: an audio model and a text model trained on public corpora, composed, scored on your clips.

    python bench/accuracy/cross_corpus.py --target clips.csv --out DIR [--transcriber NAME|gold]
        [--set transcriber.model=base] [--no-adapt] [--audio-seed N] [--audio-copies N]
        [--audio-corpora ravdess] [--text-corpora meld,dailydialog,goemotions,isear]

Trains, with the framework's defaults, ``fusion train --mode audio`` on the audio corpora (default:
RAVDESS in ../shared/data/ravdess) and ``fusion train --mode text --transcriber gold`` on the text
corpora (default: those of MELD, DailyDialog, GoEmotions and ISEAR present under ../shared/data;
several corpora train one model, ``--dataset A --dataset B``; when every text corpus has predefined
splits they are kept: train to train, validation to model selection; at most ``--text-max-per-label``
sentences per corpus, split and label, a seeded draw; plus ``--text-copies`` ASR-style noisy copies of
every training sentence, ``augment.text_copies``; the audio model with ``--audio-copies`` noisy copies
of every training clip, ``augment.copies``), both restricted to the
target's labels (``--labels``) when those are canonical; composes them with equal weights (``fusion
compose``) and scores the audio branch, the text branch and the fused output on the target manifest
(CSV path,label,speaker,transcript; ``fusion evaluate``). The text side reads ``--transcriber``'s
transcripts of the target clips (default: fusion's default speech-to-text; ``gold`` = the manifest's).
A corpus entry is ``NAME`` or ``NAME=DIR``. Trained models are kept in ``--work-dir`` under a key of
their training configuration, so another target costs only its own featurization.
By default the composition is adapted to the target (``fusion compose --adapt``): each member's
label biases are fitted so that its average output over the target's clips is uniform; the
target's labels are not read for it; ``unadapted`` in the results holds the scores without it
(``--no-adapt``: equal weights alone). ``--target demo``: the bundled demo corpus. Writes DIR/results.md (the report) and DIR/results.json: ``audio`` / ``text`` / ``fused`` (ua, wa, macro_f1, weighted_f1, n, ...), and
``text_held_out_test``: the text model on each text corpus' own test split (where there is one).
``--acoustic-encoder`` / ``--text-encoder`` / ``--epochs`` are for quick checks ("not the defaults").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:  # imported as bench.accuracy.cross_corpus (the tests)
    from . import support
    from .cross_corpus_support import composed, demo_target, held_out_scores, report, target_labels, trained
except ImportError:  # run as a script: its own folder is on sys.path
    import support
    from cross_corpus_support import composed, demo_target, held_out_scores, report, target_labels, trained

AUDIO_CORPORA = {"ravdess": "ravdess"}  # recipe -> its folder under the shared data
TEXT_CORPORA = {"meld": "meld", "dailydialog": "text-emotion/dailydialog", "goemotions": "text-emotion/goemotions",
                "isear": "text-emotion/isear"}
BRANCH_KEYS = ("ua", "wa", "macro_f1", "weighted_f1", "n", "per_class_recall", "nll")


def corpus_parts(text: str | None, known: dict[str, str]) -> list[str]:
    """``NAME`` / ``NAME=DIR`` entries -> parts; ``NAME`` alone reads its shared folder when it has one.
    Without ``text``: every known corpus whose shared folder is present."""
    shared = support.shared_data()
    if text is None:
        return [f"{name}={shared / sub}" for name, sub in known.items() if (shared / sub).is_dir()]
    parts = []
    for entry in (e.strip() for e in text.split(",") if e.strip()):
        name = entry.partition("=")[0]
        parts.append(entry if "=" in entry or name not in known else f"{name}={shared / known[name]}")
    return parts


def branch_config(mode: str, parts: list[str], labels, args):
    """The ExperimentConfig of one branch: the defaults, one corpus or a multi-corpus dataset."""
    from fusion.augment import AugmentConfig
    from fusion.experiment import ExperimentConfig
    from fusion.recipes import dataset_protocol
    from fusion.training.trainer import TrainConfig

    name, _, folder = parts[0].partition("=")
    where = dict(dataset=name, data_dir=folder or None) if len(parts) == 1 else \
        dict(dataset="multi", recipe_options={"parts": parts})
    cfg = ExperimentConfig(**where, modes=(mode,), labels=labels)
    if mode == "audio" and args.audio_copies:  # studio recordings, scored on other rooms and microphones
        cfg = cfg.replace(augment=AugmentConfig(copies=args.audio_copies))
    if mode == "text":  # read from the corpora, scored on speech-to-text output: trained on ASR-style copies too
        cfg = cfg.replace(transcriber="gold", augment=AugmentConfig(text_copies=args.text_copies))
        if len(parts) > 1 and all(dataset_protocol(p.partition("=")[0]) == "predefined" for p in parts):
            cfg = cfg.replace(protocol="predefined")  # the corpora's own train / validation splits
    if args.acoustic_encoder and mode == "audio":
        cfg = cfg.replace(acoustic_encoder=args.acoustic_encoder)
    if args.text_encoder and mode == "text":
        cfg = cfg.replace(text_encoder=args.text_encoder)
    train = {"epochs": args.epochs} if args.epochs is not None else {}
    if mode == "audio" and args.audio_seed:
        train["seed"] = args.audio_seed
    if mode == "text" and len(parts) > 1:
        train["max_per_label"] = args.text_max_per_label
    return cfg.replace(train=TrainConfig(**train)) if train else cfg


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", type=Path, required=True,
                   help="manifest CSV: path,label,speaker,transcript ('demo': the bundled demo corpus)")
    p.add_argument("--out", type=Path, required=True, help="where results.json goes")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="transcriber.KEY=VALUE",
                   help="option of the target's speech-to-text, e.g. --set transcriber.model=base (repeatable)")
    p.add_argument("--transcriber", default=None, help="speech-to-text of the target clips, or gold (default: "
                                                       "fusion's default)")
    p.add_argument("--audio-corpora", default=None, help="comma-separated NAME[=DIR] (default: ravdess if present)")
    p.add_argument("--text-corpora", default=None,
                   help="comma-separated NAME[=DIR] (default: meld, dailydialog, goemotions, isear, those present)")
    p.add_argument("--text-max-per-label", type=int, default=2500,
                   help="several text corpora: at most this many train (and dev) sentences per corpus and label "
                        "(train.max_per_label; default 2500: DailyDialog alone has 72k 'no emotion'; 0 = all)")
    p.add_argument("--text-copies", type=int, default=1,
                   help="ASR-style noisy copies of each training sentence (augment.text_copies; default 1, 0 = off)")
    p.add_argument("--audio-copies", type=int, default=0,
                   help="noisy, speed-perturbed copies of each audio training clip (augment.copies; default 0: with "
                        "1 the demo target's fused UA fell from 63.0 to 57.8, the audio member over-confident)")
    p.add_argument("--audio-seed", type=int, default=0,
                   help="training seed of the audio member (train.seed; default 0): how much one seed decides")
    p.add_argument("--no-adapt", dest="adapt", action="store_false",
                   help="do not adapt the members' label biases to the target's unlabelled clips (fusion compose "
                        "--adapt, the default here: the target's labels are never read for it)")
    p.add_argument("--work-dir", type=Path, default=support.ROOT / "runs" / "bench" / "cross_corpus",
                   help="trained models, kept for the next target (default: runs/bench/cross_corpus)")
    p.add_argument("--cache", type=Path, default=None, help="feature / transcript cache (default: $FUSION_CACHE, "
                                                            "else runs/cache)")
    p.add_argument("--acoustic-encoder", default=None, help="quick checks only: not the default encoder")
    p.add_argument("--text-encoder", default=None, help="quick checks only: not the default encoder")
    p.add_argument("--epochs", type=int, default=None, help="quick checks only: not the default epochs")
    args = p.parse_args(argv)
    support.use_cache(args.cache)

    from fusion.cache import atomic_write_json, atomic_write_text
    from fusion.errors import FusionError
    from fusion.experiment import DEFAULT_TRANSCRIBER
    from fusion.runners import evaluate_model_dir

    log = lambda s: print(s, file=sys.stderr)  # noqa: E731
    transcriber = args.transcriber or DEFAULT_TRANSCRIBER
    try:
        from fusion.overrides import parse_sets

        options = parse_sets(tuple(args.sets), {"transcriber": "transcriber_config"}).get("transcriber_config", {})
        from fusion.model import build_component

        build_component("transcriber", transcriber, options)  # a bad name or option fails before any training
    except FusionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    corpora = {"audio": corpus_parts(args.audio_corpora, AUDIO_CORPORA),
               "text": corpus_parts(args.text_corpora, TEXT_CORPORA)}
    for mode, parts in corpora.items():
        if not parts:
            print(f"error: no {mode} corpus found under {support.shared_data()}; name them with "
                  f"--{mode}-corpora NAME=DIR", file=sys.stderr)
            return 2
    if str(args.target) == "demo":
        args.target = demo_target(args.work_dir)
    try:
        labels = target_labels(args.target, log)
        cfgs = {mode: branch_config(mode, parts, labels, args) for mode, parts in corpora.items()}
        members = {mode: trained(cfg, args.work_dir, log) for mode, cfg in cfgs.items()}
        held_out = held_out_scores(members["text"], corpora["text"], labels, log)
        speech = dict(transcriber=transcriber, transcriber_config=options)  # carried by the composed models
        plain = composed(members["audio"], members["text"], labels, args.work_dir, log, **speech)
        model = composed(members["audio"], members["text"], labels, args.work_dir, log, adapt=args.target,
                         **speech) if args.adapt else plain
        m = evaluate_model_dir(model, "manifest", args.target, labels=labels, log=log)
        before = evaluate_model_dir(plain, "manifest", args.target, labels=labels,
                                    log=lambda s: None) if args.adapt else None
    except FusionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    changed = [name for name, value in (("acoustic encoder", args.acoustic_encoder),
                                        ("text encoder", args.text_encoder), ("epochs", args.epochs)) if value]
    results = {name: {k: m["branches"][name][k] for k in BRANCH_KEYS} for name in ("audio", "text", "fused")}
    results.update(
        benchmark="cross-corpus: audio and text models of public corpora, composed, on a target manifest",
        transcriber_config=options,
        command=support.command_line("cross_corpus.py", argv), target=str(args.target.resolve()),
        transcriber=m.get("transcriber"), labels=list(m["labels"]), n=m["n"], n_excluded=len(m["excluded"]),
        fused_vs_best_branch=m["fused_vs_best_branch"], text_held_out_test=held_out, corpora=corpora, defaults=not changed, changed=changed,
        models={**{mode: str(d) for mode, d in members.items()}, "composed": str(model)},
        training={mode: cfg.to_dict() for mode, cfg in cfgs.items()}, adapted=args.adapt)
    if before is not None:  # the same members without the adaptation, for comparison
        results["unadapted"] = {**{name: {k: before["branches"][name][k] for k in BRANCH_KEYS}
                                   for name in ("audio", "text", "fused")},
                                "fused_vs_best_branch": before["fused_vs_best_branch"]}
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / "results.json", results)
    atomic_write_text(args.out / "results.md", report(results) + "\n")
    print(f"target {args.target} ({m['n']} clips, transcripts: {m.get('transcriber')})")
    for name in ("audio", "text", "fused"):
        r = results[name]
        print(f"{name:<6} UA {100 * r['ua']:5.1f}  WA {100 * r['wa']:5.1f}  macro-F1 {100 * r['macro_f1']:5.1f}")
    c = m["fused_vs_best_branch"]
    print(f"fused - best branch ({c['best_branch']}): {100 * c['diff']:+.1f} UA points "
          f"(95% CI {100 * c['ci_low']:+.1f} to {100 * c['ci_high']:+.1f}); {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
