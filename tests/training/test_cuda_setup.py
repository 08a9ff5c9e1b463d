"""The CUDA set-up that can be checked without a GPU (faked): which GPU a name means, and how NCCL starts."""

from __future__ import annotations

import signal

import pytest
import torch

from bakeoff.errors import BakeoffError
from bakeoff.runtime import resolve_device


@pytest.fixture
def one_fake_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


def test_a_gpu_number_past_the_last_is_one_line(one_fake_gpu):
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    assert resolve_device("cuda") == torch.device("cuda")
    with pytest.raises(BakeoffError, match=r"--device cuda:1: this machine has 1 GPU\(s\).*cuda:0"):
        resolve_device("cuda:1")


def test_nccl_starts_bound_to_the_process_gpu_and_gloo_as_before(monkeypatch):
    import torch.distributed as dist

    from bakeoff.training import distributed

    calls = []
    monkeypatch.setattr(dist, "init_process_group", lambda backend, **options: calls.append((backend, options)))
    monkeypatch.setattr(torch.cuda, "set_device", lambda device: calls.append(("set_device", device)))
    previous = signal.getsignal(signal.SIGINT)
    try:
        distributed.init_world(torch.device("cuda", 1))
        distributed.init_world(torch.device("cpu"))
    finally:
        signal.signal(signal.SIGINT, previous)
    assert calls[0] == ("set_device", torch.device("cuda", 1))
    assert calls[1] == ("nccl", {"timeout": distributed.COLLECTIVE_TIMEOUT, "device_id": torch.device("cuda", 1)})
    assert calls[2] == ("gloo", {"timeout": distributed.COLLECTIVE_TIMEOUT})
