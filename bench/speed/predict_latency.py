"""Bench 1: predict latency of one ~4-s clip through the whole fused pipeline, warm model.

    .venv/bin/python bench/speed/predict_latency.py [--threads 2 1] [--repetitions 5]

Times ``Predictor.predict(path)`` (decode -> speech-to-text -> acoustic featurize -> text featurize
-> head; transcript cache off) for three pipelines, with the speech-to-text models alone as the
reference, all in one process and interleaved round-robin so the shared machine's load hits every
row alike:

* ``default``: fusion's defaults, faster-whisper tiny.en int8 (a clip up to 10 s decoded from a 10-s
  encoder window, :mod:`fusion_faster_whisper.short_window`) + whisper-encoder (trimmed pass);
* ``default, 30-s window``: the same with faster-whisper's standard 30-s window (``window=0``);
* ``openai-whisper``: the same model with openai-whisper tiny.en ``transcribe`` as the ASR step;
* ``shared pass``: whisper-shared + whisper-encoder-shared, one padded encoder pass per clip
  (a model trained on those padded features: the acoustic features differ from the trimmed ones);
* ``openai-whisper alone`` / ``faster-whisper alone`` (10-s window) / ``faster-whisper alone, 30-s
  window``: decode + transcribe only.

Each time is the mean over the clips of one round; the table shows the median over rounds. The
fused models are trained (3 epochs, gold transcripts, actors 01-06: accuracy is irrelevant) into
``--model-dir`` / ``--shared-model-dir`` when missing. Writes bench/results/speed_predict.json/.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

TRAIN = ["train", "--dataset", "ravdess", "--mode", "fused", "--transcriber", "gold",
         "--speakers", "01,02,03,04,05,06", "--epochs", "3", "--threads", "1"]


def ensure_model(model_dir: Path, acoustic_encoder: str) -> None:
    if (model_dir / "model.pt").is_file():
        return
    fusion_cli = Path(sys.executable).with_name("fusion")
    argv = [str(fusion_cli), *TRAIN, "--data-dir", str(common.ravdess_dir()),
            "--acoustic-encoder", acoustic_encoder, "--out", str(model_dir)]
    print("training", model_dir, file=sys.stderr)
    subprocess.run(argv, check=True)


def four_second_clips(n: int) -> list:
    """The ``n`` RAVDESS clips whose duration is closest to 4 s (distinct actors)."""
    from fusion import audio as audio_io

    by_actor: dict[str, tuple[float, object]] = {}
    for u in common.ravdess_corpus():
        gap = abs(audio_io.info(u.audio).duration - 4.0)
        if u.speaker not in by_actor or gap < by_actor[u.speaker][0]:
            by_actor[u.speaker] = (gap, u)
    return [u for _, u in sorted(by_actor.values(), key=lambda pair: pair[0])[:n]]


def systems_for(threads: int, model_dir: Path, shared_dir: Path, paths: list[str]) -> tuple[dict, dict]:
    """name -> callable predicting every clip once; plus the predictors (for the stage breakdown)."""
    import fusion
    from fusion import audio as audio_io
    from fusion_faster_whisper.transcriber import FasterWhisperTranscriber
    from fusion_whisper import checkpoint

    options = {"config": {"cache_transcripts": False}}
    predictors = {
        "default": fusion.load(model_dir, transcriber="faster-whisper",
                               transcriber_config={"cpu_threads": threads}, **options),
        "default, 30-s window": fusion.load(model_dir, transcriber="faster-whisper",
                                            transcriber_config={"cpu_threads": threads, "window": 0.0}, **options),
        "openai-whisper": fusion.load(model_dir, transcriber="whisper", **options),
        "shared pass": fusion.load(shared_dir, transcriber="whisper-shared", **options),
    }
    for p in predictors.values():
        p.warmup()
    whisper_model = checkpoint.load(checkpoint.default_model(), "cpu", RuntimeError, "bench")
    faster = FasterWhisperTranscriber(FasterWhisperTranscriber.Config(cpu_threads=threads))
    faster.loaded_model()
    faster30 = FasterWhisperTranscriber(FasterWhisperTranscriber.Config(cpu_threads=threads, window=0.0))

    def each(fn):
        return lambda: [fn(p) for p in paths]

    systems = {name: each(p.predict) for name, p in predictors.items()}
    systems["openai-whisper alone"] = each(lambda p: whisper_model.transcribe(
        audio_io.load(p), fp16=False, temperature=0.0, condition_on_previous_text=False, verbose=None)["text"])
    systems["faster-whisper alone"] = each(lambda p: faster.transcribe(audio_io.load(p), 16000))
    systems["faster-whisper alone, 30-s window"] = each(lambda p: faster30.transcribe(audio_io.load(p), 16000))
    return systems, predictors


def stage_breakdown(predictor, paths: list[str], repetitions: int) -> dict:
    """Median seconds per clip of each stage of the default pipeline, timed on their own."""
    import torch

    from fusion import audio as audio_io

    wavs = [audio_io.load(p) for p in paths]
    texts = [predictor.transcriber.transcribe(w, 16000) for w in wavs]
    model = predictor.model
    stages = {
        "decode": lambda: [audio_io.load(p) for p in paths],
        "speech-to-text": lambda: [predictor.transcriber.transcribe(w, 16000) for w in wavs],
        "acoustic featurize": lambda: [model.acoustic.featurize(torch.from_numpy(w)) for w in wavs],
        "text featurize": lambda: [model.text.featurize(t) for t in texts],
    }
    with torch.no_grad():
        timed = common.interleaved_medians(stages, repetitions)
    return {name: round(t["median_s"] / len(paths), 4) for name, t in timed.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1], help="torch/CTranslate2 threads")
    parser.add_argument("--repetitions", type=int, default=5, help="timed rounds per system")
    parser.add_argument("--clips", type=int, default=2, help="~4-s clips per round")
    parser.add_argument("--model-dir", type=Path, default=Path("/tmp/speed_model"))
    parser.add_argument("--shared-model-dir", type=Path, default=Path("/tmp/speed_model_shared"))
    args = parser.parse_args(argv)

    ensure_model(args.model_dir, "whisper-encoder")
    ensure_model(args.shared_model_dir, "whisper-encoder-shared")
    from fusion import audio as audio_io
    from fusion_whisper import shared_pass

    clips = four_second_clips(args.clips)
    paths = [str(u.audio) for u in clips]
    seconds = sum(audio_io.info(p).duration for p in paths) / len(paths)
    report = {"benchmark": "predict latency, one clip, warm model", "clips": [u.id for u in clips],
              "mean_clip_s": round(seconds, 3), "repetitions": args.repetitions, "load_before": common.machine_load(),
              "model_dir": str(args.model_dir), "shared_model_dir": str(args.shared_model_dir), "runs": []}
    for threads in args.threads:
        common.set_threads(threads)
        systems, predictors = systems_for(threads, args.model_dir, args.shared_model_dir, paths)
        taken = shared_pass.MEMO.taken
        timed = common.interleaved_medians(systems, args.repetitions)
        per_clip = {name: round(t["median_s"] / len(paths), 4) for name, t in timed.items()}
        cpu_per_clip = {name: round(t["median_cpu_s"] / len(paths), 4) for name, t in timed.items()}
        run = {"threads": threads, "environment": common.environment(threads), "load": common.machine_load(),
               "s_per_clip": per_clip, "cpu_s_per_clip": cpu_per_clip,
               "rtf": {n: round(s / seconds, 4) for n, s in per_clip.items()}, "rounds": timed,
               "speedup_vs_openai_whisper_alone": {n: round(per_clip["openai-whisper alone"] / s, 3)
                                                   for n, s in per_clip.items()},
               "shared_passes_reused": shared_pass.MEMO.taken - taken,
               "default_stages_s_per_clip": stage_breakdown(predictors["default"], paths, args.repetitions),
               "transcripts": {n: p.predict(paths[0]).transcript for n, p in predictors.items()}}
        report["runs"].append(run)
        print(f"threads {threads} done", file=sys.stderr)
    report["load_after"] = common.machine_load()

    rows = []
    for run in report["runs"]:
        for name, s in run["s_per_clip"].items():
            rows.append([run["threads"], name, s, run["rtf"][name], run["speedup_vs_openai_whisper_alone"][name],
                         run["cpu_s_per_clip"][name], run["load"]["load_1m"]])
    md = common.table(["threads", "pipeline", "s/clip (median)", "RTF", "x vs openai-whisper alone",
                       "CPU s/clip", "load 1m"], rows)
    stages = [[run["threads"], *run["default_stages_s_per_clip"].values()] for run in report["runs"]]
    md += "\n\nDefault pipeline stages (s/clip, timed alone):\n\n" + common.table(
        ["threads", *report["runs"][0]["default_stages_s_per_clip"]], stages)
    print(md)
    print("wrote", common.write_result("predict", report, md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
