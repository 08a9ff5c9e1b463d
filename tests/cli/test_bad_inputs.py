"""The contract for bad input: one line naming the problem and the fix, a non-zero exit, nothing left in the store.

Each row is one case a user hit; add a case with one line. Rows run through the real CLI, before any model or data
is loaded (the checks come first), so the table stays fast.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bakeoff.cli import app
from bakeoff.track import Store

runner = CliRunner()
T = ["train", "--model", "minilm-l3", "--max-steps", "2", "--batch-size", "4", "--quiet"]

CASES = [
    # options that would break the maths: each has a range, and "off" where off is a real choice
    (T + ["--max-grad-norm", "-1"], "--max-grad-norm must be > 0 (or off: no clipping), got -1.0"),
    (T + ["--max-grad-norm", "0"], "--max-grad-norm must be > 0"),
    (T + ["--weight-decay", "-1"], "--weight-decay must be >= 0"),
    (T + ["--threads", "0"], "--threads must be >= 1"),
    (T + ["--max-length", "1"], "--max-length must be >= 4"),
    (T + ["--learning-rate", "inf"], "--learning-rate must be a number"),
    (T + ["--precision", "fp64"], "--precision 'fp64' is not one of auto, bf16, fp16, fp32"),
    (T + ["--best-metric", "nonsense"], "--best-metric 'nonsense' is not one of accuracy, f1, f1_macro, mcc, loss"),
    (T + ["--device", "gpu"], "--device 'gpu' is not one of auto, cpu, cuda, cuda:N, mps"),
    # run names become folders
    (T + ["--name", "two\nlines"], "is not a usable run name"),
    (T + ["--name", "x" * 300], "is not a usable run name"),
    (T + ["--name", "../escape"], "is not a usable run name"),
]


@pytest.mark.parametrize("args,expected", CASES, ids=[" ".join(a[len(T):] if a[:len(T)] == T else a)[:40]
                                                      for a, _ in CASES])
def test_bad_input_is_one_clear_line(args, expected):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) <= 2 and lines[0].startswith("error:"), result.output  # one message (may wrap once)
    assert expected in " ".join(result.output.split()) and "Traceback" not in result.output
    assert Store().list() == []


def test_a_store_that_is_a_file_is_refused_before_any_work(tmp_path, monkeypatch):
    store = tmp_path / "store-file"
    store.write_text("not a folder")
    result = runner.invoke(app, ["runs", "ls", "--store", str(store)])
    assert result.exit_code == 2 and "is a file, not a folder" in result.output
    monkeypatch.setenv("BAKEOFF_STORE", str(store))
    result = runner.invoke(app, T)
    assert result.exit_code == 2 and "is a file, not a folder" in " ".join(result.output.split())
    assert store.read_text() == "not a folder"


def test_one_unreadable_run_does_not_lock_the_user_out_of_the_others(tmp_path):
    from bakeoff.track import Experiment

    with Experiment(name="good", project="p", local_path=tmp_path):
        pass
    with Experiment(name="bad", project="p", local_path=tmp_path) as bad:
        pass
    (bad.path / "experiment.json").write_text("{not json")
    result = runner.invoke(app, ["runs", "ls", "--store", str(tmp_path), "--json"])
    assert result.exit_code == 0 and '"name": "good"' in result.output and '"bad"' not in result.output
    assert runner.invoke(app, ["runs", "show", "p/good", "--store", str(tmp_path)]).exit_code == 0


def test_an_unexpected_error_is_one_line_with_the_way_to_the_traceback(monkeypatch):
    import bakeoff.tasks

    def broken():
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(bakeoff.tasks, "all_tasks", broken)
    result = runner.invoke(app, ["tasks"])
    assert result.exit_code == 1
    assert "unexpected RuntimeError: boom" in result.output and "BAKEOFF_TRACEBACK=1" in result.output
    assert "second line" not in result.output and "Traceback" not in result.output
