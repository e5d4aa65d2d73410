"""Train a fused (audio + transcript) emotion model from Python, score it on held-out speakers,
save it, load it back with ``fusion.load`` and predict one clip.

    python examples/train_fused.py --out runs/example-fused

The defaults are the real thing: every clip of the bundled ``demo`` corpus, whisper-encoder +
minilm, faster-whisper transcripts, the cross-attention head, at most 40 epochs (about 3 minutes
on one CPU core). A smoke run without pretrained weights (gold transcripts, small encoders):

    python examples/train_fused.py --out /tmp/fused --transcriber gold --acoustic-encoder cnn \\
        --text-encoder gru --epochs 2 --limit 4
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import fusion
from fusion.experiment import (DEFAULT_ACOUSTIC_ENCODER, DEFAULT_HEAD, DEFAULT_TEXT_ENCODER,
                               DEFAULT_TRANSCRIBER, ExperimentConfig)
from fusion.runners import evaluate_model_dir, train_model_dir
from fusion.training.trainer import TrainConfig


def main(argv=None) -> dict:
    """Run the example; returns the model directory, the split, the metrics and the prediction."""
    args = parse_args(argv)
    check_components(args)
    out = Path(args.out)

    corpus = fusion.prepare("demo")  # the bundled corpus, parsed by its recipe -> [Utterance]
    if args.limit:
        corpus = per_speaker(corpus, args.limit)
    held_out = set(fusion.make_folds(corpus, k=args.folds, seed=args.seed)[0].test_groups)  # test speakers
    train_utts = [u for u in corpus if u.speaker not in held_out]
    test_utts = [u for u in corpus if u.speaker in held_out]
    fusion.write_manifest(train_utts, out / "train.jsonl")
    fusion.write_manifest(test_utts, out / "test.jsonl")

    cfg = ExperimentConfig(
        dataset="manifest", data_dir=str(out / "train.jsonl"), modes=("fused",),
        acoustic_encoder=args.acoustic_encoder, text_encoder=args.text_encoder,
        transcriber=args.transcriber, head=args.head, train=TrainConfig(epochs=args.epochs, seed=args.seed))
    model_dir = out / "model"
    # validation (early stopping) = speakers carved from the training speakers, never the held-out ones
    trained = train_model_dir(cfg, model_dir, log=log)
    test = evaluate_model_dir(model_dir, "manifest", out / "test.jsonl", log=log)
    print(f"held-out speakers {', '.join(sorted(held_out))}: n={test['n']}  UA {100 * test['ua']:.1f}%  "
          f"WA {100 * test['wa']:.1f}%  macro-F1 {100 * test['macro_f1']:.1f}%")

    predictor = fusion.load(model_dir)  # what `fusion predict` uses: model + transcriber, loaded once
    clip = test_utts[0]
    gold = clip.transcript if args.transcriber == "gold" else None  # a gold-transcript model needs the text
    prediction = predictor.predict(clip.audio, transcript=gold)
    if not prediction.ok:
        raise fusion.FusionError(f"prediction failed for {clip.audio}: {prediction.error}")
    print(f"{clip.audio.name} (true {clip.label}): {prediction.label} "
          f"({prediction.probabilities[prediction.label]:.2f}), per modality {prediction.branch_labels()}, "
          f"transcript {prediction.transcript!r}")
    return {"model_dir": model_dir, "held_out": sorted(held_out), "n_train": len(train_utts),
            "train_metrics": trained, "test_metrics": test, "clip": clip, "prediction": prediction}


def per_speaker(utterances, limit: int) -> list:
    """At most ``limit`` clips per speaker, taking the labels in turn so that each stays represented."""
    rank = Counter()
    ranked = []
    for u in utterances:
        rank[u.speaker, u.label] += 1
        ranked.append((rank[u.speaker, u.label], u.label, u))  # the k-th clip of its speaker and label
    taken = Counter()
    keep = set()
    for _, _, u in sorted(ranked, key=lambda r: r[:2]):
        if taken[u.speaker] < limit:
            taken[u.speaker] += 1
            keep.add(u.id)
    return [u for u in utterances if u.id in keep]


def check_components(args) -> None:
    """Fail before any work when a component is not installed (the error lists the valid choices)."""
    fusion.get_acoustic_encoder(args.acoustic_encoder)
    fusion.get_text_encoder(args.text_encoder)
    fusion.get_transcriber(args.transcriber)
    fusion.get_fusion_head(args.head)


def log(message: str) -> None:
    print(message, file=sys.stderr)


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def parse_args(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", default="runs/example-fused", help="folder for the manifests and the model")
    parser.add_argument("--acoustic-encoder", default=DEFAULT_ACOUSTIC_ENCODER, help="acoustic encoder")
    parser.add_argument("--text-encoder", default=DEFAULT_TEXT_ENCODER, help="text encoder")
    parser.add_argument("--transcriber", default=DEFAULT_TRANSCRIBER, help="speech-to-text, or 'gold'")
    parser.add_argument("--head", default=DEFAULT_HEAD, help="fusion head")
    parser.add_argument("--epochs", type=positive, default=TrainConfig.epochs, help="maximum epochs")
    parser.add_argument("--limit", type=positive, help="at most N clips per speaker; None = all")
    parser.add_argument("--folds", type=int, default=5, help="1/FOLDS of the speakers are held out (>= 2)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the speaker split and the training")
    return parser.parse_args(argv)


if __name__ == "__main__":
    try:
        main()
    except fusion.FusionError as exc:
        sys.exit(f"error: {exc}")
