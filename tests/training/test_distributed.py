"""Data-parallel training: rank shards, and `fusion train` under torchrun with 2 CPU processes (gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from fusion.errors import ConfigError
from fusion.training import distributed
from fusion.training.distributed import compute_sharded, padded_shard, shard
from fusion.training.trainer import TrainConfig, _batches

ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- shards
@pytest.mark.parametrize("n, world", [(10, 2), (7, 3), (2, 4), (0, 2), (5, 1)])
def test_shards_partition_the_items(n, world):
    items = [f"u{i}" for i in range(n)]
    parts = [shard(items, rank, world) for rank in range(world)]
    assert sorted(x for p in parts for x in p) == sorted(items)       # every item once...
    assert sum(len(p) for p in parts) == n                            # ...and only once
    assert max(map(len, parts)) - min(map(len, parts)) <= 1           # balanced


def test_equal_keys_go_to_one_rank_and_keys_are_dealt_round_robin():
    texts = ["a", "b", "a", "c", "b", "d", "a"]
    parts = [shard(texts, rank, 2, key=str) for rank in range(2)]
    assert parts == [["a", "a", "c", "a"], ["b", "b", "d"]]
    assert not set(parts[0]) & set(parts[1])


def test_shard_rejects_a_rank_outside_the_world():
    with pytest.raises(ConfigError, match=r"rank must be in \[0, 2\)"):
        shard([1, 2, 3], 2, 2)


@pytest.mark.parametrize("n, world", [(10, 2), (11, 2), (7, 3), (2, 3)])
def test_padded_shards_are_equal_sized_and_cover_the_order(n, world):
    order = list(torch.randperm(n, generator=torch.Generator().manual_seed(n)).tolist())
    parts = [padded_shard(order, rank, world) for rank in range(world)]
    assert len({len(p) for p in parts}) == 1                          # same number of steps on every rank
    assert sorted({i for p in parts for i in p}) == sorted(order)     # nothing dropped
    assert sum(len(p) for p in parts) - n < world                     # at most world - 1 repeats
    assert padded_shard(order, 0, 1) == order


@pytest.mark.parametrize("balance", ["weights", "sampler"])
def test_epoch_batches_split_the_same_seeded_permutation(balance):
    cfg = TrainConfig(batch_size=4, balance=balance)
    labels = [i % 3 for i in range(22)]
    whole = _batches(22, cfg, labels, torch.Generator().manual_seed(5))
    ranks = [_batches(22, cfg, labels, torch.Generator().manual_seed(5), rank, 2) for rank in range(2)]
    order = [i for b in whole for i in b]
    assert len(ranks[0]) == len(ranks[1]) == 3                        # ceil(ceil(22 / 2) / 4) steps each
    assert [i for b in ranks[0] for i in b] == order[0::2]
    assert [i for b in ranks[1] for i in b] == order[1::2]


def test_single_process_helpers_are_identities():
    class Report:
        computed, cached = 3, 1

    seen = []
    report = compute_sharded(lambda items: seen.append(items) or Report(), ["a", "b"])
    assert seen == [["a", "b"]] and report.computed == 3
    assert distributed.current() == distributed.RankContext()
    assert distributed.agree("stop") == "stop" and distributed.gather_objects(1) == [1]
    assert distributed.sum_over_ranks(2.0, 3.0) == [2.0, 3.0]
    assert distributed.all_finite(torch.tensor(1.0)) and not distributed.all_finite(torch.tensor(float("nan")))


class CountingCache:
    """A cached stage over a dict: what compute_sharded drives on each rank."""

    def __init__(self, entries: set[str]):
        self.entries = entries

    def __call__(self, items: list[str]):
        report = type("Report", (), {})()
        report.computed = sum(1 for x in items if x not in self.entries)
        report.cached = len(items) - report.computed
        self.entries.update(items)
        return report


def test_compute_sharded_fills_its_own_shard_then_reads_everything(monkeypatch):
    monkeypatch.setattr(distributed, "current", lambda: distributed.RankContext(1, 2))
    monkeypatch.setattr(distributed.dist, "barrier", lambda: None)
    items = ["a", "b", "c", "d"]
    stage = CountingCache({"a", "c"})  # what rank 0 wrote into the shared cache meanwhile
    report = compute_sharded(stage, items)
    assert (report.computed, report.cached) == (2, 2)  # b, d made here; a, c read
    stage = CountingCache({"a"})  # rank 0's "c" is not visible: a cache that is not shared
    with pytest.warns(UserWarning, match="1 cache entries written by other ranks were not found"):
        report = compute_sharded(stage, items)
    assert (report.computed, report.cached) == (3, 1)


def test_launched_context_reads_the_torchrun_environment(monkeypatch):
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    ctx = distributed.launched_context()
    assert (ctx.rank, ctx.world_size, ctx.local_rank, ctx.is_main, ctx.distributed) == (3, 4, 1, False, True)
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ConfigError, match="WORLD_SIZE"):
        distributed.launched_context()


def run_cli(args: list[str]):
    from fusion.cli import _register_plugin_commands, cli

    _register_plugin_commands()  # what `fusion` does before parsing (adds train / ablate)
    return CliRunner().invoke(cli, args)


@pytest.mark.parametrize("command", ["ablate", "evaluate"])
def test_single_process_commands_refuse_to_run_under_torchrun(monkeypatch, tmp_path, command):
    monkeypatch.setenv("WORLD_SIZE", "2")
    args = ["--dataset", "synthetic", "--out", str(tmp_path / "run")] if command == "ablate" \
        else [str(tmp_path / "model"), "--dataset", "synthetic"]
    result = run_cli([command, *args])
    assert result.exit_code == 1
    assert f"error: fusion {command} runs in one process, not under torchrun" in result.output
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- torchrun
def _train_args(corpus: Path, out: Path) -> list[str]:
    return ["train", "--dataset", "synthetic", "--data-dir", str(corpus), "--mode", "fused",
            "--acoustic-encoder", "fake-frames", "--text-encoder", "fake-bag", "--transcriber", "gold",
            "--head", "concat", "--epochs", "8", "--set", "train.batch_size=16", "--set", "train.lr=3e-3",
            "--device", "cpu", "--threads", "1", "--out", str(out)]


def test_torchrun_two_processes_train_like_one(fake_plugins, tmp_path, monkeypatch):
    from tests.fakes import make_synthetic_corpus

    corpus = make_synthetic_corpus(tmp_path / "corpus", audio_informative=0.0)  # the words give the label
    n_utts = 96
    out2 = tmp_path / "models" / "two"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1",
           "--nproc-per-node", "2", "-m", "tests.distributed_runner", *_train_args(corpus, out2)]
    env = {k: v for k, v in os.environ.items() if k not in ("FUSION_DEBUG", "RANK", "WORLD_SIZE", "LOCAL_RANK")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]

    # the model directory is written once, by rank 0, which alone logs
    assert proc.stdout.count("saved ") == 1, proc.stdout
    assert proc.stderr.count("epoch   1 ") == 1, proc.stderr[-3000:]
    assert sorted(p.name for p in out2.parent.iterdir()) == ["two"]  # no temporary or old copies left
    assert {"model.pt", "config.toml", "metrics.json", "curve.json"} <= {p.name for p in out2.iterdir()}
    metrics2 = json.loads((out2 / "metrics.json").read_text())
    assert metrics2["distributed"]["world_size"] == 2

    # each rank featurized its own disjoint shard of the audio; together exactly the corpus
    by_rank = metrics2["distributed"]["cache_by_rank"]
    audio_made = [r["audio"]["computed"] for r in by_rank]
    assert sum(audio_made) == n_utts and all(0 < c < n_utts for c in audio_made), by_rank
    assert all(r["audio"]["computed"] + r["audio"]["cached"] == n_utts for r in by_rank)  # all read back
    rows = (corpus / "manifest.csv").read_text().splitlines()[1:]
    distinct_texts = len({row.split(",", 3)[3] for row in rows})      # text entries are keyed by the text
    assert sum(r["text"]["computed"] for r in by_rank) == distinct_texts  # no text featurized twice
    entries = list((Path(os.environ["FUSION_CACHE"]) / "features").rglob("*.pt"))
    assert len(entries) == n_utts + distinct_texts

    # one process, same arguments, fresh cache: same accuracy within noise
    monkeypatch.setenv("FUSION_CACHE", str(tmp_path / "cache-one"))
    out1 = tmp_path / "one"
    result = run_cli(_train_args(corpus, out1))
    assert result.exit_code == 0, result.output
    metrics1 = json.loads((out1 / "metrics.json").read_text())
    assert "distributed" not in metrics1
    assert metrics1["n_train"] == metrics2["n_train"] and metrics1["n_val"] == metrics2["n_val"]
    ua1, ua2 = metrics1["val"]["ua"], metrics2["val"]["ua"]
    assert ua1 >= 0.75 and ua2 >= 0.75 and abs(ua1 - ua2) <= 0.15, (ua1, ua2)
