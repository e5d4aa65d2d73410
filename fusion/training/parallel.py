"""Independent trainings in parallel worker processes (``fusion ablate --jobs N``).

On a CPU, one training of fusion's small models uses a second core poorly: torch's intra-op
threads split small matrices (RAVDESS audio-only, one fold: 2 threads are 1.2x faster than 1,
docs/scaling.md). ``N`` trainings in ``N`` one-thread processes finish sooner.

* Workers are **forked** after the inputs are loaded, so they share the cached features
  copy-on-write instead of receiving them pickled (the RAVDESS Whisper-base states are ~0.7 GB).
  Only a task (a small tuple) and its result travel between processes.
* A forked child must not start an OpenMP thread pool its parent has used (it hangs), so every
  worker runs torch with **one thread**; fork needs Linux (macOS forks unsafely, Windows cannot).
* Workers die with their parent (``PR_SET_PDEATHSIG``): a killed run leaves no trainer behind
  that would write results after the kill.
* A worker's :class:`~fusion.errors.FusionError` is raised again in the parent (the CLI prints it
  on one line); any other exception comes back as a ``RuntimeError`` carrying the worker's traceback.
"""

from __future__ import annotations

import os
import pickle
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..errors import ConfigError, FusionError, TrainingError

_TASK_FN: Callable | None = None  # set in the parent just before the workers are forked
_LOG_QUEUE = None  # multiprocessing SimpleQueue of log lines from the workers (idem)


def can_fork() -> bool:
    """Whether worker processes can be forked safely here (Linux)."""
    return sys.platform.startswith("linux")


def available_cpus() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def resolve_jobs(jobs: int | None, threads: int | None, device_type: str, n_tasks: int) -> int:
    """How many worker processes to use for ``n_tasks`` independent trainings.

    ``jobs`` None (auto): one per CPU core, at most one per task, on a CPU device with fork
    available and no explicit ``threads`` (``--threads N`` asks for one N-thread process); else 1.
    An explicit ``jobs`` > 1 is checked against the same conditions and raises a ConfigError
    that says which one fails."""
    if jobs is None:
        if device_type != "cpu" or threads is not None or not can_fork():
            return 1
        return max(1, min(available_cpus(), n_tasks))
    if jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {jobs}")
    if jobs > 1:
        if device_type != "cpu":
            raise ConfigError(f"--jobs {jobs}: parallel worker processes train on the CPU only, got device "
                              f"{device_type!r}; use --jobs 1 on a GPU")
        if threads is not None and threads > 1:
            raise ConfigError(f"--jobs {jobs} with --threads {threads}: each worker process uses one torch "
                              "thread; pass one of the two")
        if not can_fork():
            raise ConfigError(f"--jobs {jobs}: parallel worker processes need fork (Linux); on {sys.platform} "
                              "use --jobs 1")
    return max(1, min(jobs, n_tasks))


def _init_worker(parent: int) -> None:
    """Worker initializer: one torch thread, freed memory kept for reuse, SIGKILL when the parent
    process ends (Linux)."""
    import signal

    import torch

    from .device import keep_freed_memory

    torch.set_num_threads(1)
    keep_freed_memory()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the prctl took effect
        os._exit(1)


def _run_task(task):
    """In a worker: ("ok", result) or ("error", exception or None, formatted traceback)."""
    try:
        return "ok", _TASK_FN(task, _LOG_QUEUE.put)
    except Exception as exc:  # noqa: BLE001 - sent back to the parent, which raises it
        text = traceback.format_exc()
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:  # noqa: BLE001 - an exception that does not survive pickling
            exc = FusionError(str(exc)) if isinstance(exc, FusionError) else None
        return "error", exc, text


def _drain(queue, log: Callable[[str], None]) -> None:
    """Pass every line the workers have logged so far to the parent's ``log``."""
    while not queue.empty():
        log(queue.get())


def run_tasks(fn: Callable[[Any, Callable[[str], None]], Any], tasks: Sequence, jobs: int,
              log: Callable[[str], None] = print) -> Iterator[tuple[Any, Any]]:
    """``(task, fn(task, log))`` for every task, in completion order; ``jobs`` == 1 runs them here, in order.

    ``fn`` may be a closure over large in-memory data: the workers inherit it by fork and are
    sent only the tasks. What a worker passes to its ``log`` reaches this process's ``log``
    while the task runs (through a queue), never a copy of the callable in the worker. The first
    failing task raises (see the module docstring); the remaining tasks are cancelled."""
    global _TASK_FN, _LOG_QUEUE
    if jobs <= 1:
        for task in tasks:
            yield task, fn(task, log)
        return
    sys.stdout.flush()  # a buffer copied into the children would be written twice
    sys.stderr.flush()
    import multiprocessing

    context = multiprocessing.get_context("fork")
    queue = context.SimpleQueue()
    _TASK_FN, _LOG_QUEUE = fn, queue
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context,
                                 initializer=_init_worker, initargs=(os.getpid(),)) as pool:
            futures = {pool.submit(_run_task, task): task for task in tasks}
            pending = set(futures)
            try:
                while pending:
                    done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    _drain(queue, log)
                    for future in done:
                        yield futures[future], _result(future, futures[future])
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    finally:
        _TASK_FN = _LOG_QUEUE = None


def _result(future, task):
    """A finished worker task's result, or its error raised here."""
    try:
        status, *payload = future.result()
    except BrokenProcessPool as exc:
        raise TrainingError(f"a worker process died while training {task} (killed, or out of memory: "
                            "try fewer --jobs)") from exc
    if status == "error":
        exc, text = payload
        if isinstance(exc, FusionError):
            raise exc
        raise RuntimeError(f"a worker process failed:\n{text}") from exc
    return payload[0]
