"""Shared helpers of the speed benchmarks: machine load, repeated timing, clip choice, result files.

Every benchmark records the load averages (``os.getloadavg``, as ``uptime`` shows them) before and
after it runs, because the machine is shared: absolute times move with the load, ratios measured
side by side in one run (repetitions interleaved round-robin) much less.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:  # bench/ helpers (bench.asr.wer) import from the repository root
    sys.path.insert(0, str(ROOT))


def ravdess_dir() -> Path:
    """RAVDESS under ``$FUSION_SHARED`` or ``../shared`` beside the checkout."""
    from bench.asr.wer import shared_dir

    return shared_dir() / "data" / "ravdess"


def machine_load() -> dict:
    """Load averages over 1 / 5 / 15 min and the CPU count (the numbers of ``uptime``)."""
    one, five, fifteen = os.getloadavg()
    return {"load_1m": round(one, 2), "load_5m": round(five, 2), "load_15m": round(fifteen, 2),
            "cpu_count": os.cpu_count(), "at": time.strftime("%Y-%m-%d %H:%M:%S")}


def environment(threads: int | None) -> dict:
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "threads": threads,
            "machine": platform.machine()}


def set_threads(threads: int) -> None:
    """torch intra-op threads (the faster-whisper rows get the same count as ``cpu_threads``)."""
    import torch

    torch.set_num_threads(threads)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def interleaved_medians(systems: dict[str, Callable[[], Any]], repetitions: int,
                        warmup: int = 1) -> dict[str, dict]:
    """Time every system ``repetitions`` times, round-robin (A B C A B C ...), after ``warmup``
    untimed calls each; -> name -> {median_s, min_s, max_s, times_s, median_cpu_s}.

    ``median_cpu_s`` is this process's CPU time (all its threads) per call: on a loaded machine
    it stays near the unloaded wall time of a single-threaded call, while the wall time grows."""
    for fn in systems.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in systems}
    cpu: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(repetitions):
        for name, fn in systems.items():
            c0 = time.process_time()
            times[name].append(timed(fn)[0])
            cpu[name].append(time.process_time() - c0)
    return {name: {**summary(ts), "median_cpu_s": round(statistics.median(cpu[name]), 4)}
            for name, ts in times.items()}


def summary(times: Sequence[float]) -> dict:
    return {"median_s": round(statistics.median(times), 4), "min_s": round(min(times), 4),
            "max_s": round(max(times), 4), "times_s": [round(t, 4) for t in times]}


def ravdess_corpus():
    import fusion

    return fusion.prepare("ravdess", ravdess_dir())


def pick_clips(corpus: Sequence, n: int) -> list:
    """``n`` utterances evenly spaced over the id-sorted corpus (all actors, emotions, statements)."""
    from bench.asr.wer import pick_clips as spread

    return spread(list(corpus), n)


def clip_seconds(utterances: Sequence) -> float:
    """Total duration of the utterances' audio files (headers only)."""
    from fusion import audio as audio_io

    return sum(audio_io.info(u.audio).duration for u in utterances)


def write_result(name: str, report: dict, markdown: str | None = None) -> Path:
    """bench/results/speed_<name>.json (and .md when given); returns the JSON path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"speed_{name}.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    if markdown is not None:
        path.with_suffix(".md").write_text(markdown.rstrip() + "\n")
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (also readable in the terminal)."""
    cells = [[_cell(v) for v in row] for row in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def run_measured(argv: Sequence[str], env: dict | None = None, log: Path | None = None) -> dict:
    """Run a command in a child process; -> wall time, exit code and the child's own peak RSS
    (``os.wait4``: the rusage of that process tree's waited child, like ``/usr/bin/time -v``)."""
    import tempfile

    out = open(log, "w") if log else tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed below
    try:
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(argv), env={**os.environ, **(env or {})}, stdout=out,
                                stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.flush()
        out.seek(0) if not log else None
        tail = (out.read() if not log else Path(log).read_text())[-1500:]
    finally:
        out.close()
    return {"argv": [str(a) for a in argv], "returncode": proc.returncode, "wall_s": round(wall, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "output_tail": tail}
