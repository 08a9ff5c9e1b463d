"""Timings taken while other processes compete for the cores are flagged, not printed as facts.

The busy machine here is real: one busy-loop process per core, started and stopped by the test. Nothing asserts a
speed; what is asserted is the flag, in the table, the JSON, the stored report and the report's section.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import bakeoff
from bakeoff.cli import app
from bakeoff.eval.bench import Contention
from bakeoff.runs.results import CompressReport

runner = CliRunner()
UNRELIABLE = "measured while the machine was busy: ratio unreliable"


def test_the_readings_decide_the_flag():
    quiet = Contention(others_cpu_share=0.05, wait_share=0.02, load_average=0.3, cores=2)
    assert quiet.judge() is None
    crowded = Contention(others_cpu_share=0.8, wait_share=0.5, load_average=6.0, cores=2)
    assert crowded.judge() == ("other processes used 80% of the cores; this process waited for a core 50% of "
                               "the time")
    blind = Contention(load_average=6.0, cores=2)  # no /proc: the load average against the cores decides
    assert blind.judge() == "load average 6.0 on 2 cores"


def test_a_timing_sees_its_own_cpu_and_the_wall_time():
    with Contention() as seen:
        end = time.perf_counter() + 0.2
        while time.perf_counter() < end:
            pass
    assert seen.seconds >= 0.2 and seen.cpu_seconds > 0
    if sys.platform.startswith("linux"):
        assert seen.others_cpu_share is not None and seen.wait_share is not None


@pytest.fixture
def busy_machine():
    """One busy-loop process per core, for as long as the test runs."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    time.sleep(1.0)  # each on a core before the clock starts
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
        for loop in loops:
            loop.wait(timeout=30)


@pytest.fixture
def tiny_run(tiny_model_dir, sentiment_dir):
    return bakeoff.train(model=str(tiny_model_dir), task=None, data=str(sentiment_dir), max_steps=5, batch_size=16,
                         precision="fp32", quiet=True, name="tiny")


def test_compress_on_a_busy_machine_flags_its_ratios(tiny_run, busy_machine):
    result = runner.invoke(app, ["compress", "bakeoff/tiny", "--method", "dynamic-int8", "--batch-sizes", "4",
                                 "--threads", "1"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "batch-1 p50 " in text and UNRELIABLE in text and "faster" not in text and "slower" not in text
    assert "* measured while the machine was busy" in text  # the table's marker and caption
    report = CompressReport.load(Path(tiny_run.run.path) / "compressed" / "dynamic-int8" / "report.json")
    assert report.schema_version == 3 and report.change.timing_busy
    assert report.compressed.bench["conditions"]["busy"] and report.change.timing_note.startswith(UNRELIABLE)

    from bakeoff.report import build
    from bakeoff.report.sections import tradeoff_section

    ranking = build("bakeoff").rankings[0]
    section = tradeoff_section(ranking)
    assert section is not None and any(UNRELIABLE in sentence for sentence in section.sentences)


def test_bench_json_on_a_busy_machine_says_so(tiny_run, busy_machine):
    result = runner.invoke(app, ["bench", "bakeoff/tiny", "--batch-sizes", "8", "--threads", "1", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["bench"]["busy"] and figures["bench"]["conditions"]["busy"] == figures["bench"]["busy"]
    assert figures["bench"]["latency_ms"]["conditions"]["busy"]
    assert figures["bench"]["latency_ms"]["spread"] >= 1.0


def test_a_report_written_before_the_flag_still_loads(tiny_run):
    assert runner.invoke(app, ["compress", "bakeoff/tiny", "--method", "dynamic-int8", "--batch-sizes", "4"]) \
        .exit_code == 0
    path = Path(tiny_run.run.path) / "compressed" / "dynamic-int8" / "report.json"
    old = json.loads(path.read_text())
    old["schema_version"] = 1
    del old["change"]["timing_busy"]
    for side in ("original", "compressed"):
        del old[side]["bench"]["conditions"]
    report = CompressReport.from_dict(old)
    assert report.change.timing_busy is None and report.change.timing_note is None


def test_recommend_does_not_claim_a_speed_up_timed_on_a_busy_machine():
    from tests.report.test_recommend import _board

    from bakeoff.report.recommend import recommend

    board = _board()
    assert "(measured while the machine was busy" not in recommend(board).paragraph
    board.rows[1] = dataclasses.replace(board.rows[1], latency_busy="other processes used 80% of the cores")
    assert f"2.2x faster at batch 1 ({UNRELIABLE})" in recommend(board).paragraph


def test_a_result_records_its_latency_conditions_and_older_results_still_load(tiny_run):
    from bakeoff.runs.results import SCHEMA_VERSION, TrainResult

    saved = json.loads((Path(tiny_run.run.path) / "result.json").read_text())
    assert saved["schema_version"] == SCHEMA_VERSION == 5
    assert set(saved["latency_ms"]["conditions"]) >= {"others_cpu_share", "wait_share", "load_average", "busy"}
    latency = saved["latency_ms"]  # schema 5: a training run times requests under a bound, and says how many
    assert latency["budget_s"] == 10.0 and 1 <= latency["requests"] <= latency["requests_asked"] == 100
    saved["schema_version"] = 2
    del saved["latency_ms"]["conditions"], saved["latency_ms"]["spread"]
    older = TrainResult.from_dict(saved)
    assert older.schema_version == 2 and "conditions" not in older.latency_ms
