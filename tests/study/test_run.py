"""Running studies locally: every trial once, resumable after a crash, failures recorded, one study at a time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from typer.testing import CliRunner

import bakeoff
from bakeoff.cli import app
from bakeoff.study import load_study
from bakeoff.study.runner import _study_lock
from bakeoff.track import Store

runner = CliRunner()


def _runs(project):
    return {run.name: run.status for run in Store().list(project)}


def test_a_study_runs_every_trial_once_and_a_rerun_resumes(tiny_study):
    path = tiny_study()
    study = load_study(path)
    outcome = bakeoff.run_study(path)
    assert outcome.count("COMPLETED") == 4 and not outcome.count("FAILED", "CRASHED")
    assert _runs("tiny-study") == {trial.run_name: "COMPLETED" for trial in study.trials}

    again = bakeoff.run_study(path)
    assert all(o.resumed for o in again.outcomes) and again.count("COMPLETED") == 4
    assert len(Store().list("tiny-study")) == 4  # nothing duplicated

    board = bakeoff.leaderboard(path)
    means = [row.mean for row in board.rows]  # competition ranks: an exact tie (a row at the majority share) shares
    assert [row.rank for row in board.rows] == [1 + sum(other > mean for other in means) for mean in means]
    assert {row.model for row in board.rows if row.baseline} == {"majority class", "tf-idf + logreg"}
    best, worst = [row for row in board.rows if not row.baseline]
    assert best.config["learning_rate"] == 3e-3 and best.medal == "🥇" and best.rank < worst.rank
    assert best.seeds == [1, 2] and best.low is not None and best.low <= best.mean <= best.high
    assert worst.verdict.startswith(("worse", "failed to learn; worse")) and worst.p_value < 0.05  # 0.5 vs ~1.0
    assert worst.mean > 0.55 or worst.failed_to_learn  # at the majority share (0.5) it is named
    assert "Minimum detectable effect: with 40 validation rows and 2 seed(s)" in board.rankings[0].caption

    result = runner.invoke(app, ["leaderboard", "tiny-study", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["rankings"][0]["rows"][0]["label"] == best.label
    result = runner.invoke(app, ["leaderboard", str(path), "--csv"])
    assert result.exit_code == 0 and result.output.splitlines()[0].startswith("task,split,rank,label,model")


def test_a_failing_trial_is_recorded_and_the_study_goes_on(tiny_study, tmp_path):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    path = tiny_study(seeds="[1]", axes="[]").read_text().replace("models: [", f"models: [{broken}, ")
    (tmp_path / "mixed.yaml").write_text(path)
    result = runner.invoke(app, ["run", str(tmp_path / "mixed.yaml")])
    assert result.exit_code == 1, result.output
    statuses = _runs("tiny-study")
    assert sorted(statuses.values()) == ["COMPLETED", "FAILED"]
    failed = next(run for run in Store().list("tiny-study") if run.status == "FAILED")
    assert "broken-model" in failed.name and failed.info["error"]
    assert "FAILED" in result.output and "1 completed, 1 failed" in " ".join(result.output.split())


def test_a_second_run_of_the_same_study_is_refused(tiny_study):
    path = tiny_study()
    with _study_lock(Store().root / "tiny-study"):
        result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 2
    assert "is already running (pid" in result.output and not Store().list("tiny-study")


def test_sigkill_mid_trial_then_rerun_finishes_with_every_trial_exactly_once(tiny_study, tmp_path):
    path = tiny_study(extra="", seeds="[1, 2, 3]", axes="[]")
    study = load_study(path)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "bakeoff", "run", str(path)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until a trial has finished and the next one is training
        statuses = _runs("tiny-study")
        if "COMPLETED" in statuses.values() and "RUNNING" in statuses.values():
            break
        time.sleep(0.05)
    else:
        process.kill()
        raise AssertionError(f"the study never got mid-trial: {_runs('tiny-study')}")
    process.send_signal(signal.SIGKILL)
    process.wait()
    for _ in range(100):  # the trial process dies with the study (PR_SET_PDEATHSIG): its run reads CRASHED
        if "CRASHED" in _runs("tiny-study").values():
            break
        time.sleep(0.05)
    assert "CRASHED" in _runs("tiny-study").values(), _runs("tiny-study")

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert _runs("tiny-study") == {trial.run_name: "COMPLETED" for trial in study.trials}
    for run in Store().list("tiny-study"):
        assert (run.path / "result.json").is_file() and (run.path / "checkpoint" / "model.safetensors").is_file()


def test_successive_halving_spends_longer_training_on_the_winner(tiny_study):
    path = tiny_study(extra="schedule: {asha: {reduction_factor: 3, min_epochs: 1}}\n",
                      axes="[{grid: {learning_rate: [3.0e-3, 1.0e-3, 1.0e-5]}}]", seeds="[1]")
    outcome = bakeoff.run_study(path)
    rungs = [(o.trial.rung, o.trial.config["epochs"], o.trial.config["learning_rate"]) for o in outcome.outcomes]
    first = [r for r in rungs if r[0] == 0]
    assert sorted(r[1] for r in first) == [1.0, 1.0, 1.0]
    best_first = max((o for o in outcome.outcomes if o.trial.rung == 0), key=lambda o: o.metric)
    winner = best_first.trial.config["learning_rate"]
    assert [r for r in rungs if r[0] == 1] == [(1, 3.0, winner)]
    assert [r for r in rungs if r[0] == 2] == [(2, 6.0, winner)]  # the survivor reaches the full budget (6)
    board = bakeoff.leaderboard(path)
    trained = [row for row in board.rows if not row.baseline]
    assert len(trained) == 3  # each variant at the longest budget it reached
    assert {row.config["epochs"] for row in trained} == {1.0, 6.0}


def test_max_trials_caps_successive_halving_too(tiny_study):
    path = tiny_study(extra="schedule: {asha: {reduction_factor: 3, min_epochs: 1}}\nbudget: {max_trials: 2}\n",
                      axes="[{grid: {learning_rate: [3.0e-3, 1.0e-3, 1.0e-5]}}]", seeds="[1]")
    outcome = bakeoff.run_study(path)
    statuses = [o.status for o in outcome.outcomes]
    assert statuses[:3] == ["COMPLETED", "COMPLETED", "BUDGET"]  # the first rung, capped
    assert set(statuses[3:]) == {"BUDGET"}  # the promoted winner would be a third trial: not started
    assert len(Store().list("tiny-study")) == 2


def test_max_trials_caps_the_study(tiny_study):
    path = tiny_study(extra="budget: {max_trials: 1}\n")
    outcome = bakeoff.run_study(path)
    assert [o.status for o in outcome.outcomes] == ["COMPLETED", "BUDGET", "BUDGET", "BUDGET"]
    assert len(Store().list("tiny-study")) == 1


def test_ctrl_c_stops_the_study_like_train_and_a_rerun_resumes(tiny_study):
    """Ctrl-C: the running trial keeps its best weights and reads INTERRUPTED, no new trial starts, exit 130 with
    the way to resume; running again finishes every trial exactly once."""
    path = tiny_study(seeds="[1, 2]", axes="[]").read_text().replace("epochs: 6", "epochs: 100")
    (path_file := Store().root.parent / "long.yaml").write_text(path)
    study = load_study(path_file)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "bakeoff", "run", str(path_file)]
    # as a terminal does it: the study in its own process group (session), Ctrl-C sent to the whole group
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        lines = []
        for line in process.stdout:  # without a terminal, a line as the running trial passes each quarter
            lines.append(line)
            if " step " in line:
                os.killpg(process.pid, signal.SIGINT)
                break
        rest = process.communicate(timeout=120)[0]
    finally:
        process.kill()
    output = " ".join("".join([*lines, rest]).split())
    assert process.returncode == 130, output
    assert "INTERRUPTED" in output and f"run `bakeoff run {path_file}` again to resume" in output
    assert "Traceback" not in output
    first, second = study.trials
    assert _runs("tiny-study") == {first.run_name: "INTERRUPTED"}  # the second never started
    run = Store().get(f"tiny-study/{first.run_name}")
    assert (run.path / "checkpoint" / "model.safetensors").is_file()  # the best weights so far, kept

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert _runs("tiny-study") == {trial.run_name: "COMPLETED" for trial in study.trials}


def test_a_ctrl_c_while_the_fork_server_starts_is_a_clean_interrupt(tiny_study):
    """The fork server imports torch for seconds; a Ctrl-C to the terminal's group then must not break it."""
    path = tiny_study(seeds="[1]", axes="[]")
    command = [sys.executable, "-m", "bakeoff", "run", str(path)]
    process = subprocess.Popen(command, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while not _fork_server_of(process.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # inside its import of torch
        os.killpg(process.pid, signal.SIGINT)
        output = process.communicate(timeout=120)[0]
    finally:
        process.kill()
    assert process.returncode == 130 and "Traceback" not in output and "unexpected" not in output, output
    assert "again to resume" in " ".join(output.split())


def test_a_finished_trial_whose_compression_never_ended_is_compressed_on_resume(tiny_study):
    """A Ctrl-C (or a kill) while compressing leaves the trained run COMPLETED without its compressed model; the
    next run of the study compresses it, without training it again."""
    path = tiny_study(seeds="[1]", axes="[]", extra="compress: [dynamic-int8]\n")
    first = bakeoff.run_study(path)
    (trial,) = first.outcomes
    folder = Store().get(f"tiny-study/{trial.trial.run_name}").path / "compressed" / "dynamic-int8"
    assert trial.compress["dynamic-int8"]["size_ratio"] > 1 and folder.is_dir()
    import shutil

    shutil.rmtree(folder)
    again = bakeoff.run_study(path)
    assert again.outcomes[0].resumed and again.outcomes[0].compress["dynamic-int8"]["size_ratio"] > 1
    assert (folder / "report.json").is_file()


def _fork_server_of(session: int) -> bool:
    """Whether a process of ``session`` runs multiprocessing's fork server."""
    from pathlib import Path

    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2:].split()[3]) == session and b"forkserver" in command:
            return True
    return False
