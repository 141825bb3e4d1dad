"""torch.distributed (DDP) for training under torchrun: set-up from the environment and the rank rules.

``torchrun --nproc-per-node K -m napari_n2v train ...`` starts K processes with ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK`` and a rendezvous address in their environment. :func:`setup` joins them into one process
group (NCCL on CUDA, one GPU per process = ``LOCAL_RANK``; gloo on the CPU). :class:`Ranks` holds the rules
the trainer follows, and does nothing in a single process:

- every rank draws its own patches (its own seed), gradients are averaged across ranks by DDP, so the
  effective batch is ``batch x world size`` at the same learning rate;
- rank 0 alone validates; the validation loss is broadcast so every rank steps the same learning-rate
  schedule and keeps the same best weights; rank 0 alone logs and writes the model, the others wait;
- a stop (Stop, Ctrl-C, SIGTERM) on any rank is all-reduced every step, so all ranks end at one step.
"""

from __future__ import annotations

import os
import random
from typing import Any

import torch

_CPU_GROUP: Any = None  # a gloo group for the small per-step CPU collectives (also under NCCL)


def launched() -> bool:
    """True when torchrun (or another launcher setting its variables) started this process; also with
    ``--nproc-per-node 1``, which then runs the DDP code path on one rank."""
    return all(k in os.environ for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"))


def setup(device: str = "auto") -> str:
    """Join torchrun's process group (once) and return this rank's device; outside torchrun, ``device``
    unchanged. A CUDA run uses the GPU numbered ``LOCAL_RANK`` whatever ``device`` says."""
    global _CPU_GROUP
    if not launched():
        return device
    import torch.distributed as dist

    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if cuda:
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    elif device == "auto":
        device = "cpu"
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    if _CPU_GROUP is None:
        _CPU_GROUP = dist.new_group(backend="gloo") if cuda else dist.group.WORLD
    return device


def teardown() -> None:
    """Leave the process group (after the last collective)."""
    global _CPU_GROUP
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    _CPU_GROUP = None


class Ranks:
    """This process's place in a DDP run (a single process: rank 0 of 1, and every method a no-op)."""

    def __init__(self) -> None:
        import torch.distributed as dist

        self.active = bool(dist.is_available() and dist.is_initialized())
        self.rank = dist.get_rank() if self.active else 0
        self.world = dist.get_world_size() if self.active else 1
        self.backend = str(dist.get_backend()) if self.active else "none"
        self._group = (
            _CPU_GROUP if _CPU_GROUP is not None else (dist.group.WORLD if self.active else None)
        )

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def common_seed(self, seed: int | None) -> int:
        """The run's seed, equal on all ranks (rank 0's random draw when none is given)."""
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        if not self.active:
            return seed
        t = torch.tensor([seed], dtype=torch.int64)
        torch.distributed.broadcast(t, src=0, group=self._group)
        return int(t.item())

    def rank_seed(self, seed: int) -> int:
        """A different patch/masking seed for each rank (rank 0 keeps ``seed``: same as one process)."""
        return seed + 7919 * self.rank

    def wrap(self, net: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """``net`` inside DDP (gradients all-reduced in backward); ``net`` itself in one process."""
        if not self.active:
            return net
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        # gradients as views of DDP's buckets: no copy per step, and no stride-mismatch warning for
        # channels_last weights
        return DistributedDataParallel(net, device_ids=ids, gradient_as_bucket_view=True)

    def should_stop(self, local: bool) -> bool:
        """True on every rank when any rank asked to stop (one tiny all-reduce on the CPU)."""
        if not self.active:
            return local
        t = torch.tensor([1 if local else 0], dtype=torch.int32)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX, group=self._group)
        return bool(t.item())

    def share(self, value: float | None) -> float:
        """Rank 0's ``value`` (e.g. its validation loss) on every rank."""
        if not self.active:
            return float("nan") if value is None else float(value)
        t = torch.tensor([float("nan") if value is None else value], dtype=torch.float64)
        torch.distributed.broadcast(t, src=0, group=self._group)
        return float(t.item())

    def barrier(self) -> None:
        if self.active:
            torch.distributed.barrier(group=self._group)

    def describe(self, batch: int, learning_rate: float) -> str:
        """The log line that states the run's scale."""
        return (
            f"DDP: world size {self.world} ({self.backend}), batch {batch} per rank = effective "
            f"batch {batch * self.world}, learning rate {learning_rate:g} (not scaled with the "
            "world size); rank 0 validates and writes the model"
        )
