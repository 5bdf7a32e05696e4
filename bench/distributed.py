"""`bench run` / `bench eval` under ``torchrun``: one process per device, the conditions sharded by rank.

torchrun sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; with ``WORLD_SIZE`` > 1 the process group is initialised
here (NCCL on CUDA, gloo on the CPU) and each rank takes one contiguous share of the work, in the order one process
would do it. Contiguous shares matter: rows gathered in rank order are then the rows of the single process in the
same order (KID's subsets and IS's splits index rows by position), and every batch has the same composition as in
one process. Metric states reduce by sum in float64 (or gather), rank 0 computes and writes; the others only
generate and measure their share.

Without torchrun (or with one process) every function here is a no-op on a world of one.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any, Sequence, TypeVar

T = TypeVar("T")

# Ranks other than 0 wait at barriers while rank 0 alone exports the real images of a split or computes the
# metrics; a large split's export takes longer than gloo's default 30 minutes on a slow disk.
TIMEOUT = timedelta(hours=4)


_CPU_GROUP: Any = None  # a gloo group beside NCCL: metric states, flags and objects live on the CPU


def cpu_group() -> Any:
    """The process group for CPU tensors: the default one on gloo, a gloo group created beside NCCL."""
    return _CPU_GROUP


def _dist() -> Any:
    import torch.distributed as dist

    return dist if dist.is_available() and dist.is_initialized() else None


def env_world_size() -> int:
    """The world size torchrun (or Slurm through it) asked for, before the process group exists."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) of the initialised process group, or (0, 1)."""
    dist = _dist()
    return (dist.get_rank(), dist.get_world_size()) if dist is not None else (0, 1)


def is_main() -> bool:
    return rank_and_world()[0] == 0


def init_from_env(device: str) -> str:
    """Join torchrun's process group when ``WORLD_SIZE`` > 1 (idempotent) and return this rank's device: CUDA ranks
    take ``cuda:LOCAL_RANK`` (a device given as ``cuda:N`` under torchrun would put every rank on one GPU)."""
    if env_world_size() <= 1:
        return device
    import torch
    import torch.distributed as dist

    on_cuda = str(device).startswith("cuda")
    if on_cuda:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(device)
    global _CPU_GROUP
    if not dist.is_initialized():
        dist.init_process_group("nccl" if on_cuda else "gloo", timeout=TIMEOUT)
    if _CPU_GROUP is None and dist.get_backend() != "gloo":
        _CPU_GROUP = dist.new_group(backend="gloo", timeout=TIMEOUT)
    return device


def shard(items: Sequence[T], rank: int | None = None, world: int | None = None) -> list[T]:
    """This rank's contiguous share of ``items`` (sizes differ by at most one; earlier ranks take the extra)."""
    if rank is None or world is None:
        rank, world = rank_and_world()
    n = len(items)
    base, extra = divmod(n, world)
    start = rank * base + min(rank, extra)
    return list(items[start:start + base + (1 if rank < extra else 0)])


def barrier() -> None:
    dist = _dist()
    if dist is not None:
        dist.barrier(group=_CPU_GROUP)


def broadcast(obj: T) -> T:
    """Rank 0's ``obj`` on every rank (a decision every rank must take the same way)."""
    dist = _dist()
    if dist is None:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0, group=_CPU_GROUP)
    return box[0]


def all_reduce_sum_(tensor: Any) -> Any:
    """Sum a CPU ``tensor`` over ranks in place."""
    dist = _dist()
    if dist is not None:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM, group=_CPU_GROUP)
    return tensor


def all_reduce_max_(tensor: Any) -> Any:
    dist = _dist()
    if dist is not None:
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX, group=_CPU_GROUP)
    return tensor
