"""The defaults against the defaults of before (no speaker normalisation, patience 10), side by side, interleaved.

    .venv/bin/python bench/speed/defaults_time.py --repeats 2

``make demo``'s ablation with a cold cache (a fresh ``FUSION_CACHE`` per run: transcription and
featurization included, venv excluded) and the warm RAVDESS ablation (4 folds, 3 modes; one warm-up
run fills the cache first), each run once per variant per round, the variants interleaved (this
machine's load drifts). Writes bench/results/speed_defaults.{json,md}: median wall time per variant,
its ratio to the defaults of before, and the UA each run reached.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from ablation_time import run_ablation  # noqa: E402

VARIANTS = {"defaults": [], "defaults of before": ["--set", "speaker_norm.enabled=false", "--set", "train.patience=10"]}


def command(corpus: str, out: Path, extra: list[str]) -> list[str]:
    fusion_cli = str(Path(sys.executable).with_name("fusion"))
    data = [] if corpus == "demo" else ["--data-dir", str(common.ravdess_dir()), "--folds", "4"]
    return [fusion_cli, "ablate", "--dataset", corpus, *data, "--out", str(out), *extra]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=2, help="rounds (each variant once per round)")
    p.add_argument("--work", type=Path, default=common.ROOT / "runs" / "speed-defaults")
    args = p.parse_args(argv)
    runs: dict = {(c, v): [] for c in ("demo cold", "ravdess warm") for v in VARIANTS}
    warm_cache = args.work / "ravdess-cache"
    shutil.rmtree(args.work / "warm-up", ignore_errors=True)  # fills the cache: every input, one epoch
    run_ablation(command("ravdess", args.work / "warm-up", ["--epochs", "1"]), {"FUSION_CACHE": str(warm_cache)})
    for round_ in range(args.repeats):
        for case in ("demo cold", "ravdess warm"):
            for name, extra in VARIANTS.items():
                tag = f"{round_}-{case.replace(' ', '-')}-{name.replace(' ', '-')}"
                out, cache = args.work / tag, (args.work / f"cache-{tag}" if case == "demo cold" else warm_cache)
                for d in (out, *([cache] if case == "demo cold" else [])):
                    shutil.rmtree(d, ignore_errors=True)
                r = run_ablation(command(case.split()[0], out, extra), {"FUSION_CACHE": str(cache)})
                res = json.loads((out / "results.json").read_text()) if (out / "results.json").is_file() else {}
                runs[(case, name)].append({"wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "returncode": r["returncode"],
                                           "mean_load_1m": r["mean_load_1m"],
                                           "ua": {m: round(v["ua"]["mean"], 4) for m, v in res.get("modes", {}).items()}})
    median = {k: float(statistics.median(x["wall_s"] for x in rs)) for k, rs in runs.items()}
    rows = [[case, name, round(median[(case, name)] / 60, 2), " / ".join(str(x["wall_s"]) for x in rs),
             round(median[(case, name)] / median[(case, "defaults of before")], 2),
             ", ".join(f"{m} {100 * v:.1f}" for m, v in rs[0]["ua"].items())]
            for (case, name), rs in runs.items()]
    md = common.table(["ablation", "variant", "median wall (min)", "runs (s)", "x before", "UA (first run)"], rows)
    result = {"repeats": args.repeats, "runs": {f"{c} | {v}": rs for (c, v), rs in runs.items()},
              "environment": common.environment(None)}
    common.write_result("defaults", result)
    (common.RESULTS / "speed_defaults.md").write_text(md + "\n")
    print(md)
    return max(x["returncode"] for rs in runs.values() for x in rs)


if __name__ == "__main__":
    sys.exit(main())
