"""Bench 5: wall time of `fusion ablate` on RAVDESS (4 folds, 3 modes, defaults), cold and warm cache.

    .venv/bin/python bench/speed/ablation_time.py --phase cold   # fresh FUSION_CACHE (long: background it)
    .venv/bin/python bench/speed/ablation_time.py --phase warm   # the cache the cold run filled
    .venv/bin/python bench/speed/ablation_time.py --phase variants --repeats 2   # warm, side by side:
        # the default, --jobs 1 (one process) and FUSION_KEEP_FREED_MEMORY=0 (glibc's allocator as is)

Runs ``fusion ablate --dataset ravdess --data-dir ../shared/data/ravdess --folds 4 --out RUN``
in a child process with ``FUSION_CACHE`` pointing at ``--cache-root`` (emptied first for
``cold``; reused for ``warm``) and a fresh run directory. Records the wall time, the child's CPU
time and peak RSS (``os.wait4``), the time at which each log line appeared (so the featurization phase and
every fold/mode can be read off) and the machine load sampled every 30 s while it runs. Writes
bench/results/speed_ablation_<phase>.json (and a combined speed_ablation.md when both exist).
``variants`` runs the warm ablation once per variant per repeat, interleaved (this machine's load
drifts), and writes speed_ablation_variants.json/.md: median wall time per variant and its ratio to
the default's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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


def ablate_command(out: Path, extra: list[str]) -> list[str]:
    """The benchmarked command: `fusion ablate` on RAVDESS, 4 folds, defaults + ``extra``, into ``out``."""
    fusion_cli = str(Path(sys.executable).with_name("fusion"))
    return [fusion_cli, "ablate", "--dataset", "ravdess", "--data-dir", str(common.ravdess_dir()),
            "--folds", "4", "--out", str(out), *extra]


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
    parser.add_argument("--phase", choices=("cold", "warm", "variants"), required=True)
    parser.add_argument("--repeats", type=int, default=2, help="variants: runs of each variant")
    parser.add_argument("--cache-root", type=Path, default=Path("/tmp/speed-ablation-cache"))
    parser.add_argument("--runs", type=Path, default=Path("/tmp/speed-ablation-runs"))
    parser.add_argument("--threads", type=int, default=None, help="--threads for fusion ablate (default: its own)")
    parser.add_argument("extra", nargs="*", help="more `fusion ablate` options after --")
    args = parser.parse_args(argv)

    if args.phase == "variants":
        return compare_variants(args)
    if args.phase == "cold" and args.cache_root.exists():
        shutil.rmtree(args.cache_root)
    out = args.runs / args.phase
    if out.exists():
        shutil.rmtree(out)
    cmd = ablate_command(out, args.extra)
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


VARIANTS = {  # name -> (extra `fusion ablate` options, extra environment)
    "default": ([], {}),
    "--jobs 1": (["--jobs", "1"], {}),
    "FUSION_KEEP_FREED_MEMORY=0": ([], {"FUSION_KEEP_FREED_MEMORY": "0"}),
}


def compare_variants(args) -> int:
    """Warm ablation per variant, interleaved over ``args.repeats`` rounds; medians and ratios."""
    runs = {name: [] for name in VARIANTS}
    for round_ in range(args.repeats):
        for name, (options, env) in VARIANTS.items():
            out = args.runs / "variants" / f"{round_}-{name.replace(' ', '').replace('=', '-')}"
            if out.exists():
                shutil.rmtree(out)
            cmd = ablate_command(out, options)
            r = run_ablation(cmd, {"FUSION_CACHE": str(args.cache_root), **env})
            res = json.loads((out / "results.json").read_text()) if (out / "results.json").is_file() else {}
            runs[name].append({"wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "peak_rss_mb": r["peak_rss_mb"],
                               "mean_load_1m": r["mean_load_1m"], "returncode": r["returncode"],
                               "ua": {m: round(v["ua"]["mean"], 4) for m, v in res.get("modes", {}).items()}})
            print(f"round {round_} {name}: {r['wall_s']} s", file=sys.stderr)
    median = {name: float(statistics.median(x["wall_s"] for x in rs)) for name, rs in runs.items()}
    result = {"repeats": args.repeats, "cache_root": str(args.cache_root), "runs": runs, "median_wall_s": median,
              "environment": common.environment(None)}
    path = common.write_result("ablation_variants", result)
    rows = [[name, round(median[name] / 60, 2), " / ".join(str(x["wall_s"]) for x in rs),
             round(median[name] / median["default"], 2),
             round(statistics.median(x["cpu_s"] for x in rs)), max(x["peak_rss_mb"] for x in rs),
             ", ".join(f"{m} {100 * v:.1f}" for m, v in rs[0]["ua"].items())]
            for name, rs in runs.items()]
    md = common.table(["variant (warm cache)", "median wall (min)", "runs (s)", "x default", "CPU s",
                       "peak RSS (MB)", "UA (first run)"], rows)
    (common.RESULTS / "speed_ablation_variants.md").write_text(md + "\n")
    print(md)
    print("wrote", path)
    return max(x["returncode"] for rs in runs.values() for x in rs)


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
