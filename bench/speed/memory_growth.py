"""Bench 6: peak memory of predict / transcribe / ablate, and how prepare time grows with the corpus.

    .venv/bin/python bench/speed/memory_growth.py [--sizes 120 240 480] [--threads 1]

1. Peak RSS (``os.wait4`` of a child process, as ``/usr/bin/time -v`` reports it) of
   ``fusion predict`` (the bench-1 model, faster-whisper, ``--rss-clips`` RAVDESS files),
   ``fusion transcribe`` (faster-whisper, a manifest of the same clips, no cache) and
   ``fusion ablate`` (read from bench 5's speed_ablation_cold.json when it exists).
2. Growth: for each size n, a fresh child process transcribes (faster-whisper) and featurizes
   (whisper-encoder, minilm) n RAVDESS clips into a fresh cache, the defaults' prepare step; its
   work time (models loaded beforehand), wall time and peak RSS are recorded, and the log-log slope
   of time against n is fitted (1 = linear). The cold ablation's time to "inputs ready" for the
   960 clips (bench 5, same components, whole process) is added as a separate point.
Writes bench/results/speed_memory.json/.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

HERE = Path(__file__).resolve()


def prepare_worker(n: int, cache_root: str, threads: int) -> None:
    """Child: models loaded, then transcription + features of n clips; prints one JSON line."""
    common.set_threads(threads)
    import fusion
    from fusion.cache import Cache
    from fusion.features import acoustic_features, text_features
    from fusion.transcripts import transcribe_utterances

    clips = common.pick_clips(common.ravdess_corpus(), n)
    transcriber = fusion.get_transcriber("faster-whisper").build({"cpu_threads": threads})
    acoustic = fusion.get_acoustic_encoder("whisper-encoder").build()
    text = fusion.get_text_encoder("minilm").build()
    transcriber.loaded_model(), acoustic.whisper_model(), text.featurize("warm up")
    c0, t0 = time.process_time(), time.perf_counter()
    report = transcribe_utterances(clips, transcriber, Cache("transcripts", root=cache_root))
    t1 = time.perf_counter()
    acoustic_features(clips, acoustic, Cache("features", root=cache_root))
    t2 = time.perf_counter()
    text_features(clips, report.transcripts, text, Cache("features", root=cache_root))
    t3 = time.perf_counter()
    print(json.dumps({"n": n, "work_s": round(t3 - t0, 2), "work_cpu_s": round(time.process_time() - c0, 2),
                      "transcribe_s": round(t1 - t0, 2), "acoustic_s": round(t2 - t1, 2), "text_s": round(t3 - t2, 2),
                      "audio_s": round(common.clip_seconds(clips), 1)}))


def loglog_slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(time) against log(n)."""
    import numpy as np

    if len(points) < 2:
        return None
    x, y = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    return round(float(np.polyfit(x, y, 1)[0]), 3)


def peak_rss(model_dir: Path, threads: int, tmp: Path, rss_clips: int) -> dict:
    import fusion

    cli = str(Path(sys.executable).with_name("fusion"))
    out = {}
    clips = common.pick_clips(common.ravdess_corpus(), rss_clips)
    out["predict"] = common.run_measured(
        [cli, "predict", str(model_dir), *[str(u.audio) for u in clips], "-t", "faster-whisper", "--json"],
        env={"FUSION_CACHE": str(tmp / "predict-cache"), "OMP_NUM_THREADS": str(threads)})
    manifest = fusion.write_manifest(clips, tmp / "clips.jsonl")
    out["transcribe"] = common.run_measured(
        [cli, "transcribe", str(manifest), "-t", "faster-whisper", "--no-cache", "-o", str(tmp / "out.jsonl")],
        env={"OMP_NUM_THREADS": str(threads)})
    cold = common.RESULTS / "speed_ablation_cold.json"
    if cold.is_file():
        r = json.loads(cold.read_text())
        out["ablate"] = {"argv": r["argv"], "returncode": r["returncode"], "wall_s": r["wall_s"],
                         "peak_rss_mb": r["peak_rss_mb"], "source": str(cold.relative_to(common.ROOT))}
    for entry in out.values():  # keep a command's output only when it failed
        if entry.get("returncode") == 0:
            entry.pop("output_tail", None)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[120, 240, 480])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model-dir", type=Path, default=Path("/tmp/speed_model"))
    parser.add_argument("--rss-clips", type=int, default=40, help="clips given to fusion predict / transcribe")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cache-root", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--skip-rss", action="store_true", help="only the growth runs")
    args = parser.parse_args(argv)
    if args.worker is not None:
        prepare_worker(args.worker, args.cache_root, args.threads)
        return 0

    report = {"benchmark": "memory and growth", "threads": args.threads, "load_before": common.machine_load()}
    with tempfile.TemporaryDirectory(prefix="speed-memory-") as tmp:
        if not args.skip_rss:
            report["peak_rss"] = peak_rss(args.model_dir, args.threads, Path(tmp), args.rss_clips)
        growth = []
        for n in args.sizes:
            run = common.run_measured([sys.executable, str(HERE), "--worker", str(n), "--threads",
                                       str(args.threads), "--cache-root", str(Path(tmp) / f"cache-{n}")])
            lines = [line for line in run["output_tail"].splitlines() if line.startswith("{")]
            if run["returncode"] or not lines:
                raise SystemExit(f"growth worker n={n} failed:\n{run['output_tail']}")
            growth.append({**json.loads(lines[-1]), "wall_s": run["wall_s"], "peak_rss_mb": run["peak_rss_mb"],
                           "load": common.machine_load()})
            print(f"n={n}: {growth[-1]}", file=sys.stderr)
    report["growth"] = growth
    report["slope_work_s"] = loglog_slope([(g["n"], g["work_s"]) for g in growth])
    report["slope_wall_s"] = loglog_slope([(g["n"], g["wall_s"]) for g in growth])
    report["slope_work_cpu_s"] = loglog_slope([(g["n"], g["work_cpu_s"]) for g in growth])
    cold = common.RESULTS / "speed_ablation_cold.json"
    if cold.is_file():
        ready = json.loads(cold.read_text())["phases"]["inputs_ready_s"]
        if ready:
            report["ablation_960_inputs_ready_s"] = ready
            report["slope_wall_s_with_ablation_960"] = loglog_slope(
                [(g["n"], g["wall_s"]) for g in growth] + [(960, ready)])
    report["load_after"] = common.machine_load()

    md = ""
    if "peak_rss" in report:
        md += common.table(["command", "peak RSS (MB)", "wall s", "exit"],
                           [[name, r["peak_rss_mb"], r["wall_s"], r["returncode"]]
                            for name, r in report["peak_rss"].items()]) + "\n\n"
    md += common.table(["clips", "work s (transcribe + features)", "work CPU s", "transcribe s", "acoustic s",
                        "text s", "process wall s", "peak RSS (MB)", "load 1m"],
                       [[g["n"], g["work_s"], g["work_cpu_s"], g["transcribe_s"], g["acoustic_s"], g["text_s"],
                         g["wall_s"], g["peak_rss_mb"], g["load"]["load_1m"]] for g in growth])
    md += (f"\n\nlog-log slope: work {report['slope_work_s']}, work CPU {report['slope_work_cpu_s']}, "
           f"process wall {report['slope_wall_s']}")
    if "slope_wall_s_with_ablation_960" in report:
        md += (f"; with the cold ablation's 960-clip prepare ({report['ablation_960_inputs_ready_s']} s): "
               f"{report['slope_wall_s_with_ablation_960']}")
    print(md)
    print("wrote", common.write_result("memory", report, md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
