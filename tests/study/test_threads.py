"""Trials in parallel share the cores: N trials on C cores get C/N torch threads each, whatever the study asks."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import bakeoff.study.runner as runner_module
from bakeoff.cli import app
from bakeoff.io import read_json
from bakeoff.study.runner import local_threads
from bakeoff.track import Store


@pytest.mark.parametrize("resources", ["", "resources: {cpus: 2}\n"])
def test_two_parallel_trials_on_two_cores_get_one_thread_each(resources, tmp_path, tiny_model_dir, sentiment_dir,
                                                               monkeypatch):
    """What each trial recorded (torch.get_num_threads() in its result's hardware), read back from the store."""
    monkeypatch.setattr(runner_module, "available_cores", lambda: 2)  # a 2-core machine, wherever this runs
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
        assert "resources: cpus 2 x 2 parallel trial(s) is more than the 2 core(s) here: each trial runs with 1 " \
               "thread(s)" in " ".join(result.output.split())


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
