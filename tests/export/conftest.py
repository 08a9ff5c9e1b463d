from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

STARTUP_SECONDS = 150  # a first start creates the SQLite schema: ~20 s on 2 shared cores


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """A real MLflow tracking server on 127.0.0.1 with a SQLite backend and proxied artefacts in a tmp folder.

    Yields its URI; the whole process group is stopped at the end, whatever happened.
    """
    pytest.importorskip("mlflow", reason="MLflow is not installed: pip install 'bakeoff[mlflow]'")
    folder = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed in finally
    # one worker and no job runner: the server otherwise starts ~8 processes of ~270 MB each
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
         "--default-artifact-root", "mlflow-artifacts:/", "--artifacts-destination", str(folder / "artefacts"),
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    try:
        uri = f"http://127.0.0.1:{port}"
        _wait_until_healthy(uri, server, folder / "server.log")
        yield uri
    finally:
        _stop(server)
        log.close()


def _wait_until_healthy(uri: str, server: subprocess.Popen, log_path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mlflow server exited with {server.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"mlflow server not healthy after {STARTUP_SECONDS} s:\n{log_path.read_text()[-3000:]}")


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM the group, give it 15 s, then SIGKILL whatever of the group is left (the uvicorn worker too)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.wait(15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait(5)
