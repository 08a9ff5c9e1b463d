"""A two-node Ray cluster on this machine whose worker node cannot see one folder (for tests and benchmarks).

The head node has no CPUs, so every Ray task runs on the worker node, and the worker node runs in a mount namespace
of its own with an empty tmpfs over ``hidden``: whatever the driver keeps there (its store, data, model folders)
is not on that node's disk, as on a cluster that shares no disk. Needs root (``unshare -m`` and ``mount``).

Everything started is stopped at the end whatever happens: the processes of both nodes' sessions are killed by
session id (Ray's workers take process groups of their own but stay in their node's session). Never ``ray stop``,
which would stop every Ray cluster on the machine, other people's included.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import bakeoff

RAY = Path(sys.executable).parent / "ray"
SOURCE_ROOT = Path(bakeoff.__file__).resolve().parents[1]  # the bakeoff under test, for the nodes' workers


@dataclass
class Cluster:
    address: str  # 127.0.0.1:PORT
    sessions: list[int]  # the session id (= first pid) of each node: head, worker

    def running(self, title: str = "") -> list[int]:
        """Live processes of the cluster's nodes (zombies aside) whose command line starts with ``title``."""
        return [pid for sid in self.sessions for pid in _session(sid)
                if _command(pid).startswith(title)]

    def node_processes(self, node: int) -> list[int]:
        """Live processes of one node (0: the head, 1: the worker node)."""
        return _session(self.sessions[node])


def cannot_run() -> str | None:
    """Why a two-node cluster cannot start here, or None."""
    if os.geteuid() != 0:
        return "needs root: the worker node runs in its own mount namespace (unshare -m, mount -t tmpfs)"
    if shutil.which("unshare") is None:
        return "needs unshare (util-linux) for the worker node's mount namespace"
    if not RAY.exists():
        return f"needs the ray command beside {sys.executable}: pip install 'bakeoff[ray]'"
    return None


@contextmanager
def two_node_cluster(hidden: Path, worker_cpus: int = 2, timeout: float = 60.0) -> Iterator[Cluster]:
    """Start the cluster; yields it once the worker node has joined and is seen not to see ``hidden``."""
    import ray

    temp_dir = Path(tempfile.mkdtemp(prefix="bkray-", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    port = _free_port()
    # The nodes authenticate as this process does: a process takes Ray's token mode for good at its first
    # ray.init, and a local ray.init() (another test's) turns it on and says so in RAY_AUTH_MODE; otherwise none
    # on this loopback-only cluster. The token is Ray's default file (~/.ray/auth_token), written by that ray.init.
    mode = os.environ.get("RAY_AUTH_MODE") or "disabled"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": mode,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(SOURCE_ROOT), os.environ.get("PYTHONPATH")]))}
    common = ["--node-ip-address", "127.0.0.1", "--temp-dir", str(temp_dir), "--object-store-memory", "100000000",
              "--dashboard-agent-listen-port", str(_free_port()), "--disable-usage-stats", "--block"]
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        nodes.append(_start([str(RAY), "start", "--head", "--num-cpus", "0", "--port", str(port),
                             "--include-dashboard", "false", "--dashboard-port", str(_free_port()), *common],
                            env, temp_dir / "head.log"))
        _wait_for_port(nodes[0], port, timeout, temp_dir / "head.log")
        worker = (f"mount -t tmpfs tmpfs '{hidden}' && exec '{RAY}' start --address=127.0.0.1:{port} "
                  f"--num-cpus {worker_cpus} {' '.join(common)}")
        node_tmp = temp_dir / "node-tmp"  # the worker node's own /tmp, removed with the cluster: a killed trial
        node_tmp.mkdir()  # leaves its scratch folder behind, as on a real node
        nodes.append(_start(["unshare", "-m", "--propagation", "private", "sh", "-c", worker],
                            {**env, "TMPDIR": str(node_tmp)}, temp_dir / "worker.log"))
        address = f"127.0.0.1:{port}"
        _wait_for_worker(ray, address, worker_cpus, hidden, timeout, temp_dir / "worker.log")
        yield Cluster(address, [node.pid for node in nodes])
    finally:
        if ray.is_initialized():
            ray.shutdown()
        for node in reversed(nodes):
            _kill_session(node)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as handle:
        return subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(head: subprocess.Popen[bytes], port: int, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and head.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the Ray head did not listen on {port} (exit code {head.poll()}):\n{_tail(log)}")


def _wait_for_worker(ray, address: str, cpus: int, hidden: Path, timeout: float, log: Path) -> None:
    """Until the worker node offers its CPUs; then check it does not see ``hidden``'s files (the point of it)."""
    ray.init(address=address, log_to_driver=False, configure_logging=False)
    try:
        deadline = time.monotonic() + timeout
        while ray.cluster_resources().get("CPU", 0) < cpus:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Ray worker node did not join within {timeout:.0f} s:\n{_tail(log)}")
            time.sleep(0.2)
        seen = ray.get(ray.remote(num_cpus=1)(lambda path: __import__("os").listdir(path)).remote(str(hidden)))
        if seen or not os.listdir(hidden):
            raise RuntimeError(f"the worker node sees {hidden}'s files ({seen[:3]}), or the driver does not")
    finally:
        ray.shutdown()


def _kill_session(node: subprocess.Popen[bytes]) -> None:
    """SIGKILL every process of the node's session (its raylet, agents, workers), then reap the node's own.
    Swept until none is left: a killed process takes a moment to die, and a raylet may fork one in between."""
    deadline = time.monotonic() + 30
    while (alive := _session(node.pid)) and time.monotonic() < deadline:
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        node.poll()  # reap the node's own process, so it reads as gone
        time.sleep(0.1)
    node.wait(timeout=30)


def _session(sid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state ppid pgrp session ...
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _command(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
