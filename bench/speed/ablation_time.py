"""Bench 5: wall time of `fusion ablate` on RAVDESS (4 folds, 3 modes, defaults), cold and warm cache.

    .venv/bin/python bench/speed/ablation_time.py --phase cold   # fresh FUSION_CACHE (long: background it)
    .venv/bin/python bench/speed/ablation_time.py --phase warm   # the cache the cold run filled

Runs ``fusion ablate --dataset ravdess --data-dir ../shared/data/ravdess --folds 4 --out RUN``
in a child process with ``FUSION_CACHE`` pointing at ``--cache-root`` (emptied first for
``cold``; reused for ``warm``) and a fresh run directory. Records the wall time, the child's CPU
time and peak RSS (``os.wait4``), the time at which each log line appeared (so the featurization phase and
every fold/mode can be read off) and the machine load sampled every 30 s while it runs. Writes
bench/results/speed_ablation_<phase>.json (and a combined speed_ablation.md when both exist).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402


def sample_load(samples: list, stop: threading.Event, every: float = 30.0) -> None:
    while not stop.wait(every):
        samples.append(common.machine_load())


def run_ablation(argv: list[str], env: dict) -> dict:
    """Child process with time-stamped output lines, its peak RSS and the load while it ran."""
    samples, stop = [common.machine_load()], threading.Event()
    sampler = threading.Thread(target=sample_load, args=(samples, stop), daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    lines = []
    for line in proc.stdout:
        lines.append([round(time.perf_counter() - t0, 1), line.rstrip()])
        print(f"[{lines[-1][0]:7.1f}s] {line.rstrip()}", file=sys.stderr)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stop.set()
    samples.append(common.machine_load())
    return {"argv": argv, "returncode": os.waitstatus_to_exitcode(status), "wall_s": round(wall, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "load_samples": samples,
            "mean_load_1m": round(sum(s["load_1m"] for s in samples) / len(samples), 2), "log": lines}


def phase_times(log: list) -> dict:
    """Seconds at which featurization ended (first training line) and each run finished."""
    first_train = next((t for t, line in log if "] train " in line), None)
    finished = [(t, line.split("]")[0].lstrip("[")) for t, line in log if "test UA" in line]
    return {"inputs_ready_s": first_train, "runs_finished_s": {name: t for t, name in finished}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phase", choices=("cold", "warm"), required=True)
    parser.add_argument("--cache-root", type=Path, default=Path("/tmp/speed-ablation-cache"))
    parser.add_argument("--runs", type=Path, default=Path("/tmp/speed-ablation-runs"))
    parser.add_argument("--threads", type=int, default=None, help="--threads for fusion ablate (default: its own)")
    parser.add_argument("extra", nargs="*", help="more `fusion ablate` options after --")
    args = parser.parse_args(argv)

    if args.phase == "cold" and args.cache_root.exists():
        shutil.rmtree(args.cache_root)
    out = args.runs / args.phase
    if out.exists():
        shutil.rmtree(out)
    fusion_cli = str(Path(sys.executable).with_name("fusion"))
    cmd = [fusion_cli, "ablate", "--dataset", "ravdess", "--data-dir", str(common.ravdess_dir()),
           "--folds", "4", "--out", str(out), *args.extra]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    result = run_ablation(cmd, {"FUSION_CACHE": str(args.cache_root)})
    result.update(phase=args.phase, cache_root=str(args.cache_root), phases=phase_times(result["log"]),
                  environment=common.environment(args.threads))
    results_file = out / "results.json"
    if results_file.is_file():
        res = json.loads(results_file.read_text())
        result["ua"] = {mode: round(m["ua"]["mean"], 4) for mode, m in res["modes"].items()}
        result["cache_stats"] = res.get("cache")
    path = common.write_result(f"ablation_{args.phase}", result)
    print(f"{args.phase}: {result['wall_s']} s, peak RSS {result['peak_rss_mb']} MB, "
          f"inputs ready at {result['phases']['inputs_ready_s']} s, mean load {result['mean_load_1m']}")
    print("wrote", path)
    write_summary()
    return result["returncode"]


def write_summary() -> None:
    rows = []
    for phase in ("cold", "warm"):
        path = common.RESULTS / f"speed_ablation_{phase}.json"
        if path.is_file():
            r = json.loads(path.read_text())
            rows.append([phase, round(r["wall_s"] / 60, 1), r.get("cpu_s", "-"), r["phases"]["inputs_ready_s"],
                         r["peak_rss_mb"], r["mean_load_1m"], r.get("environment", {}).get("threads"), r["returncode"]])
    md = common.table(["cache", "wall (min)", "CPU s", "inputs ready (s)", "peak RSS (MB)", "mean load 1m",
                       "threads", "exit"], rows)
    (common.RESULTS / "speed_ablation.md").write_text(md + "\n")


if __name__ == "__main__":
    sys.exit(main())
