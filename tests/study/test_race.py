"""`bakeoff run FILE --until-decided` on the tiny model: rounds of one more seed for the undecided rows, a row decided
worse stops getting runs, the race says what ended it, and a race cut short by Ctrl-C resumes from the store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter

from typer.testing import CliRunner

import bakeoff
from bakeoff.cli import app
from bakeoff.config import variant_of
from bakeoff.report.racing import RACE_FILE, REASONS, RaceRecord
from bakeoff.runs.results import load_result
from bakeoff.track import Store
from tests.study.conftest import assert_refused_at_line, write_study

runner = CliRunner()
AXES = "[{grid: {learning_rate: [3.0e-3, 2.0e-3, 1.0e-5]}}]"  # two that learn, one that cannot in 6 epochs


def _trained() -> Counter:
    """(variant, seed) -> how many runs of it the store holds, by status."""
    found = Counter()
    for run in Store().list("tiny-race"):
        result = load_result(run.path / "result.json") if run.status == "COMPLETED" else None
        config = result.config if result is not None else None
        found[(variant_of(config) if config else run.name, config["seed"] if config else None, run.status)] += 1
    return found


def test_a_race_adds_rounds_stops_the_worse_row_says_why_and_resumes_after_ctrl_c(tiny_study):
    path = tiny_study(name="tiny-race", axes=AXES, seeds="[1, 2]", extra="decide: {tolerance: 5, max_seeds: 5}\n")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    # 1. a time budget already spent when the study's own seeds are done: one look, no round
    spent = runner.invoke(app, ["run", str(path), "--until-decided", "--budget", "0.01s"])
    assert spent.exit_code == 0, spent.output
    assert "race look 0 (2 seeds)" in spent.output and "the time budget ran out" in " ".join(spent.output.split())
    assert sum(_trained().values()) == 6

    # 2. Ctrl-C while the first round runs: exit 130, its trial INTERRUPTED, nothing else touched
    command = [sys.executable, "-m", "bakeoff", "run", str(path), "--until-decided"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("started") and "seed 3" in line:
                os.killpg(process.pid, signal.SIGINT)
                break
        rest = process.communicate(timeout=120)[0]
    finally:
        process.kill()
    output = " ".join("".join([*lines, rest]).split())
    assert process.returncode == 130 and "again to resume" in output and "Traceback" not in output, output
    statuses = Counter(status for (_, _, status) in _trained().elements())
    assert statuses["COMPLETED"] == 6 and statuses["INTERRUPTED"] <= 1

    # 3. the same command again: the looks replay from the store, the cut round re-runs, the race ends
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    text = " ".join(finished.stdout.split())
    record = RaceRecord.from_dict(json.loads((Store().root / "tiny-race" / RACE_FILE).read_text()))
    assert record.reason in REASONS and f"({REASONS[record.reason]})" in text
    assert "race look 1 (3 seeds)" in text  # a round was added

    runs = _trained()
    assert all(status == "COMPLETED" for (_, _, status) in runs) and set(runs.values()) == {1}  # each once
    seeds = Counter(variant for (variant, _, _) in runs)
    assert record.runs == sum(seeds.values()) and record.fixed_runs == 15 and record.runs < record.fixed_runs
    answers = {s.label.split()[-1]: s for s in record.standings}
    worse = answers["lr=1e-05"]
    assert worse.answer == "worse" and worse.high < 0 and worse.decided_at is not None
    assert worse.seeds == 2 + worse.decided_at < max(s.seeds for s in record.standings)  # it stopped getting runs
    assert sorted(seeds.values()) == sorted(s.seeds for s in record.standings)
    if record.reason == "decided":
        assert all(s.answer != "undecided" for s in record.standings)
    else:
        assert record.reason == "max_seeds" and max(s.seeds for s in record.standings) == 5
        assert any(s.answer == "undecided" for s in record.standings)

    # 4. the report opens with the decision
    out = bakeoff.api.report(path, Store().root.parent / "race.html")
    html = out.read_text()
    first_section = html.index("<section>")
    assert html.index('<div class="summary"><p>Race ') < first_section
    assert html[first_section:].startswith("<section><h2>Decision (race)</h2>")
    assert "Tolerance ±5 points" in html and f"{record.runs} training runs against 15" in html


def test_race_flags_need_until_decided_and_a_dry_run_prints_the_plan(tiny_study):
    path = tiny_study(name="tiny-race", axes="[]", seeds="[1]")
    result = runner.invoke(app, ["run", str(path), "--max-seeds", "4"])
    assert result.exit_code != 0 and "--max-seeds sets a race: add --until-decided" in result.output
    result = runner.invoke(app, ["run", str(path), "--until-decided", "--max-seeds", "4", "--dry-run"])
    text = " ".join(result.output.split())
    assert result.exit_code == 0 and "race: tolerance ±1 points; a look after each of 1..4 seeds" in text
    assert "at most 3 more trials" in text and not Store().list("tiny-race")


def test_a_race_refuses_what_it_cannot_race(tiny_study):
    asha = tiny_study(name="tiny-race", axes=AXES, seeds="[1]", extra="schedule: asha\n")
    result = runner.invoke(app, ["run", str(asha), "--until-decided"])
    assert result.exit_code != 0 and "successive halving" in result.output
    few = tiny_study(name="tiny-race", axes=AXES, seeds="[1, 2, 3]")
    result = runner.invoke(app, ["run", str(few), "--until-decided", "--max-seeds", "2"])
    assert result.exit_code != 0 and "raise --max-seeds to at least 3" in result.output
    assert not Store().list("tiny-race")  # refused before anything ran


def test_the_decide_block_is_checked_at_its_line(tmp_path):
    head = "models: [minilm-l6]\ntasks: [demo]\n"
    assert_refused_at_line(write_study(tmp_path, head + "decide: {tolerance: -1}\n"), 3, "decide tolerance must be")
    assert_refused_at_line(write_study(tmp_path, head + "decide:\n  max_seeds: 8\n  tolerence: 1\n"), 5,
                           "did you mean 'tolerance'")
    assert_refused_at_line(write_study(tmp_path, head + "decide: {budget: soon}\n"), 3, "such as 30m")
    assert_refused_at_line(write_study(tmp_path, head + "decide: 3\n"), 3, "decide is a mapping")
    from bakeoff.study import load_study

    study = load_study(write_study(tmp_path, head + "seeds: [3, 1]\ndecide: {tolerance: 0.5, max_seeds: 6, "
                                                    "budget: 1800}\n"))
    assert (study.decide.tolerance, study.decide.max_seeds, study.decide.seconds) == (0.5, 6, 1800.0)
    assert study.seeds == [3, 1]
