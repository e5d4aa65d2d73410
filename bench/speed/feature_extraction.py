"""Bench 4: log-mel feature extraction over the 960 RAVDESS clips, in multiples of real time.

    .venv/bin/python bench/speed/feature_extraction.py [--repetitions 3] [--threads 1]

For every clip: ``fusion.audio.load`` (FLAC decode, mono, 16 kHz checks) and the ``cnn`` acoustic
encoder's ``featurize`` (fusion_acoustic LogMel: 64 mel bins, 25/10 ms, per-utterance
normalisation), which is what an ablation with a log-mel encoder caches; no cache involved.
Rows: decode alone, featurize alone (on decoded audio), decode + featurize, and Whisper's own
80-bin log-mel (``whisper.log_mel_spectrogram`` on the clip) for reference; every row is timed
``--repetitions`` times round-robin and the median is reported as audio seconds / wall seconds, and
as audio seconds / CPU seconds of the process (what it would be on an idle core: single thread).
Writes bench/results/speed_features.json/.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clips", type=int, default=960)
    args = parser.parse_args(argv)

    common.set_threads(args.threads)
    import torch
    import whisper

    import fusion
    from fusion import audio as audio_io

    utts = common.pick_clips(common.ravdess_corpus(), args.clips)
    paths = [str(u.audio) for u in utts]
    audio_s = common.clip_seconds(utts)
    encoder = fusion.get_acoustic_encoder("cnn").build().eval()
    wavs = [torch.from_numpy(audio_io.load(p)) for p in paths]

    def featurize_all(decode: bool):
        with torch.no_grad():
            for p, w in zip(paths, wavs):
                encoder.featurize(torch.from_numpy(audio_io.load(p)) if decode else w)

    rows = {
        "decode": lambda: [audio_io.load(p) for p in paths],
        "log-mel featurize (decoded)": lambda: featurize_all(False),
        "decode + log-mel featurize": lambda: featurize_all(True),
        "whisper log-mel (decoded, 80 bins)": lambda: [whisper.log_mel_spectrogram(w) for w in wavs],
    }
    report = {"benchmark": "log-mel feature extraction", "clips": len(paths), "audio_s": round(audio_s, 1),
              "encoder": "cnn", "encoder_config": encoder.featurize_key(), "repetitions": args.repetitions,
              "environment": common.environment(args.threads), "load_before": common.machine_load()}
    timed = common.interleaved_medians(rows, args.repetitions)
    report["load_after"] = common.machine_load()
    report["rows"] = {name: {**t, "x_real_time": round(audio_s / t["median_s"], 1),
                             "x_real_time_per_cpu_s": round(audio_s / t["median_cpu_s"], 1),
                             "ms_per_clip": round(1000 * t["median_s"] / len(paths), 3)}
                      for name, t in timed.items()}
    md = common.table(["step", "clips", "median s", "ms/clip", "x real time (wall)", "x real time (CPU s)"],
                      [[name, len(paths), r["median_s"], r["ms_per_clip"], r["x_real_time"],
                        r["x_real_time_per_cpu_s"]] for name, r in report["rows"].items()])
    md += f"\n\nLoad 1m before / after: {report['load_before']['load_1m']} / {report['load_after']['load_1m']}."
    print(md)
    print("wrote", common.write_result("features", report, md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
