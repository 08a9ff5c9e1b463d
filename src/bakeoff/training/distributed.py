"""One training run across several processes: which process this is, its share of each batch, and the sums.

torchrun starts N copies of the run (``bakeoff.runs.launch`` says how); each joins one process group (gloo on
CPU, NCCL on GPU) and gets a ``World``. The loop then does the same steps as one process would:

- every process builds the same length-grouped batches in the same order; rank r takes rows r, r + N, ... of
  each (strided, so the shards of a length-sorted batch have similar lengths and so similar cost);
- each process weights its rows' losses by 1 / (rows in the whole batch), so the gradients summed over the
  processes are exactly the gradient of the whole batch, uneven or empty shards included;
- one ``all_reduce`` sums the dense gradients (with the loss, a "stop" flag for Ctrl-C and the sizes of the
  sparse gradients in the same buffer); the sparse word-embedding gradients are gathered row by row (NCCL
  has no sparse all-reduce) and summed, so ``RowAdamW`` still updates only the rows some batch used;
- clip and step then run on identical gradients in every process, so the weights stay identical.

Dropout: every process would draw the same masks from the same seed, so rank r > 0 seeds its dropout
generators (and torch's, for attention dropout) from (seed, r); rank 0 keeps the run's seed. The masks are as
random as in one process, but not the same draws: two runs with different process counts agree up to dropout
noise, and exactly (up to float summation order) only without dropout.

In one process ``SINGLE`` stands in: every method returns its input untouched, so that path is unchanged.
"""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import torch
from torch import nn

# a collective waits this long for the other processes (rank 0 evaluating, a slow peer) before failing
COLLECTIVE_TIMEOUT = timedelta(minutes=60)

_stop_requested = threading.Event()  # set by Ctrl-C (SIGINT) in a process of a distributed run


@dataclass(frozen=True)
class World:
    """This process's place in a run: its rank among ``size`` processes, their backend and this one's device.

    >>> World(rank=1, size=2, backend="gloo").shard(np.arange(5)).tolist()
    [1, 3]
    """

    rank: int = 0
    size: int = 1
    backend: str | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that evaluates, records the run and saves the checkpoint."""
        return self.rank == 0

    def shard(self, rows: np.ndarray) -> np.ndarray:
        """This process's rows of a batch (all of them in one process; may be empty when rows < processes)."""
        return rows if self.size == 1 else rows[self.rank :: self.size]

    def dropout_seed(self, seed: int) -> int:
        """The seed of this process's dropout masks: the run's own on rank 0, one drawn from (seed, rank) else."""
        if self.rank == 0:
            return seed
        return int(np.random.SeedSequence([seed, self.rank]).generate_state(1)[0])

    def start(self, model: nn.Module, seed: int) -> None:
        """Make every process start from rank 0's weights, and give ranks > 0 their own dropout stream."""
        if self.size == 1:
            return
        import torch.distributed as dist

        with torch.no_grad():
            for tensor in [*model.parameters(), *model.buffers()]:
                dist.broadcast(tensor.data, src=0)
        if self.rank:
            torch.manual_seed(self.dropout_seed(seed))  # attention dropout inside SDPA draws from torch's generator

    def sum_gradients(self, model: nn.Module, loss_sum: float) -> float:
        """Sum every process's gradients (and weighted loss) into each; raise ``KeyboardInterrupt`` in all of
        them together when any was asked to stop. Returns the summed loss."""
        if self.size == 1:
            return loss_sum
        import torch.distributed as dist

        sparse = _sparse_parameters(model)
        sparse_ids = {id(p) for p in sparse}
        dense = [p for p in model.parameters() if p.requires_grad and id(p) not in sparse_ids]
        sizes = [p.numel() for p in dense]
        total = sum(sizes)
        # layout: dense gradients | has-a-gradient per dense parameter | loss | stop | rows per (sparse, rank)
        buffer = torch.zeros(total + len(dense) + 2 + len(sparse) * self.size, dtype=torch.float32,
                             device=self.device)
        offset = 0
        for index, (parameter, size) in enumerate(zip(dense, sizes, strict=True)):
            if parameter.grad is not None:
                buffer[offset : offset + size].copy_(parameter.grad.reshape(-1))
                buffer[total + index] = 1.0
            offset += size
        flags = total + len(dense)
        buffer[flags] = loss_sum
        buffer[flags + 1] = 1.0 if _stop_requested.is_set() else 0.0
        local_rows = [_coalesced(p) for p in sparse]
        for index, (rows, _) in enumerate(local_rows):
            buffer[flags + 2 + index * self.size + self.rank] = len(rows)
        dist.all_reduce(buffer)

        present = buffer[total:flags].tolist()  # one device-to-host copy for all the small values
        loss, stop = buffer[flags : flags + 2].tolist()
        offset = 0
        for parameter, size, has_gradient in zip(dense, sizes, present, strict=True):
            gradient = buffer[offset : offset + size].view_as(parameter)
            # a parameter no process used keeps no gradient, as in one process (AdamW then skips it)
            parameter.grad = gradient.to(parameter.dtype) if has_gradient > 0 else None
            offset += size
        counts = buffer[flags + 2 :].view(len(sparse), self.size).long().tolist() if sparse else []
        for parameter, (rows, values), rank_counts in zip(sparse, local_rows, counts, strict=True):
            parameter.grad = self._gather_rows(parameter, rows, values, rank_counts)
        if stop > 0:
            raise KeyboardInterrupt  # every process stops after the same step
        return loss

    def _gather_rows(self, parameter: nn.Parameter, rows: torch.Tensor, values: torch.Tensor,
                     counts: list[int]) -> torch.Tensor | None:
        """The sum of every process's sparse (row) gradient of ``parameter``; None when no process has one."""
        import torch.distributed as dist

        if sum(counts) == 0:
            return None
        most = max(counts)  # all_gather needs equal sizes: pad, then keep each process's own rows only
        padded_rows = torch.zeros(most, dtype=torch.long, device=self.device)
        padded_rows[: len(rows)] = rows
        padded_values = torch.zeros((most, *parameter.shape[1:]), dtype=values.dtype, device=self.device)
        padded_values[: len(values)] = values
        gathered_rows = [torch.empty_like(padded_rows) for _ in range(self.size)]
        gathered_values = [torch.empty_like(padded_values) for _ in range(self.size)]
        dist.all_gather(gathered_rows, padded_rows)
        dist.all_gather(gathered_values, padded_values)
        all_rows = torch.cat([r[:count] for r, count in zip(gathered_rows, counts, strict=True)])
        all_values = torch.cat([v[:count] for v, count in zip(gathered_values, counts, strict=True)])
        # (rows, hidden) with repeated rows; coalesce sums them, as one process's backward does
        return torch.sparse_coo_tensor(all_rows.unsqueeze(0), all_values, parameter.shape,
                                       check_invariants=False).coalesce()

    def from_main(self, flag: bool) -> bool:
        """Rank 0's value of ``flag`` in every process (e.g. "stop early", which only rank 0 can judge)."""
        if self.size == 1:
            return flag
        import torch.distributed as dist

        tensor = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.broadcast(tensor, src=0)  # the others wait here while rank 0 evaluates
        return bool(tensor.item() > 0)


SINGLE = World()


def current_world() -> World:
    """The ``World`` of this process: ``SINGLE`` unless a process group is up (``init_world`` was called).

    >>> current_world().size
    1
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return SINGLE
    backend = str(dist.get_backend())
    device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
    return World(rank=dist.get_rank(), size=dist.get_world_size(), backend=backend, device=device)


def init_world(device: torch.device) -> World:
    """Join the process group torchrun set up (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` in the environment):
    NCCL for CUDA devices, gloo otherwise. Ctrl-C from then on asks every process to stop after the step."""
    import torch.distributed as dist

    if device.type == "cuda":
        torch.cuda.set_device(device)
        # bound to this process's GPU: NCCL starts now (a broken GPU fails here, not at the first all-reduce) and
        # never has to guess which GPU a rank uses
        dist.init_process_group("nccl", timeout=COLLECTIVE_TIMEOUT, device_id=device)
    else:
        dist.init_process_group("gloo", timeout=COLLECTIVE_TIMEOUT)
    signal.signal(signal.SIGINT, _request_stop)
    return current_world()


def close_world() -> None:
    """Leave the process group (no-op when there is none)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def local_device(device: torch.device) -> torch.device:
    """The device of this process: its own GPU (``LOCAL_RANK``) on a CUDA machine, the CPU otherwise."""
    if device.type != "cuda":
        return device
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))


def _request_stop(signum: int, frame: Any) -> None:
    # not KeyboardInterrupt here: a process that stopped alone would leave the others waiting in a collective
    _stop_requested.set()


def _sparse_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Parameters whose gradient is sparse (``nn.Embedding(sparse=True)``): the same list in every process."""
    return [m.weight for m in model.modules() if isinstance(m, nn.Embedding) and m.sparse and m.weight.requires_grad]


def _coalesced(parameter: nn.Parameter) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, values) of this process's sparse gradient; empty when it has none (an empty shard)."""
    if parameter.grad is None:
        return (torch.zeros(0, dtype=torch.long, device=parameter.device),
                torch.zeros((0, *parameter.shape[1:]), dtype=parameter.dtype, device=parameter.device))
    gradient = parameter.grad.coalesce()
    return gradient.indices()[0], gradient.values()
