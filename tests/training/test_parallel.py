"""fusion.training.parallel: how many workers, forked workers sharing in-memory data, errors."""

from __future__ import annotations

import os
import signal
import sys

import pytest
import torch

from fusion.errors import ConfigError, FusionError, TrainingError, UnknownComponentError
from fusion.training import parallel
from fusion.training.parallel import resolve_jobs, run_tasks

needs_fork = pytest.mark.skipif(not parallel.can_fork(), reason="worker processes are forked (Linux only)")


def test_auto_jobs_is_one_per_core_on_cpu_and_one_otherwise(monkeypatch):
    monkeypatch.setattr(parallel, "available_cpus", lambda: 4)
    monkeypatch.setattr(parallel, "can_fork", lambda: True)
    assert resolve_jobs(None, None, "cpu", 12) == 4
    assert resolve_jobs(None, None, "cpu", 3) == 3      # no idle worker
    assert resolve_jobs(None, 2, "cpu", 12) == 1        # --threads asks for one multi-threaded process
    assert resolve_jobs(None, None, "cuda", 12) == 1
    monkeypatch.setattr(parallel, "can_fork", lambda: False)
    assert resolve_jobs(None, None, "cpu", 12) == 1


def test_explicit_jobs_are_checked(monkeypatch):
    monkeypatch.setattr(parallel, "can_fork", lambda: True)
    assert resolve_jobs(3, None, "cpu", 12) == 3
    assert resolve_jobs(3, 1, "cpu", 2) == 2
    assert resolve_jobs(1, 4, "cuda", 12) == 1
    with pytest.raises(ConfigError, match=">= 1"):
        resolve_jobs(0, None, "cpu", 12)
    with pytest.raises(ConfigError, match="CPU only"):
        resolve_jobs(2, None, "cuda", 12)
    with pytest.raises(ConfigError, match="one torch thread"):
        resolve_jobs(2, 2, "cpu", 12)
    monkeypatch.setattr(parallel, "can_fork", lambda: False)
    with pytest.raises(ConfigError, match="fork"):
        resolve_jobs(2, None, "cpu", 12)


@needs_fork
def test_workers_share_the_closure_data_and_use_one_thread():
    data = torch.arange(1_000_000, dtype=torch.float64)  # inherited by fork, never pickled

    def task(k: int, log):
        return k, float(data[k::7].sum()), torch.get_num_threads(), os.getpid()

    serial = dict(run_tasks(task, range(7), jobs=1))
    forked = dict(run_tasks(task, range(7), jobs=2))
    assert {k: v[:2] for k, v in forked.items()} == {k: v[:2] for k, v in serial.items()}
    assert {v[2] for v in forked.values()} == {1}
    pids = {v[3] for v in forked.values()}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


@needs_fork
def test_a_worker_fusion_error_is_raised_again_in_the_parent():
    def fails(k: int, log):
        if k == 2:
            raise TrainingError(f"task {k} cannot train")
        return k

    with pytest.raises(TrainingError, match="task 2 cannot train"):
        list(run_tasks(fails, range(4), jobs=2))


@needs_fork
def test_an_error_that_does_not_pickle_keeps_its_message():
    def fails(k: int, log):
        raise UnknownComponentError("acoustic_encoder", "nope", ["cnn", "lstm"])  # __init__ takes 3 args

    with pytest.raises(FusionError, match="unknown acoustic_encoder 'nope'; valid choices: cnn, lstm"):
        list(run_tasks(fails, range(2), jobs=2))


@needs_fork
def test_a_bug_in_a_worker_comes_back_with_its_traceback():
    def buggy(k: int, log):
        return {}["missing"]

    with pytest.raises(RuntimeError, match="(?s)worker process failed.*KeyError: 'missing'"):
        list(run_tasks(buggy, range(2), jobs=2))


@needs_fork
def test_a_worker_that_dies_is_a_clean_training_error():
    def dies(k: int, log):
        if k == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return k

    with pytest.raises(TrainingError, match="worker process died"):
        list(run_tasks(dies, range(3), jobs=2))


def test_one_job_runs_in_this_process_in_order():
    assert [r for _, r in run_tasks(lambda k, log: (k, os.getpid()), [3, 1, 2], jobs=1)] == \
        [(3, os.getpid()), (1, os.getpid()), (2, os.getpid())]
    assert sys.modules["fusion.training.parallel"]._TASK_FN is None


@needs_fork
def test_worker_log_lines_reach_the_parent_callable_while_tasks_run():
    lines = []

    def task(k: int, log):
        log(f"task {k} from {os.getpid()}")
        return k

    results = [r for _, r in run_tasks(task, range(5), jobs=2, log=lines.append)]
    assert sorted(results) == list(range(5))
    assert sorted(line.split(" from ")[0] for line in lines) == [f"task {k}" for k in range(5)]
    assert all(int(line.split(" from ")[1]) != os.getpid() for line in lines)
