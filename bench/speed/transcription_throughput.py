"""Bench 2: corpus transcription throughput and WER, side by side, and the cached second pass.

    .venv/bin/python bench/speed/transcription_throughput.py [--clips 120] [--threads 2]

On a fixed subset of RAVDESS (``--clips`` spread over every actor, emotion and statement; 960 =
the corpus), in one process, each in a fresh transcript cache, model loaded before timing, audio
decoding included, the systems taking turns chunk by chunk (``--batch-size`` clips) so that the
machine's load changes hit all of them alike:

* ``openai-whisper``: the ``whisper`` transcriber (tiny.en ``transcribe``, greedy), clip by clip;
* ``faster-whisper``: the ``faster-whisper`` transcriber (tiny.en int8, greedy), clip by clip, with its
  default 10-s encoder window for clips up to 10 s (:mod:`fusion_faster_whisper.short_window`);
* ``faster-whisper 30-s window``: the same with faster-whisper's standard 30-s window (``window=0``);
* ``faster-whisper batched``: faster-whisper's ``BatchedInferencePipeline`` over ``--batch-size``
  clips at a time (the clips concatenated, one ``clip_timestamps`` entry per clip, so each clip
  is one 30-s window of a batch), with the same no-speech rule;
* ``whisper-shared``: openai-whisper decoding from one padded encoder pass (no timestamps).

With ``--cache-root`` (a FUSION_CACHE the cold ablation of bench 5 filled with the default
faster-whisper transcripts of all 960 clips), the second pass: ``transcribe_utterances`` over the
960 clips, every transcript read from that cache. Writes bench/results/speed_transcription.json/.md.
"""

from __future__ import annotations

import argparse
import bisect
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402


class BatchedFasterWhisper:
    """faster-whisper's BatchedInferencePipeline over a list of clips (bench-only Transcriber)."""

    name = "faster-whisper-batched"
    uses_audio = True

    def __init__(self, threads: int, batch_size: int):
        from faster_whisper import BatchedInferencePipeline
        from fusion_faster_whisper.transcriber import FasterWhisperTranscriber

        self.config = FasterWhisperTranscriber.Config(cpu_threads=threads)
        self.pipeline = BatchedInferencePipeline(FasterWhisperTranscriber(self.config).loaded_model())
        self.batch_size = batch_size

    def featurize_key(self) -> dict:
        return {"name": self.name, "batch_size": self.batch_size}

    def transcribe_batch(self, wavs: list[np.ndarray], sr: int) -> list[str]:
        from fusion.transcripts import speech_text

        c = self.config
        starts = np.cumsum([0] + [len(w) for w in wavs])  # [N+1] sample offsets of the clips
        audio = np.concatenate(wavs).astype(np.float32)   # [S]
        spans = [{"start": starts[i] / sr, "end": starts[i + 1] / sr} for i in range(len(wavs))]
        segments, _ = self.pipeline.transcribe(
            audio, language="en", beam_size=c.beam_size, temperature=c.temperature, clip_timestamps=spans,
            batch_size=self.batch_size, without_timestamps=True, vad_filter=False,
            no_speech_threshold=c.no_speech_threshold, log_prob_threshold=c.logprob_threshold)
        per_clip: list[list] = [[] for _ in wavs]
        offsets = [s["start"] for s in spans]
        for seg in segments:
            per_clip[bisect.bisect_right(offsets, seg.start + 1e-3) - 1].append(
                (seg.text, seg.no_speech_prob, seg.avg_logprob))
        return [speech_text(s, c.no_speech_threshold, c.logprob_threshold) for s in per_clip]


def build(system: str, threads: int, batch_size: int):
    import fusion

    if system == "openai-whisper":
        return fusion.get_transcriber("whisper").build()
    if system == "faster-whisper":
        return fusion.get_transcriber("faster-whisper").build({"cpu_threads": threads})
    if system == "faster-whisper 30-s window":
        return fusion.get_transcriber("faster-whisper").build({"cpu_threads": threads, "window": 0.0})
    if system == "faster-whisper batched":
        return BatchedFasterWhisper(threads, batch_size)
    if system == "whisper-shared":
        return fusion.get_transcriber("whisper-shared").build()
    raise SystemExit(f"unknown system {system!r}")


def warm_up(transcriber) -> None:
    """Load the model and make a first call outside the timing."""
    if hasattr(transcriber, "loaded_model"):
        transcriber.loaded_model()
    noise = (0.01 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32)  # [S] 1 s
    transcriber.transcribe_batch([noise], 16000)


def run_interleaved(transcribers: dict, clips: list, cache_root: Path, batch_size: int) -> list[dict]:
    """Every system transcribes the same chunk of ``batch_size`` clips in turn (the order rotating
    from chunk to chunk), each into its own fresh cache; -> one row per system."""
    from bench.asr.wer import word_error_rate
    from fusion.cache import Cache
    from fusion.transcripts import transcribe_utterances

    names = list(transcribers)
    caches = {n: Cache("transcripts", root=cache_root / n.replace(" ", "-")) for n in names}
    seconds = dict.fromkeys(names, 0.0)
    texts: dict[str, dict] = {n: {} for n in names}
    errors = dict.fromkeys(names, 0)
    for i, start in enumerate(range(0, len(clips), batch_size)):
        chunk = clips[start:start + batch_size]
        for name in names[i % len(names):] + names[:i % len(names)]:
            took, report = common.timed(lambda: transcribe_utterances(chunk, transcribers[name], caches[name],
                                                                      batch_size=batch_size))
            seconds[name] += took
            texts[name].update(report.transcripts)
            errors[name] += len(report.errors)
    rows = []
    for name in names:
        pairs = [(texts[name][u.id], u.transcript) for u in clips if u.id in texts[name]]
        rows.append({"system": name, "clips": len(clips), "seconds": round(seconds[name], 2),
                     "clips_per_s": round(len(clips) / seconds[name], 3), "wer": round(word_error_rate(pairs), 4),
                     "failed": errors[name], "transcripts": texts[name]})
    return rows


def cache_pass(corpus: list, threads: int, cache_root: Path) -> dict:
    """Time a transcription pass over the corpus served from a cache already filled with the
    default faster-whisper transcripts (e.g. by a cold `fusion ablate` with FUSION_CACHE=cache_root)."""
    from fusion.cache import Cache, file_hash
    from fusion.transcripts import transcribe_utterances, transcript_key

    transcriber = build("faster-whisper", threads, 8)
    cache = Cache("transcripts", root=cache_root)
    present = sum(cache.get_json(transcript_key(transcriber, file_hash(u.audio))) is not None for u in corpus)
    if present < len(corpus):
        return {"clips": len(corpus), "skipped": f"only {present} of {len(corpus)} transcripts in {cache_root}; "
                                                "run bench 5 (cold) first or pass its --cache-root"}
    seconds, report = common.timed(lambda: transcribe_utterances(corpus, transcriber, Cache("transcripts",
                                                                                          root=cache_root)))
    return {"clips": len(corpus), "cache_root": str(cache_root), "seconds": round(seconds, 3),
            "clips_per_s": round(len(corpus) / seconds, 1), "from_cache": report.cached,
            "transcribed": report.computed, "load": common.machine_load()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=120, help="subset size (960 = the whole corpus)")
    parser.add_argument("--threads", type=int, default=2, help="torch / CTranslate2 threads")
    parser.add_argument("--batch-size", type=int, default=8, help="clips per batched call")
    parser.add_argument("--systems", nargs="*",
                        default=["openai-whisper", "faster-whisper", "faster-whisper 30-s window",
                                 "faster-whisper batched", "whisper-shared"])
    parser.add_argument("--cache-root", type=Path, default=None,
                        help="a FUSION_CACHE filled with faster-whisper transcripts of the 960 clips (bench 5 "
                             "cold): also time the second pass over them from it")
    args = parser.parse_args(argv)

    common.set_threads(args.threads)
    corpus = sorted(common.ravdess_corpus(), key=lambda u: u.id)
    clips = common.pick_clips(corpus, args.clips)
    audio_s = common.clip_seconds(clips)
    report = {"benchmark": "transcription throughput", "clips": len(clips), "audio_s": round(audio_s, 1),
              "subset": "evenly spaced over the id-sorted corpus (bench/asr/wer.py pick_clips)",
              "threads": args.threads, "batch_size": args.batch_size, "environment": common.environment(args.threads),
              "load_before": common.machine_load(), "runs": []}
    with tempfile.TemporaryDirectory(prefix="speed-transcribe-") as tmp:
        transcribers = {system: build(system, args.threads, args.batch_size) for system in args.systems}
        for transcriber in transcribers.values():
            warm_up(transcriber)
        report["runs"] = run_interleaved(transcribers, clips, Path(tmp), args.batch_size) if transcribers else []
        if args.cache_root:
            report["cache_pass"] = cache_pass(corpus, args.threads, args.cache_root)
    report["load_after"] = common.machine_load()
    base = next((r for r in report["runs"] if r["system"] == "openai-whisper"), None)
    rows = []
    for r in report["runs"]:
        ratio = r["clips_per_s"] / base["clips_per_s"] if base else float("nan")
        r["x_vs_openai_whisper"] = round(ratio, 3)
        rows.append([r["system"], r["clips"], r["clips_per_s"], round(audio_s / r["seconds"], 2),
                     ratio, f"{100 * r['wer']:.1f}%"])
    md = ""
    if rows:
        md = common.table(["system", "clips", "clips/s", "x real time", "x vs openai-whisper", "WER"], rows)
        md += (f"\n\nThe systems took turns on each chunk of {args.batch_size} clips. Load 1m before / after: "
               f"{report['load_before']['load_1m']} / {report['load_after']['load_1m']}.")
    c = report.get("cache_pass", {})
    if "skipped" in c:
        md = md + ("\n\n" if md else "") + f"Second pass from the cache: skipped ({c['skipped']})."
    elif c:
        md = md + ("\n\n" if md else "") + (f"Second pass from the cache: {c['clips']} clips in {c['seconds']} s "
               f"({c['clips_per_s']} clips/s), {c['from_cache']} from cache, {c['transcribed']} transcribed.")
    print(md)
    name = "transcription" if report["runs"] else "transcription_cache"  # a cache-pass-only run keeps the table
    print("wrote", common.write_result(name, report, md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
