"""What torchrun runs in each process of ``bakeoff train --nproc N``: ``python -m bakeoff.distributed_main SCRATCH``.

``bakeoff.runs.launch`` starts torchrun with this module and a scratch folder holding the run's config. Each
process joins the process group, then runs the ordinary ``runs.train_run.train`` (which sees the group and
trains its shard); rank 0 records the run and leaves its result in the scratch folder for the launching
process. An error is written to the scratch folder as one line (the launcher reports the first), not printed
as a traceback.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bakeoff.config import TrainConfig
from bakeoff.errors import BakeoffError
from bakeoff.io import read_json, write_json_atomic
from bakeoff.runs.launch import (
    CONFIG_FILE,
    RANK0_OUTPUT,
    RANK0_RESULT,
    error_file,
    rank_file,
)
from bakeoff.runs.train_run import train
from bakeoff.runtime import resolve_device
from bakeoff.training.distributed import close_world, init_world, local_device


def main(argv: list[str]) -> int:
    scratch = Path(argv[1])
    rank = int(os.environ["RANK"])
    if rank == 0:  # the launcher follows this file onto the user's terminal
        output = os.open(scratch / RANK0_OUTPUT, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(output, 1)
        os.dup2(output, 2)
    write_json_atomic(scratch / rank_file(rank), {"pid": os.getpid()})
    signal.signal(signal.SIGTERM, functools.partial(_terminated, scratch / rank_file(rank)))
    try:
        config = TrainConfig.from_dict(read_json(scratch / CONFIG_FILE))
        device = local_device(resolve_device(config.device))
        if device.type == "cuda":
            config.device = str(device)
        init_world(device)
        result = train(config)
        if rank == 0:
            write_json_atomic(scratch / RANK0_RESULT, result.to_dict())
        write_json_atomic(scratch / rank_file(rank), {"pid": os.getpid(), "finished": True})
        return 0
    except BaseException as error:  # noqa: BLE001 - every way out is reported, KeyboardInterrupt included
        write_json_atomic(scratch / error_file(rank), _describe(rank, error))
        return 1
    finally:
        close_world()


def _terminated(path: Path, signum: int, frame: Any) -> None:
    """torchrun tears this process down (another failed, or a second Ctrl-C): say so, then die of the signal."""
    write_json_atomic(path, {"pid": os.getpid(), "terminated": True})
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _describe(rank: int, error: BaseException) -> dict[str, object]:
    line = str(error) if isinstance(error, BakeoffError) else "".join(traceback.format_exception_only(error))
    text = " ".join(line.split())  # one line, whatever the library put in its message
    return {"rank": rank, "error": text, "time": time.time(), "bakeoff_error": isinstance(error, BakeoffError),
            "lost_peer": _lost_peer(error), "traceback": traceback.format_exc()}


def _lost_peer(error: BaseException) -> bool:
    """Whether this is a collective failing because another process went away (not this process's fault)."""
    import torch.distributed as dist

    text = str(error).lower()
    return isinstance(error, dist.DistBackendError) or any(
        marker in text for marker in ("connection closed", "connection reset", "broken pipe", "gloo", "nccl"))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
