"""RAVDESS audio-only under additive noise: UA vs SNR, trained clean vs trained with noise augmentation.

The default audio model (``fusion ablate --modes audio`` defaults) is trained on the benchmark's
speaker folds (validation speakers carved from the training actors, as in ravdess_audio.py), then
tested on clean clips and on copies with additive noise at each SNR:

* ``white``: Gaussian white noise;
* ``babble``: the sum of ``--babble-talkers`` clips of *training* actors of the same fold (equal
  RMS each, looped to the clip's length), so no test speaker is heard in the noise.

Noise is mixed with ``torchaudio.functional.add_noise`` before ``featurize``; the noisy copies' features
are cached under their own keys (clip hash, noise, SNR, seed, encoder). The noise-augmented model adds
``--augment-copies`` copies of every training clip perturbed by
``fusion_acoustic.augment.augment_waveform`` (white noise at 0-20 dB SNR, speed 0.9/1.1 half the time);
babble is never seen in training, so its column measures transfer. A third model (``--babble-augment``,
on by default) adds, on top of those white-noise copies, one copy of every training clip mixed with babble
through the library option ``augment.noise_dir``: per fold, ``--babble-files`` babble recordings (4 s,
``--babble-talkers`` clips of the fold's *training* actors each) are written to a folder that serves as
the noise bank (:class:`fusion.augment.NoiseBank`). Featurizing noisy copies of a frozen encoder is the
expensive part: ``--folds`` and ``--test-per-fold`` bound it.

    python bench/accuracy/noise_robustness.py [--folds 0,1,2,3] [--test-per-fold 120] [--snrs 20,10,5,0]

Writes bench/results/noise_robustness.json and .md (about 12 min on 2 busy CPU cores: 4,800 featurizations).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FOLDS = [["01", "02", "03", "04"], ["05", "06", "07", "08"], ["09", "10", "11", "12"], ["13", "14", "15", "16"]]
SR = 16000


def make_babble(wavs: list[np.ndarray], length: int) -> np.ndarray:
    """Equal-RMS sum of ``wavs``, each looped/cropped to ``length`` samples -> [length]."""
    out = np.zeros(length, dtype=np.float32)
    for w in wavs:
        w = w / (np.sqrt(np.mean(w ** 2)) + 1e-8)
        out += np.resize(w, length)
    return out


def write_babble_bank(folder: Path, pool, nf: "NoisyFeatures", files: int, talkers: int, seed: int) -> Path:
    """``files`` babble recordings (4 s, ``talkers`` clips of ``pool`` each, peak 0.9) as 24-bit WAVs in
    ``folder`` -> folder. Deterministic in (pool, files, talkers, seed), so the bank's key is too."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.wav"):
        old.unlink()
    rng = np.random.default_rng([seed, 7])
    for i in range(files):
        picks = sorted(int(k) for k in rng.choice(len(pool), talkers, replace=False))
        babble = make_babble([nf.wav(pool[k]) for k in picks], 4 * SR)                  # [4 s]
        sf.write(folder / f"babble-{i:03d}.wav", 0.9 * babble / np.abs(babble).max(), SR, subtype="PCM_24")
    return folder


def mix(wav: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """wav [S] + noise [S] scaled to ``snr_db`` (torchaudio's add_noise)."""
    import torch
    import torchaudio.functional as AF

    out = AF.add_noise(torch.from_numpy(wav)[None], torch.from_numpy(noise)[None], torch.tensor([float(snr_db)]))
    return out[0].numpy()


class NoisyFeatures:
    """featurize(perturbed clip), cached per (clip, perturbation, encoder); clean clips decoded once."""

    def __init__(self, encoder):
        from fusion.cache import Cache

        self.encoder, self.cache = encoder, Cache("features")
        self.ident = encoder.featurize_key()
        self._wavs: dict[str, np.ndarray] = {}

    def wav(self, utt) -> np.ndarray:
        from fusion import audio as audio_io

        if utt.id not in self._wavs:
            self._wavs[utt.id] = audio_io.load(utt.audio, target_sr=SR, on_silence="ignore")
        return self._wavs[utt.id]

    def get(self, utt, what: dict, make_wav) -> "torch.Tensor":  # noqa: F821
        import torch

        from fusion.cache import file_hash, make_key

        def compute():
            with torch.no_grad():
                return self.encoder.featurize(torch.from_numpy(np.ascontiguousarray(make_wav(), dtype=np.float32)))

        key = make_key("perturbed-acoustic", file_hash(utt.audio), what, self.ident)
        return self.cache.get_or_compute_tensor(key, compute)


def noisy_items(nf: NoisyFeatures, utts, labels, test_idx, babble_pool, kind: str, snr: float, talkers: int,
                seed: int) -> list[dict]:
    items = []
    for n in test_idx:
        u = utts[n]
        rng = np.random.default_rng([seed, n, int(round(snr * 10)) % 2**32, 0 if kind == "white" else 1])
        wav = nf.wav(u)
        if kind == "white":
            noise = lambda: rng.standard_normal(len(wav)).astype(np.float32)  # noqa: E731
            what = {"noise": "white", "snr": snr, "seed": seed}
        else:
            picks = sorted(int(i) for i in rng.choice(len(babble_pool), talkers, replace=False))
            noise = lambda: make_babble([nf.wav(babble_pool[i]) for i in picks], len(wav))  # noqa: E731
            what = {"noise": "babble", "snr": snr, "seed": seed, "talkers": [babble_pool[i].id for i in picks]}
        feats = nf.get(u, what, lambda: mix(wav, noise(), snr))
        items.append({"audio": feats, "text": None, "label": labels.index(u.label)})
    return items


def write_markdown(results: dict, out: Path) -> None:
    aug = results["augmentation"]
    babble = "babble-augmented" in results["ua"]
    folds = "all 4 folds" if len(results["folds"]) == len(FOLDS) else f"folds {results['folds']}"
    lines = [f"`{results['command']}`: UA (%) of the default audio model (seed 0) on {folds}, "
             f"{results['test_per_fold']} test clips per fold (seeded subset), clean and with additive noise "
             f"(babble: {results['babble_talkers']} talkers from the fold's training actors).", "",
             "| test condition | trained clean | trained with noise augmentation" + (
                 " | trained with noise + babble augmentation |" if babble else " |"),
             "|---|---|---|" + ("---|" if babble else "")]
    for name, ua in results["ua"]["clean-trained"].items():
        lines.append(f"| {name} | {100 * ua:.1f} | {100 * results['ua']['noise-augmented'][name]:.1f} |"
                     + (f" {100 * results['ua']['babble-augmented'][name]:.1f} |" if babble else ""))
    lines += ["", f"Augmentation: {aug['copies_per_training_clip']} extra copy of every training clip with white "
              f"noise at {aug['snr_db'][0]:g}-{aug['snr_db'][1]:g} dB SNR (and a {aug['speeds']} speed change "
              f"with probability {aug['speed_prob']:g}), featurized before training; the second model never hears babble in "
              "training." + (f" The third model adds {aug['babble_copies_per_training_clip']} more copy of every training "
                             f"clip mixed with babble at {aug['snr_db'][0]:g}-{aug['snr_db'][1]:g} dB (same speed "
                             f"changes), drawn by `augment.noise_dir` from {aug['babble_files_per_fold']} babble "
                             "recordings of the fold's training actors (not the test babble's clips' mixtures, "
                             "but the same actors)." if babble else "")]
    (out / "noise_robustness.md").write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "ravdess"))
    p.add_argument("--folds", default="0,1,2,3", help="comma-separated fold indices (0-3) to run")
    p.add_argument("--test-per-fold", type=int, default=120, help="seeded subset of each test fold (0 = all)")
    p.add_argument("--snrs", default="20,10,5,0")
    p.add_argument("--noises", default="white,babble")
    p.add_argument("--babble-talkers", type=int, default=6)
    p.add_argument("--augment-copies", type=int, default=1, help="noise-augmented copies per training clip")
    p.add_argument("--babble-augment", action=argparse.BooleanOptionalAction, default=True,
                   help="also train a model with white-noise + babble copies (augment.noise_dir)")
    p.add_argument("--babble-files", type=int, default=100, help="babble recordings in each fold's noise bank")
    p.add_argument("--work", default="/tmp/fusion-noise-bench", help="where the babble noise banks are written")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None, help="override the default max epochs (smoke runs)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results"))
    p.add_argument("--markdown-only", action="store_true", help="re-render the .md from the existing .json")
    args = p.parse_args(argv)
    if args.markdown_only:
        write_markdown(json.loads((Path(args.out) / "noise_robustness.json").read_text()), Path(args.out))
        return 0

    import torch

    torch.set_num_threads(1)
    from fusion.runners import load_corpus
    from fusion.data import folds_from_groups
    from fusion.experiment import ExperimentConfig, prepare_inputs
    from fusion.model import build_component as build
    from fusion.model import EmotionModel
    from fusion.recipes import dataset_protocol
    from fusion.training.metrics import classification_metrics
    from fusion.training.trainer import predict_proba, seed_everything, train
    from fusion.augment import perturbation_key
    from fusion_acoustic.augment import WaveformAugmentConfig, augment_waveform

    start = time.perf_counter()
    cfg = ExperimentConfig(dataset="ravdess", data_dir=args.data_dir, modes=("audio",),
                           test_groups=tuple(tuple(f) for f in FOLDS))
    if args.epochs is not None:
        cfg = cfg.replace(train=cfg.train.__class__(**{**cfg.train.to_dict(), "epochs": args.epochs}))
    utts = load_corpus(cfg)
    labels = tuple(sorted({u.label for u in utts}))
    inputs = prepare_inputs(cfg, utts, labels, log=lambda s: print(s, file=sys.stderr))
    utts = inputs.utterances
    folds = folds_from_groups(utts, cfg.test_groups, dataset_protocol("ravdess"), seed=0,
                              val_fraction=cfg.val_fraction)
    nf = NoisyFeatures(build("acoustic_encoder", cfg.acoustic_encoder, cfg.acoustic_config).eval())
    aug_cfg = WaveformAugmentConfig(noise_prob=1.0, snr_db=(0.0, 20.0), speed_prob=0.5)
    snrs = [float(s) for s in args.snrs.split(",")]
    conditions = [("clean", None)] + [(k, s) for k in args.noises.split(",") for s in snrs]
    table: dict[str, dict[str, list[float]]] = {"clean-trained": {}, "noise-augmented": {}}
    if args.babble_augment:
        table["babble-augmented"] = {}
    per_fold = []
    for fi in (int(f) for f in args.folds.split(",")):
        fold = folds[fi]
        test_idx = list(fold.test)
        if args.test_per_fold and args.test_per_fold < len(test_idx):
            rng = np.random.default_rng(args.seed + fi)
            test_idx = sorted(int(i) for i in rng.choice(test_idx, args.test_per_fold, replace=False))
        babble_pool = [utts[n] for n in fold.train]
        tr, va = inputs.items(fold.train, "audio"), inputs.items(fold.val, "audio")
        augmented = []
        for copy in range(args.augment_copies):
            for n in fold.train:
                u = utts[n]
                rng = np.random.default_rng([args.seed, copy, n])
                feats = nf.get(u, {"augment": "waveform", "config": repr(aug_cfg), "copy": copy, "seed": args.seed},
                               lambda: augment_waveform(nf.wav(u), SR, rng, aug_cfg))
                augmented.append({"audio": feats, "text": None, "label": labels.index(u.label)})
        babbled = []
        if args.babble_augment:  # the library path: a noise bank of babble from this fold's training actors
            bank = write_babble_bank(Path(args.work) / f"babble-fold{fi}", babble_pool, nf, args.babble_files,
                                     args.babble_talkers, args.seed + fi)
            babble_cfg = WaveformAugmentConfig(noise_prob=1.0, snr_db=(0.0, 20.0), speed_prob=0.5,
                                               noise_dir=str(bank))
            for n in fold.train:
                u = utts[n]
                rng = np.random.default_rng([args.seed, 1000, n])
                feats = nf.get(u, {"augment": "waveform", "config": perturbation_key(babble_cfg), "copy": 0,
                                   "seed": args.seed}, lambda: augment_waveform(nf.wav(u), SR, rng, babble_cfg))
                babbled.append({"audio": feats, "text": None, "label": labels.index(u.label)})
        print(f"fold {fi}: {len(augmented)} white-noise and {len(babbled)} babble training copies "
              f"({nf.cache.misses} featurized so far)", file=sys.stderr)
        tests = {}
        for kind, snr in conditions:
            name = "clean" if kind == "clean" else f"{kind} {snr:g} dB"
            tests[name] = inputs.items(test_idx, "audio") if kind == "clean" else \
                noisy_items(nf, utts, labels, test_idx, babble_pool, kind, snr, args.babble_talkers, args.seed)
        print(f"fold {fi}: test conditions ready ({nf.cache.misses} featurized, {nf.cache.hits} cached)",
              file=sys.stderr)
        row = {"fold": fi, "n_test": len(test_idx), "models": {}}
        models = [("clean-trained", tr), ("noise-augmented", tr + augmented)]
        if args.babble_augment:
            models.append(("babble-augmented", tr + augmented + babbled))
        for model_name, train_items in models:
            seed_everything(args.seed)
            model = EmotionModel(cfg.model_config("audio", labels))
            result = train(model, train_items, va, cfg.train.__class__(**{**cfg.train.to_dict(), "seed": args.seed}))
            uas = {}
            for name, items in tests.items():
                y = [it["label"] for it in items]
                uas[name] = classification_metrics(y, predict_proba(model, items).argmax(1), labels)["ua"]
                table[model_name].setdefault(name, []).append(uas[name])
            row["models"][model_name] = {"ua": uas, "best_val_ua": result.best_val_ua,
                                         "best_epoch": result.best_epoch}
            print(f"fold {fi} {model_name}: " + ", ".join(f"{k} {100 * v:.1f}" for k, v in uas.items()),
                  file=sys.stderr, flush=True)
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
        "per_fold": per_fold, "featurized": nf.cache.misses, "from_cache": nf.cache.hits,
        "wall_time_s": round(time.perf_counter() - start, 1), "command": "python " + " ".join(sys.argv),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "noise_robustness.json").write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results, out)
    print((out / "noise_robustness.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
