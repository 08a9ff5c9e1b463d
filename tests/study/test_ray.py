"""The Ray executor on a local cluster: the same trials, the same per-trial results, the same store."""

from __future__ import annotations

import ray

import bakeoff
from bakeoff.io import read_json
from bakeoff.track import Store


def _results(project):
    out = {}
    for run in Store().list(project):
        result = read_json(run.path / "result.json")
        out[run.name] = (run.status, result["validation"]["metrics"], read_json(run.path / "predictions.json"))
    return out


def test_ray_and_local_executors_give_the_same_per_trial_results(tiny_study):
    on_ray, on_local = tiny_study(name="on-ray"), tiny_study(name="on-local")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        outcome = bakeoff.run_study(on_ray, executor="ray")
    finally:
        ray.shutdown()
    assert outcome.executor == "ray" and outcome.count("COMPLETED") == 4
    assert {o.trial.id for o in outcome.outcomes} == {o.trial.id for o in bakeoff.run_study(on_local).outcomes}
    ray_results, local_results = _results("on-ray"), _results("on-local")
    assert ray_results.keys() == local_results.keys() and len(ray_results) == 4
    for name, (status, metrics, predictions) in ray_results.items():
        assert status == "COMPLETED"
        assert metrics == local_results[name][1]  # deterministic training: identical, not merely close
        assert predictions == local_results[name][2]


def test_without_ray_the_message_says_how_to_install(tiny_study, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    from typer.testing import CliRunner

    from bakeoff.cli import app

    result = CliRunner().invoke(app, ["run", str(tiny_study()), "--executor", "ray"])
    assert result.exit_code == 2 and "pip install 'bakeoff[ray]'" in result.output
    assert not Store().list("tiny-study")


def test_an_address_where_no_cluster_listens_is_refused_at_once(tiny_study):
    """ray.init waits minutes for a cluster that is not there; the study says so in one line, before any work."""
    import socket

    from typer.testing import CliRunner

    from bakeoff.cli import app

    with socket.socket() as probe:  # a port nothing listens on: bound, then closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(tiny_study()), "--executor", "ray", "--ray-address", f"127.0.0.1:{port}"])
    message = " ".join(result.output.split())
    assert result.exit_code == 2 and f"--ray-address 127.0.0.1:{port}: no Ray cluster answers there" in message
    result = runner.invoke(app, ["run", str(tiny_study()), "--executor", "ray", "--ray-address", "headnode"])
    assert result.exit_code == 2 and "give HOST:PORT" in result.output
    assert not Store().list("tiny-study")


def test_an_address_where_another_server_listens_is_refused_at_once(tiny_study):
    """A web server on the port: ray.init would retry it for ever; the study refuses it in one line, before any work."""
    import http.server
    import threading

    from typer.testing import CliRunner

    from bakeoff.cli import app

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # no request log on stderr
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        address = f"127.0.0.1:{server.server_address[1]}"
        result = CliRunner().invoke(app, ["run", str(tiny_study()), "--executor", "ray", "--ray-address", address])
    finally:
        server.shutdown()
        server.server_close()
    message = " ".join(result.output.split())
    assert result.exit_code == 2 and f"--ray-address {address}: something listens there but it is not a Ray " \
                                      "cluster" in message, result.output
    assert "Traceback" not in result.output and not Store().list("tiny-study")


def test_auto_with_no_cluster_running_is_one_clear_line(tiny_study, tmp_path, monkeypatch):
    """No cluster on this machine (Ray looks in its temp folder and at running GCS processes: both made empty here,
    so a cluster another test started does not count)."""
    import functools

    import ray._private.services as services
    from typer.testing import CliRunner

    from bakeoff.cli import app

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path / "ray-tmp"))
    no_gcs = functools.lru_cache(lambda: [])  # Ray calls its cache_clear
    monkeypatch.setattr(services, "find_gcs_addresses", no_gcs)
    result = CliRunner().invoke(app, ["run", str(tiny_study()), "--executor", "ray", "--ray-address", "auto"])
    message = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "--ray-address auto: no running Ray cluster found" in message and "ray start --head" in message
    assert "a bug in bakeoff" not in message and not ray.is_initialized()
