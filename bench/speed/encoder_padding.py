"""Bench 3: the Whisper encoder as acoustic encoder, trimmed to the clip vs padded to 30 s.

    .venv/bin/python bench/speed/encoder_padding.py [--clips 20] [--threads 1]

1. Time per clip of ``whisper-encoder`` ``featurize`` with ``trim=True`` (the clip's own frames)
   and ``trim=False`` (the standard padded 30-s window, first T frames: what a pass shared with
   the decoder gives, i.e. ``whisper-encoder-shared``), interleaved, median over ``--clips`` clips.
2. How different the features are: per layer, the cosine similarity between the trimmed and the
   padded frame states (before the layer norm / frame averaging of featurize), mean over frames.
3. The effect on UA: the audio-only ablation (whisper-encoder defaults otherwise) with
   ``acoustic.trim=true`` vs ``false``, on a 2-fold speaker subset (``--test-groups``, default
   actors 01-04 / 05-08, trained on the other four of those eight minus validation speakers);
   features come from the default cache ($FUSION_CACHE) when present.
Writes bench/results/speed_encoder_padding.json/.md.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402


def feature_timing_and_similarity(clips: list, repetitions: int) -> dict:
    import torch

    import fusion
    from fusion import audio as audio_io

    encoder = fusion.get_acoustic_encoder("whisper-encoder").build().eval()
    wavs = [torch.from_numpy(audio_io.load(u.audio)) for u in clips]
    rows = {
        "trimmed (trim=true)": lambda: [encoder.frame_states(w, trim=True) for w in wavs],
        "padded 30 s (trim=false)": lambda: [encoder.frame_states(w, trim=False) for w in wavs],
    }
    timed = common.interleaved_medians(rows, repetitions)
    cosines = []
    for w in wavs:
        a, b = encoder.frame_states(w, trim=True), encoder.frame_states(w, trim=False)  # [T, L+1, D] each
        cosines.append(torch.nn.functional.cosine_similarity(a, b, dim=-1).mean(0))     # [L+1]
    per_layer = torch.stack(cosines).mean(0)                                             # [L+1]
    return {"s_per_clip": {name: round(t["median_s"] / len(wavs), 4) for name, t in timed.items()},
            "rounds": timed, "cosine_trimmed_vs_padded_per_layer": [round(float(c), 4) for c in per_layer]}


def timing_table(report: dict, clips: int) -> str:
    t = report["s_per_clip"]
    cpu = {name: r["median_cpu_s"] / clips for name, r in report["rounds"].items()}
    rows = [[name, s, round(cpu[name], 4), round(s / t["trimmed (trim=true)"], 1)] for name, s in t.items()]
    return common.table(["whisper-encoder featurize", "s/clip", "CPU s/clip", "x trimmed (wall)"], rows)


def ua_effect(test_groups: list[list[str]], runs: Path, epochs: int | None) -> dict:
    from fusion.runners import run_ablation
    from fusion.experiment import ExperimentConfig
    from fusion.training.trainer import TrainConfig

    speakers = tuple(sorted(s for group in test_groups for s in group))
    out = {}
    for trim in (True, False):
        cfg = ExperimentConfig(dataset="ravdess", data_dir=str(common.ravdess_dir()), modes=("audio",),
                               acoustic_config={"trim": trim}, speakers=speakers,
                               test_groups=tuple(tuple(g) for g in test_groups),
                               train=TrainConfig() if epochs is None else TrainConfig(epochs=epochs))
        run_dir = runs / ("trimmed" if trim else "padded")
        if run_dir.exists():
            shutil.rmtree(run_dir)
        seconds, res = common.timed(lambda: run_ablation(cfg, run_dir, log=lambda s: print(s, file=sys.stderr)))
        m = res["modes"]["audio"]
        out["trimmed" if trim else "padded"] = {
            "ua": round(m["ua"]["mean"], 4), "ua_per_fold": [round(x, 4) for x in m["ua"]["per_fold"]],
            "wa": round(m["wa"]["mean"], 4), "features": res["cache"].get("audio"), "wall_s": round(seconds, 1),
            "load": common.machine_load()}
    out["ua_padded_minus_trimmed"] = round(out["padded"]["ua"] - out["trimmed"]["ua"], 4)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20, help="clips for the timing and similarity")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--test-groups", default="01,02,03,04;05,06,07,08",
                        help="';'-separated folds of test actors (all of them form the subset)")
    parser.add_argument("--epochs", type=int, default=None, help="max epochs (default: TrainConfig's)")
    parser.add_argument("--runs", type=Path, default=Path("/tmp/speed-padding-runs"))
    parser.add_argument("--skip-ua", action="store_true", help="only the timing and the similarity")
    args = parser.parse_args(argv)

    common.set_threads(args.threads)
    clips = common.pick_clips(common.ravdess_corpus(), args.clips)
    groups = [g.split(",") for g in args.test_groups.split(";")]
    report = {"benchmark": "whisper-encoder trimmed vs padded", "clips": len(clips),
              "mean_clip_s": round(common.clip_seconds(clips) / len(clips), 3),
              "environment": common.environment(args.threads), "load_before": common.machine_load()}
    report.update(feature_timing_and_similarity(clips, args.repetitions))
    if not args.skip_ua:
        report["ua"] = {"test_groups": groups, **ua_effect(groups, args.runs, args.epochs)}
    report["load_after"] = common.machine_load()

    md = timing_table(report, len(clips))
    md += "\n\nCosine similarity trimmed vs padded states, per layer (0 = conv stem): " + ", ".join(
        f"{c:.3f}" for c in report["cosine_trimmed_vs_padded_per_layer"])
    if "ua" in report:
        u = report["ua"]
        md += "\n\n" + common.table(
            ["features", "UA (2-fold)", "UA per fold", "WA"],
            [[name, f"{100 * u[name]['ua']:.1f}%", ", ".join(f"{100 * x:.1f}" for x in u[name]["ua_per_fold"]),
              f"{100 * u[name]['wa']:.1f}%"] for name in ("trimmed", "padded")])
        md += f"\n\nUA padded - trimmed: {100 * u['ua_padded_minus_trimmed']:+.1f} points (test actors {groups})."
    print(md)
    print("wrote", common.write_result("encoder_padding", report, md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
