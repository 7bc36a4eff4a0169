"""Training on several processes (GPUs, machines) with PyTorch's DistributedDataParallel, launched by torchrun.

torchrun starts one process per GPU and sets RANK, LOCAL_RANK and WORLD_SIZE; i2i reads them, joins the
process group (NCCL on GPUs, gloo on CPUs) and wraps every network in its own DDP module, so gradients are
averaged once per backward pass and all ranks keep the same weights. Each rank trains on its own shard of
every epoch. Rank 0 alone writes logs, samples and checkpoints; a checkpoint also holds every rank's random
state and image pools, so a resume with the same number of processes continues exactly.
"""

from __future__ import annotations

import datetime
import inspect
import os
import signal
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..errors import ConfigError, I2IError


class DistributedError(I2IError):
    """A rank lost contact with the others (one died, or a collective timed out)."""


@dataclass
class Distributed:
    """This process's place in a distributed run (rank 0 of 1 when not distributed)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    control: Any = None  # gloo group for host-side messages: the stop vote, states gathered for checkpoints
    created_group: bool = False  # this run initialised the process group (and tears it down)

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier(group=self.control)

    def gather(self, value: Any) -> list[Any] | None:
        """Every rank's ``value`` on rank 0 (in rank order); None on the other ranks."""
        if not self.enabled:
            return [value]
        values: list[Any] | None = [None] * self.world_size if self.is_main else None
        dist.gather_object(value, values, dst=0, group=self.control)
        return values

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """Average scalars over the ranks (logged losses), on the host."""
        if not self.enabled or not values:
            return values
        tensor = torch.tensor(list(values.values()), dtype=torch.float64)
        dist.all_reduce(tensor, group=self.control)
        return {k: v / self.world_size for k, v in zip(values, tensor.tolist(), strict=True)}

    def close(self) -> None:
        if self.created_group and dist.is_initialized():
            dist.destroy_process_group()


def world_size() -> int:
    """The number of processes torchrun started (1 for a plain run)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def local_rank() -> int:
    """This process's index on its machine (its GPU under torchrun); 0 for a plain run."""
    return int(os.environ.get("LOCAL_RANK", "0") or 0)


def from_environment(device_type: str, timeout_s: float) -> Distributed:
    """Join the process group that torchrun describes in the environment; a plain run is rank 0 of 1.

    ``device_type`` is where this rank trains ('cuda' or 'cpu'): NCCL for GPUs, gloo otherwise.
    """
    world = world_size()
    if world <= 1:
        return Distributed()
    try:
        rank = int(os.environ["RANK"])
    except (KeyError, ValueError):
        raise ConfigError("WORLD_SIZE is set but RANK is not: start distributed runs with torchrun") from None
    timeout = datetime.timedelta(seconds=timeout_s)
    created = not dist.is_initialized()
    if created:
        backend = "nccl" if device_type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=timeout)
    elif dist.get_world_size() != world:
        raise ConfigError(f"the process group has {dist.get_world_size()} ranks, but WORLD_SIZE is {world}")
    # Host-side messages go through a gloo group of their own: they never wait for the GPU, nor queue
    # behind the gradient reductions.
    control = dist.new_group(backend="gloo", timeout=timeout)
    return Distributed(rank, local_rank(), world, control, created)


def wrap(networks: nn.ModuleDict, call: dict[str, Any], no_sync: dict[str, Any], device: torch.device,
         sync_batch_norm: bool) -> None:
    """Wrap each network in its own DDP module (in ``call``); its ``no_sync`` goes to ``no_sync``.

    Buffers are not broadcast at every forward pass: batch-norm statistics stay per rank (or are synchronised
    by SyncBatchNorm), and evaluating on rank 0 alone then involves no other rank.
    """
    if sync_batch_norm:
        if device.type != "cuda":
            raise ConfigError("--sync-batch-norm needs CUDA devices (PyTorch's SyncBatchNorm does not run on CPUs)")
        for name, net in networks.items():
            networks[name] = nn.SyncBatchNorm.convert_sync_batchnorm(net)  # same parameters, same state keys
    options = {"forward_sync_buffers": False} if "forward_sync_buffers" in _ddp_parameters() else {
        "broadcast_buffers": False}
    device_ids = [device.index] if device.type == "cuda" else None
    for name, net in networks.items():
        ddp = DistributedDataParallel(net, device_ids=device_ids, **options)
        call[name], no_sync[name] = ddp, ddp.no_sync


def _ddp_parameters() -> set[str]:
    return set(inspect.signature(DistributedDataParallel.__init__).parameters)


class StopVote:
    """All ranks stop at the same step: each step's stop requests are combined (max) across ranks.

    Two reasons are voted on: an interruption (Ctrl-C) and a time limit (--max-minutes), which each rank
    measures on its own clock. The all-reduce runs in the background and its result is read one step later, so
    no step waits for it.
    """

    OUTRANKS = 100  # added to a signal's number in the vote, so a signal outranks a closed console (SIGPIPE)

    def __init__(self, context: Distributed) -> None:
        self.context = context
        self.pending: tuple[Any, torch.Tensor] | None = None
        self.agreed = False  # the ranks decided to stop because one of them was interrupted
        # ... by this signal; every rank reports the same: a real signal over a closed console, then the highest
        self.signal = 0
        self.out_of_time = False  # ... because one of them reached the time limit

    @classmethod
    def _ballot(cls, number: int) -> int:
        return number + cls.OUTRANKS if number not in (0, signal.SIGPIPE) else number

    def _record(self, flags: torch.Tensor) -> bool:
        ballot, out_of_time = (int(v) for v in flags.tolist())
        number = ballot - self.OUTRANKS if ballot > self.OUTRANKS else ballot
        self.agreed |= number != 0
        if ballot > self._ballot(self.signal):
            self.signal = number
        self.out_of_time |= bool(out_of_time)
        return number != 0 or bool(out_of_time)

    def update(self, interrupted: int, out_of_time: bool = False) -> bool:
        """Submit this step's reasons (``interrupted``: the signal number that asked to stop, or 0); True when the
        ranks agreed (a step ago) to stop."""
        flags = torch.tensor([self._ballot(int(interrupted)), int(out_of_time)], dtype=torch.int32)
        if not self.context.enabled:
            return self._record(flags)
        agreed = self.drain()
        work = dist.all_reduce(flags, op=dist.ReduceOp.MAX, group=self.context.control, async_op=True)
        self.pending = (work, flags)
        return agreed

    def decide(self, interrupted: int) -> bool:
        """Agree now (waiting for every rank): used between epochs, before a data loader starts again."""
        flags = torch.tensor([int(interrupted), 0], dtype=torch.int32)
        if self.context.enabled:
            self.drain()
            dist.all_reduce(flags, op=dist.ReduceOp.MAX, group=self.context.control)
        return self._record(flags)

    def drain(self) -> bool:
        """Wait for the vote in flight (before any other collective); True when it asked to stop."""
        if self.pending is None:
            return False
        work, flags = self.pending
        self.pending = None
        work.wait()
        return self._record(flags)


def is_lost_contact(error: BaseException) -> bool:
    """Whether ``error`` means another rank died or stopped answering."""
    if isinstance(error, getattr(dist, "DistError", ())):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and any(s in text for s in (
        "Connection closed by peer", "Connection reset by peer", "Timed out", "timed out", "NCCL communicator",
        "ProcessGroup", "Broken pipe"))


def lost_contact(context: Distributed, error: BaseException, run_dir: str) -> DistributedError:
    """The one-line error a rank reports when the job cannot go on."""
    detail = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
    return DistributedError(f"rank {context.rank} of {context.world_size} lost contact with the other processes "
                            f"({detail}); the job stops. Continue from the last checkpoint with the same "
                            f"torchrun command and --resume {run_dir}")


def resume_command(run_dir: str | os.PathLike[str]) -> str:
    """The command that continues the run: under torchrun, torchrun with this job's shape (the rendezvous options
    of a job on several machines are the user's, and are said to be needed rather than guessed)."""
    if world_size() <= 1:
        return f"i2i train --resume {os.fspath(run_dir)}"
    per_node = int(os.environ.get("LOCAL_WORLD_SIZE", "0") or 0) or world_size()
    nodes = int(os.environ.get("GROUP_WORLD_SIZE", "1") or 1)
    shape = f"--nnodes {nodes} --nproc-per-node {per_node}" if nodes > 1 else f"--nproc-per-node {per_node}"
    where = " (on every node, with the job's rendezvous options)" if nodes > 1 else ""
    return f"torchrun {shape} -m i2i train --resume {os.fspath(run_dir)}{where}"
