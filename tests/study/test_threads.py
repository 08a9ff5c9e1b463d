"""Trials in parallel share the cores: N trials on C cores get C/N torch threads each, whatever the study asks."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bakeoff.cli import app
from bakeoff.io import read_json
from bakeoff.study.runner import local_threads
from bakeoff.track import Store


@pytest.mark.parametrize("resources", ["", "resources: {cpus: 2}\n"])
def test_two_parallel_trials_on_two_cores_get_one_thread_each(resources, tmp_path, tiny_model_dir, sentiment_dir,
                                                               monkeypatch):
    """What each trial recorded (torch.get_num_threads() in its result's hardware), read back from the store."""
    import os

    import bakeoff.hardware as hardware

    monkeypatch.setattr(hardware, "available_cores", lambda: 2)  # a quiet 2-core machine, wherever this runs
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    study = tmp_path / "threads.yaml"
    study.write_text(f"""name: threads
models: [{tiny_model_dir}]
settings: {{data: {sentiment_dir}, epochs: 1, batch_size: 32, precision: fp32}}
axes: [{{grid: {{learning_rate: [3.0e-3, 1.0e-4]}}}}]
seeds: [1]
{resources}""")
    result = CliRunner().invoke(app, ["run", str(study), "--max-parallel", "2"])
    assert result.exit_code == 0, result.output
    runs = Store().list("threads")
    assert len(runs) == 2
    for run in runs:
        recorded = read_json(run.path / "result.json")
        assert recorded["hardware"]["torch_threads"] == 1 and recorded["config"]["threads"] == 1
    if resources:  # the study asked for 2 each: said, not silently cut
        assert "resources: cpus 2 x 2 parallel trial(s) is more than the 2 core(s) free here: each trial runs " \
               "with 1 thread(s)" in " ".join(result.output.split())


def test_the_share_of_the_cores():
    assert local_threads(None, 1, cores=8) == (8, None)
    assert local_threads(None, 3, cores=8) == (2, None)
    assert local_threads(None, 4, cores=2) == (1, None)  # never 0: more trials than cores still get a thread
    assert local_threads(4, 2, cores=8) == (4, None)
    threads, note = local_threads(8, 2, cores=8)
    assert threads == 4 and "each trial runs with 4 thread(s)" in note


def test_the_cores_this_process_may_use_not_the_machines(monkeypatch):
    import os

    from bakeoff.hardware import available_cores

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert available_cores() <= 3


@pytest.mark.parametrize("load,cores,expected", [(0.3, 2, 2), (25.0, 2, 1), (1.2, 4, 3), (9.0, 16, 7)])
def test_a_command_without_threads_leaves_the_busy_cores_alone(load, cores, expected, monkeypatch):
    import os

    import bakeoff.hardware as hardware

    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(hardware, "available_cores", lambda: cores)
    assert hardware.default_threads() == expected


def test_train_on_a_busy_machine_records_one_thread(tiny_model_dir, sentiment_dir, monkeypatch):
    """All cores busy when it starts (load 25 on 2 cores): one thread, not two fighting for the same cores."""
    import json
    import os

    import torch

    import bakeoff.hardware as hardware

    before = torch.get_num_threads()
    monkeypatch.setattr(os, "getloadavg", lambda: (25.0, 25.0, 25.0))
    monkeypatch.setattr(hardware, "available_cores", lambda: 2)
    try:
        result = CliRunner().invoke(app, ["train", "--model", str(tiny_model_dir), "--data", str(sentiment_dir),
                                          "--max-steps", "2", "--batch-size", "8", "--quiet", "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["hardware"]["torch_threads"] == 1
        result = CliRunner().invoke(app, ["train", "--model", str(tiny_model_dir), "--data", str(sentiment_dir),
                                          "--max-steps", "2", "--batch-size", "8", "--quiet", "--json",
                                          "--threads", "2", "--name", "asked"])
        assert json.loads(result.output)["hardware"]["torch_threads"] == 2  # --threads wins, busy or not
    finally:
        torch.set_num_threads(before)


# ---- two commands started at the same moment (the load average lags ~1 minute): the claims ---------------------

CLAIMER = """
import os, sys
import bakeoff.hardware as hardware
hardware.available_cores = lambda: 4  # a quiet 4-core machine, wherever this runs
os.getloadavg = lambda: (0.0, 0.0, 0.0)
print(hardware.default_threads(), flush=True)
sys.stdin.read()  # holds its claim until the test closes its stdin, then exits normally
"""


def _claimer():
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-c", CLAIMER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _threads(process) -> int:
    line = process.stdout.readline()
    assert line.strip().isdigit(), f"the claimer printed {line!r} (exit {process.poll()})"
    return int(line)


def _stop(process) -> None:
    process.stdin.close()
    assert process.wait(timeout=120) == 0


def test_two_commands_started_together_do_not_both_take_every_core(tmp_path):
    """Two real processes started at once on 4 free cores: the first to claim takes 4, the other what is left (at
    least one thread), not 4 each. A claim ends with its process: at exit, or found stale when it was killed."""
    from bakeoff.hardware import claims_folder

    processes = [_claimer(), _claimer()]  # both started before either has chosen
    try:
        chosen = {process: _threads(process) for process in processes}
        assert sorted(chosen.values()) == [1, 4]
        big, small = sorted(processes, key=chosen.get, reverse=True)
        _stop(big)  # its claim leaves with it
        third = _claimer()
        assert _threads(third) == 3  # the 4 cores less the one still claimed
        _stop(third)
        small.kill()  # no exit handler runs: its claim file stays behind ...
        small.wait(timeout=60)
        claims = claims_folder()
        assert (claims / f"{small.pid}.json").is_file()
        fourth = _claimer()
        assert _threads(fourth) == 4  # ... and is ignored (its process is gone) and removed
        assert not (claims / f"{small.pid}.json").exists()
        _stop(fourth)
        assert sorted(p.name for p in claims.glob("*.json")) == []
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()


def test_a_study_claims_the_threads_of_all_its_parallel_trials(monkeypatch):
    import os

    import bakeoff.hardware as hardware
    from bakeoff.io import read_json

    monkeypatch.setattr(hardware, "available_cores", lambda: 4)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert local_threads(None, 2) == (2, None)
    assert read_json(hardware.claims_folder() / f"{os.getpid()}.json")["threads"] == 4  # 2 trials x 2 threads
    hardware.release_threads()
    assert not (hardware.claims_folder() / f"{os.getpid()}.json").exists()


def test_the_load_average_is_not_counted_twice_for_a_claim():
    """A claim made just now is not in the load yet; one ten minutes old is: only the rest of the load is
    other processes' (the 1-minute average's time constant is 60 s)."""
    from bakeoff.hardware import free_cores

    fresh, old = {"threads": 2, "at": 1000.0}, {"threads": 2, "at": 400.0}
    assert free_cores(8, [fresh], 2.0, 1000.0) == 4  # 8 - 2 claimed - 2 busy elsewhere
    assert free_cores(8, [old], 2.0, 1000.0) == 6  # the load of 2 is the claim's own
    assert free_cores(8, [old], 5.5, 1000.0) == 3  # 8 - 2 - int(3.5)
    assert free_cores(2, [old, fresh], 9.0, 1000.0) == 1  # never less than one thread
