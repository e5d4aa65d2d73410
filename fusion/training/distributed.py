"""Data-parallel training under ``torchrun``: process group, rank shards, DDP and rank agreement.

Nothing here launches processes: ``torchrun`` (``torch.distributed.run``) starts one process per
rank and sets ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` / ``MASTER_ADDR`` / ``MASTER_PORT``.
:func:`process_group` turns that environment into an initialised ``torch.distributed`` group
(gloo on CPU, nccl on CUDA); without it everything below is a single-process no-op, so the same
code path trains with one process or many.

The split of work:

* cache filling: :func:`compute_sharded` gives each rank a disjoint :func:`shard` of the
  utterances to featurize / transcribe into the shared on-disk cache, waits for every rank,
  then every rank reads all entries (atomic cache writes make concurrent writers safe);
* training: every rank draws the same seeded permutation and keeps its :func:`shard` of it
  (like ``torch.utils.data.DistributedSampler``), the model is wrapped in
  ``DistributedDataParallel`` (:func:`wrap`), validation predictions are gathered
  (:func:`gather_rows`) and rank 0's early-stopping decision is broadcast (:func:`agree`);
* output: only rank 0 (:attr:`RankContext.is_main`) writes files and logs.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import warnings
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from ..errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")

TIMEOUT_ENV = "FUSION_DIST_TIMEOUT"  # minutes a rank may wait for the others at a collective
DEFAULT_TIMEOUT_MIN = 120            # long enough for one rank's share of featurization to lag behind
BACKENDS = {"cpu": "gloo", "cuda": "nccl"}  # device type -> torch.distributed backend


@dataclass(frozen=True)
class RankContext:
    """Where this process stands in the job (rank 0 of 1 without torchrun)."""

    rank: int = 0        # global rank, 0 .. world_size - 1
    world_size: int = 1  # number of processes in the job
    local_rank: int = 0  # rank on this node (selects the GPU)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that writes model directories, run files and logs."""
        return self.rank == 0


def launched_context() -> RankContext:
    """The rank ``torchrun`` gave this process (from the environment; single process without it)."""
    try:
        return RankContext(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                           int(os.environ.get("LOCAL_RANK", 0)))
    except ValueError as exc:
        raise ConfigError(f"torchrun environment: RANK / WORLD_SIZE / LOCAL_RANK must be integers ({exc})") from exc


def current() -> RankContext:
    """The context of the initialised process group, or a single process when there is none."""
    if not (dist.is_available() and dist.is_initialized()):
        return RankContext()
    return RankContext(dist.get_rank(), dist.get_world_size(), launched_context().local_rank)


@contextlib.contextmanager
def process_group(device_type: str) -> Iterator[RankContext]:
    """Initialise ``torch.distributed`` from the torchrun environment for the block (if launched so).

    Re-entrant: inside an already initialised group it yields that group and leaves it alone.
    ``device_type`` ("cpu" | "cuda") picks the backend; on CUDA each rank takes GPU ``LOCAL_RANK``.
    """
    if dist.is_available() and dist.is_initialized():
        yield current()
        return
    launched = launched_context()
    if not launched.distributed:
        yield launched
        return
    if device_type not in BACKENDS:
        raise ConfigError(f"distributed training: device {device_type!r} has no torch.distributed backend; "
                          f"valid devices under torchrun: {', '.join(BACKENDS)}")
    if not dist.is_available():
        raise ConfigError("distributed training: this torch build has no torch.distributed support")
    if device_type == "cuda":
        torch.cuda.set_device(launched.local_rank)
    dist.init_process_group(BACKENDS[device_type], timeout=_timeout())
    try:
        yield current()
    finally:
        dist.destroy_process_group()


def _timeout() -> datetime.timedelta:
    raw = os.environ.get(TIMEOUT_ENV, str(DEFAULT_TIMEOUT_MIN))
    try:
        minutes = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{TIMEOUT_ENV}={raw!r}: expected a number of minutes") from exc
    return datetime.timedelta(minutes=minutes)


# ----------------------------------------------------------------------------- shards
def shard(items: Sequence[T], rank: int, world_size: int, key: Callable[[T], Hashable] | None = None) -> list[T]:
    """This rank's disjoint share of ``items``: every ``world_size``-th item, starting at ``rank``.

    With ``key``, items with equal keys (e.g. the same transcript text) go to the same rank, so
    one cache entry is computed once: distinct keys are dealt out round-robin in order of first
    appearance. The shares of ranks 0 .. world_size - 1 partition ``items``.
    """
    if not 0 <= rank < world_size:
        raise ConfigError(f"shard: rank must be in [0, {world_size}), got {rank}")
    if key is None:
        return list(items[rank::world_size])
    owner: dict[Hashable, int] = {}
    for item in items:
        owner.setdefault(key(item), len(owner) % world_size)
    return [item for item in items if owner[key(item)] == rank]


def padded_shard(order: Sequence[int], rank: int, world_size: int) -> list[int]:
    """``DistributedSampler``'s split of an epoch's ``order``: pad it to a multiple of ``world_size``
    by repeating its start, then take every ``world_size``-th index. All ranks get the same number
    of items, hence the same number of steps (DDP needs every rank in every gradient all-reduce)."""
    order = list(order)
    if world_size == 1 or not order:
        return order
    padded = order + (order * world_size)[: -len(order) % world_size]
    return padded[rank::world_size]


def compute_sharded(compute: Callable[[list[T]], R], items: Sequence[T],
                    key: Callable[[T], Hashable] | None = None) -> R:
    """``compute(items)``, with the cache filled by all ranks in parallel first.

    ``compute`` is a cached stage (featurization, transcription) returning a report with
    ``computed`` / ``cached`` counts. Each rank first runs it on its :func:`shard` (writing the shared
    cache), then waits for every rank, then runs it on all ``items`` (reading the cache). The
    returned counts are this rank's: ``computed`` = entries it made, ``cached`` = entries it read.
    """
    ctx = current()
    if not ctx.distributed:
        return compute(list(items))
    own = compute(shard(items, ctx.rank, ctx.world_size, key))
    dist.barrier()
    report = compute(list(items))
    if report.computed:
        warnings.warn(f"rank {ctx.rank}: {report.computed} cache entries written by other ranks were not found "
                      "and were recomputed; with several nodes FUSION_CACHE must be on a shared filesystem",
                      stacklevel=2)
    report.computed += own.computed
    report.cached -= own.computed  # this rank's own entries were read back in the second pass
    return report


# ----------------------------------------------------------------------------- training
def wrap(model: nn.Module) -> nn.Module:
    """``model`` in ``DistributedDataParallel`` when distributed, else ``model`` itself.

    ``find_unused_parameters``: heads with optional branches (modality dropout, auxiliary
    classifiers, a frozen encoder's untouched layers) leave some parameters without a gradient in
    some steps; DDP must know, or it waits for them forever. When every parameter was used, torch
    says so once per rank (a harmless C++ warning that Python cannot filter).
    """
    if not current().distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    device = next(model.parameters()).device
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None,
                                   find_unused_parameters=True)


def all_finite(loss: torch.Tensor) -> bool:
    """Whether the loss is finite on every rank (all ranks skip a step together, or none does)."""
    ok = torch.isfinite(loss.detach()).to(torch.int32).reshape(1)  # [1]
    if current().distributed:
        dist.all_reduce(ok, op=dist.ReduceOp.MIN)
    return bool(ok.item())


def sum_over_ranks(*values: float) -> list[float]:
    """Element-wise sum of ``values`` over all ranks (identity in one process)."""
    if not current().distributed:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64)  # [K]
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return t.cpu().tolist()


def gather_rows(local: np.ndarray, n: int) -> np.ndarray:
    """Reassemble rows [n, ...] that were split with ``rows[rank::world_size]`` (identity in one process)."""
    ctx = current()
    if not ctx.distributed:
        return local
    parts: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(parts, local)
    out = np.empty((n, *local.shape[1:]), dtype=local.dtype)  # [n, ...]
    for rank, part in enumerate(parts):
        out[rank::ctx.world_size] = part
    return out


def gather_objects(obj: Any) -> list[Any]:
    """``obj`` of every rank, in rank order (``[obj]`` in one process)."""
    ctx = current()
    if not ctx.distributed:
        return [obj]
    parts: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(parts, obj)
    return parts


def agree(decision: T) -> T:
    """Rank 0's ``decision`` on every rank (e.g. early stopping: all ranks stop together)."""
    if not current().distributed:
        return decision
    box = [decision]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier() -> None:
    if current().distributed:
        dist.barrier()
