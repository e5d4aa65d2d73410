"""RAVDESS audio-only under additive noise: UA vs SNR, trained clean vs trained with noise augmentation.

The default audio model (``fusion ablate --modes audio`` defaults) is trained on the benchmark's
speaker folds (validation speakers carved from the training actors, as in ravdess_audio.py), then
tested on clean clips and on copies with additive noise at each SNR (``torchaudio.functional.add_noise``
before ``featurize``): ``white`` (Gaussian) and ``babble`` (the sum of ``--babble-talkers`` clips of
*training* actors of the same fold, equal RMS each, looped to the clip's length: no test speaker is
heard in the noise). The noise-augmented model adds ``--augment-copies`` copies of every training clip
perturbed by :func:`fusion.augment.augment_waveform` (white noise at 0-20 dB SNR, speed 0.9/1.1 half
the time); babble is never seen in its training, so its column measures transfer. A third model
(``--babble-augment``, on by default) adds one copy of every training clip mixed with babble through
``augment.noise_dir``: a noise bank of ``--babble-files`` 4-s babble recordings of the fold's
training actors. Every perturbed copy goes through :func:`fusion.features.perturbed_acoustic_features`
(cached under its own key); featurizing them is the expensive part: ``--folds`` and
``--test-per-fold`` bound it.

    python bench/accuracy/noise_robustness.py [--folds 0,1,2,3] [--test-per-fold 120] [--snrs 20,10,5,0]
    python bench/accuracy/noise_robustness.py --render-only   # re-render the .md from the .json

Writes bench/results/noise_robustness.{json,md} (about 12 min on 2 busy CPU cores: 4,800 featurizations).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

import support
from noise_conditions import augmented_copy, clip_wav, featurized, noisy_copy, write_babble_bank

FOLDS = [["01", "02", "03", "04"], ["05", "06", "07", "08"], ["09", "10", "11", "12"], ["13", "14", "15", "16"]]
STEM = "noise_robustness"


def render(r: dict) -> str:
    aug, babble = r["augmentation"], "babble-augmented" in r["ua"]
    rows = [f"| {name} | {100 * ua:.1f} | {100 * r['ua']['noise-augmented'][name]:.1f} |"
            + (f" {100 * r['ua']['babble-augmented'][name]:.1f} |" if babble else "")
            for name, ua in r["ua"]["clean-trained"].items()]
    snr = dict(snr_low=aug["snr_db"][0], snr_high=aug["snr_db"][1])
    third = support.template("noise_robustness_babble", copies=aug["babble_copies_per_training_clip"],
                             files=aug["babble_files_per_fold"], **snr) if babble else ""
    return support.template(
        STEM, command=r["command"], folds="all 4 folds" if len(r["folds"]) == len(FOLDS) else f"folds {r['folds']}",
        test_per_fold=r["test_per_fold"], babble_talkers=r["babble_talkers"], rows="\n".join(rows),
        babble_column=" | trained with noise + babble augmentation" if babble else "",
        babble_rule="---|" if babble else "", copies=aug["copies_per_training_clip"], speeds=aug["speeds"],
        speed_prob=aug["speed_prob"], third_model=third, **snr) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=support.shared_data() / "ravdess",
                   help="the RAVDESS folder (default: $FUSION_SHARED/data/ravdess or ../shared/data/ravdess)")
    p.add_argument("--folds", default="0,1,2,3", help="comma-separated fold indices (0-3) to run")
    p.add_argument("--test-per-fold", type=int, default=120, help="seeded subset of each test fold (0 = all)")
    p.add_argument("--snrs", default="20,10,5,0")
    p.add_argument("--noises", default="white,babble")
    p.add_argument("--babble-talkers", type=int, default=6)
    p.add_argument("--augment-copies", type=int, default=1, help="noise-augmented copies per training clip")
    p.add_argument("--babble-augment", action=argparse.BooleanOptionalAction, default=True,
                   help="also train a model with white-noise + babble copies (augment.noise_dir)")
    p.add_argument("--babble-files", type=int, default=100, help="babble recordings in each fold's noise bank")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None, help="override the default max epochs (smoke runs)")
    support.add_location_arguments(p, STEM)  # --work-dir: the babble noise banks
    args = p.parse_args(argv)
    if args.render_only:
        support.write_results(args.out, STEM, None, render(support.read_results(args.out, STEM)))
        return 0

    import torch

    torch.set_num_threads(1)
    from fusion.augment import WaveformAugmentConfig, perturbation_key
    from fusion.data import folds_from_groups
    from fusion.experiment import ExperimentConfig, prepare_inputs
    from fusion.model import build_component
    from fusion.recipes import dataset_protocol
    from fusion.runners import fit_and_score, load_corpus, score

    support.use_cache(args.cache)
    start = time.perf_counter()
    cfg = support.as_measured(ExperimentConfig(dataset="ravdess", data_dir=str(args.data_dir), modes=("audio",),
                                               test_groups=tuple(tuple(f) for f in FOLDS)))
    if args.epochs is not None:
        cfg = cfg.replace(train=dataclasses.replace(cfg.train, epochs=args.epochs))
    utts = load_corpus(cfg)
    labels = tuple(sorted({u.label for u in utts}))
    inputs = prepare_inputs(cfg, utts, labels, log=support.log)
    utts = inputs.utterances
    folds = folds_from_groups(utts, cfg.test_groups, dataset_protocol("ravdess"), seed=0,
                              val_fraction=cfg.val_fraction)
    encoder = build_component("acoustic_encoder", cfg.acoustic_encoder, cfg.acoustic_config).eval()
    aug_cfg = WaveformAugmentConfig(noise_prob=1.0, snr_db=(0.0, 20.0), speed_prob=0.5)
    snrs = [float(s) for s in args.snrs.split(",")]
    conditions = [("clean", None)] + [(k, s) for k in args.noises.split(",") for s in snrs]
    table: dict[str, dict[str, list[float]]] = {"clean-trained": {}, "noise-augmented": {}}
    if args.babble_augment:
        table["babble-augmented"] = {}
    per_fold, counts = [], {"featurized": 0, "from_cache": 0}
    for fi in (int(f) for f in args.folds.split(",")):
        fold = folds[fi]
        test_idx = list(fold.test)
        if args.test_per_fold and args.test_per_fold < len(test_idx):
            rng = np.random.default_rng(args.seed + fi)
            test_idx = sorted(int(i) for i in rng.choice(test_idx, args.test_per_fold, replace=False))
        babble_pool = [utts[n] for n in fold.train]
        white = []  # per copy: utterance id -> features of its white-noise copy
        for copy in range(args.augment_copies):
            what = {"augment": "waveform", "config": repr(aug_cfg), "copy": copy}
            white.append(featurized([augmented_copy(utts[n], n, aug_cfg, copy, what, args.seed) for n in fold.train],
                                    encoder, counts))
        babbled = []
        if args.babble_augment:  # the library path: a noise bank of babble from this fold's training actors
            bank = write_babble_bank(args.work_dir / f"babble-fold{fi}", babble_pool, lambda u: clip_wav(u.audio),
                                     args.babble_files, args.babble_talkers, args.seed + fi)
            babble_cfg = dataclasses.replace(aug_cfg, noise_dir=str(bank))
            what = {"augment": "waveform", "config": perturbation_key(babble_cfg), "copy": 0}
            babbled = [featurized([augmented_copy(utts[n], n, babble_cfg, 1000, what, args.seed) for n in fold.train],
                                  encoder, counts)]
        support.log(f"fold {fi}: {sum(map(len, white))} white-noise and {sum(map(len, babbled))} babble training "
                    f"copies ({counts['featurized']} featurized so far)")
        noisy = featurized([noisy_copy(utts[n], n, kind, snr, babble_pool, args.babble_talkers, args.seed)
                            for kind, snr in conditions[1:] for n in test_idx], encoder, counts)
        tests = {"clean": inputs}  # condition -> the inputs whose audio features of the test clips are that condition's
        for kind, snr in conditions[1:]:
            noisy_audio = {utts[n].id: noisy[(kind, snr, n)] for n in test_idx}
            tests[f"{kind} {snr:g} dB"] = dataclasses.replace(inputs, audio=noisy_audio)
        support.log(f"fold {fi}: test conditions ready ({counts['featurized']} featurized, "
                    f"{counts['from_cache']} cached)")
        row = {"fold": fi, "n_test": len(test_idx), "models": {}}
        models = [("clean-trained", []), ("noise-augmented", white)] + ([("babble-augmented", white + babbled)]
                                                                        if args.babble_augment else [])
        for model_name, copies in models:  # training copies: white-noise copy 0, 1, ..., then the babble copy
            run = fit_and_score(cfg, dataclasses.replace(inputs, augmented=copies), "audio", fold.train, fold.val,
                                seed=args.seed)
            uas = {name: score(run.model, test, test_idx, "audio")[2]["ua"] for name, test in tests.items()}
            for name, ua in uas.items():
                table[model_name].setdefault(name, []).append(ua)
            row["models"][model_name] = {"ua": uas, "best_val_ua": run.result.best_val_ua,
                                         "best_epoch": run.result.best_epoch}
            support.log(f"fold {fi} {model_name}: " + ", ".join(f"{k} {100 * v:.1f}" for k, v in uas.items()))
        per_fold.append(row)

    results = {
        "benchmark": "ravdess-audio-noise", "folds": [FOLDS[int(f)] for f in args.folds.split(",")],
        "test_per_fold": args.test_per_fold or "all", "babble_talkers": args.babble_talkers,
        "augmentation": {"copies_per_training_clip": args.augment_copies, "noise_prob": aug_cfg.noise_prob,
                         "snr_db": list(aug_cfg.snr_db), "speed_prob": aug_cfg.speed_prob,
                         "speeds": list(aug_cfg.speeds),
                         "babble_copies_per_training_clip": 1 if args.babble_augment else 0,
                         "babble_files_per_fold": args.babble_files if args.babble_augment else 0},
        "config": cfg.to_dict(), "ua": {m: {n: float(np.mean(v)) for n, v in t.items()} for m, t in table.items()},
        "per_fold": per_fold, **counts, "wall_time_s": round(time.perf_counter() - start, 1),
        "command": support.command_line("noise_robustness.py", argv),
    }
    support.write_results(args.out, STEM, results, md := render(results))
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
