"""The three answers through the CLI, on stored runs whose per-seed accuracies the test chooses (``stored.py``).

The issue's reproduction: a two-seed study where the cheaper row is 14 points worse but its two seeds spread so
widely that "not significant" cannot exclude the gap. The old rule ("within noise": choose the cheaper row)
recommended it; now it is undecided, set aside, and the reasons say what would decide it.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from bakeoff.cli import app
from tests.report.stored import data_folder, store_run

runner = CliRunner()


def _two_seed_study(tmp_path, project="two-seeds"):
    data = data_folder(tmp_path / "data")
    for seed, accuracy in ((1, 0.775), (2, 0.765)):  # the best row: 0.77, slow
        store_run(project, "minilm-l6", seed, accuracy, data, latency_ms=20.0, weights_mb=90.0)
    for seed, accuracy in ((1, 0.72), (2, 0.54)):  # 14 points worse (p=0.32), 2.8x faster, seeds 18 points apart
        store_run(project, "minilm-l3", seed, accuracy, data, latency_ms=7.0, weights_mb=70.0)
    return project


def test_two_seeds_no_longer_recommend_the_14_point_worse_row(tmp_path):
    project = _two_seed_study(tmp_path)
    result = runner.invoke(app, ["recommend", project, "--json"])
    assert result.exit_code == 0, result.output
    choice = json.loads(result.output)
    assert choice["best"] == "minilm-l6" and choice["choice"] == "minilm-l6"  # not the cheaper, worse row
    (aside,) = choice["set_aside"]
    assert aside["label"] == "minilm-l3" and aside["answer"] == "undecided"
    assert aside["low"] < -0.01 and aside["high"] > 0  # its interval allows a loss beyond the 1-point tolerance
    assert "seeds per row (now 2) would decide it" in aside["would_decide"]
    result = runner.invoke(app, ["recommend", project])
    text = " ".join(result.output.split())
    assert "Choose minilm-l6." in text and "- minilm-l3: undecided against minilm-l6 (-14.0 points" in text
    assert "so minilm-l3 was set aside" in text and "allows a loss larger than the 1-point tolerance" in text
    # `run --dry-run`'s plan reads the difference the same way round as the leaderboard: row minus leader
    from bakeoff.api import leaderboard
    from bakeoff.report.plan import plan_lines

    assert any("if the difference stays at -14.0 points" in line for line in plan_lines(leaderboard(project)))


def test_the_leaderboard_shows_the_answer_the_interval_and_the_tolerance(tmp_path):
    project = _two_seed_study(tmp_path)
    result = runner.invoke(app, ["leaderboard", project, "--json", "--tolerance", "2"])
    assert result.exit_code == 0, result.output
    ranking = json.loads(result.output)["rankings"][0]
    assert ranking["tolerance_points"] == 2 and "tolerance 2 points" in ranking["caption"]
    row = next(r for r in ranking["rows"] if r["label"] == "minilm-l3")
    assert row["decision"]["answer"] == "undecided" and row["verdict"].startswith("undecided -14.0 [")
    result = runner.invoke(app, ["leaderboard", project], env={"COLUMNS": "200"})
    text = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 0 and "undecided -14.0 [" in text and "tolerance 1 point." in text, result.output


def test_a_tolerance_that_is_not_a_positive_number_is_refused_in_one_line(tmp_path):
    project = _two_seed_study(tmp_path)
    for command in ("leaderboard", "recommend", "report"):
        for bad in ("0", "-1", "nan", "inf"):
            result = runner.invoke(app, [command, project, "--tolerance", bad])
            assert result.exit_code != 0 and "--tolerance" in result.output and "positive number" in result.output
            assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output


def test_a_run_trained_by_hand_into_a_studys_project_does_not_join_its_leaderboard(tmp_path):
    data = data_folder(tmp_path / "data")
    for seed in (1, 2):
        store_run("my-study", "minilm-l6", seed, 0.77, data, latency_ms=20.0, weights_mb=90.0, tags=("study:my-study",))
    store_run("my-study", "minilm-l3", 1, 0.90, data, latency_ms=7.0, weights_mb=70.0)  # by hand: --project my-study
    result = runner.invoke(app, ["leaderboard", "my-study", "--json"])
    board = json.loads(result.output)
    assert result.exit_code == 0 and {row["model"] for row in board["rankings"][0]["rows"] if not row["baseline"]} \
        == {"minilm-l6"}
    (note,) = [n for n in board["notes"] if "not run by study" in n]
    assert "1 run(s) in project 'my-study' were not run by study 'my-study'" in note and "minilm-l3-seed1" in note
    result = runner.invoke(app, ["recommend", "my-study", "--json"])
    assert json.loads(result.output)["choice"] == "minilm-l6"  # not the hand-trained row, however good


def test_runs_of_one_task_on_two_data_files_never_share_a_ranking(tmp_path):
    first, second = data_folder(tmp_path / "a"), data_folder(tmp_path / "b", seed=11)
    for seed in (1, 2):
        store_run("two-files", "minilm-l6", seed, 0.77, first, latency_ms=20.0, weights_mb=90.0)
        store_run("two-files", "minilm-l3", seed, 0.90, second, latency_ms=7.0, weights_mb=70.0)
    result = runner.invoke(app, ["leaderboard", "two-files", "--json"])
    board = json.loads(result.output)
    assert result.exit_code == 0 and len(board["rankings"]) == 2
    for ranking in board["rankings"]:  # each ranking holds one data file's rows (and its own baselines)
        assert len({row["model"] for row in ranking["rows"] if not row["baseline"]}) == 1
    assert {ranking["data"] for ranking in board["rankings"]} == {"data a", "data b"}
    assert any("was run on 2 different data sets" in note for note in board["notes"])
    result = runner.invoke(app, ["recommend", "two-files"])  # refused: it would have picked across data sets
    text = " ".join(result.output.split())
    assert result.exit_code != 0 and "ranks custom on 2 different data sets" in text, result.output
    result = runner.invoke(app, ["recommend", "two-files", "--task", "custom [data b]", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["choice"] == "minilm-l3"


def test_dry_run_on_a_study_that_has_run_says_what_would_decide_it(tmp_path):
    data = data_folder(tmp_path / "data")
    study = tmp_path / "two-seeds.yaml"
    study.write_text(f"name: two-seeds\nmodels: [minilm-l6, minilm-l3]\nsettings: {{data: {data}}}\nseeds: [1, 2]\n"
                     "decide: {tolerance: 2}\n")
    result = runner.invoke(app, ["run", str(study), "--dry-run"])
    assert result.exit_code == 0 and "4 trials in study 'two-seeds'; nothing was run" in result.output
    assert "decided" not in result.output  # nothing has run: no plan
    for seed, accuracy in ((1, 0.775), (2, 0.765)):
        store_run("two-seeds", "minilm-l6", seed, accuracy, data, latency_ms=20.0, weights_mb=90.0,
                  tags=("study:two-seeds",))
    for seed, accuracy in ((1, 0.72), (2, 0.54)):
        store_run("two-seeds", "minilm-l3", seed, accuracy, data, latency_ms=7.0, weights_mb=70.0,
                  tags=("study:two-seeds",))
    result = runner.invoke(app, ["run", str(study), "--dry-run"], env={"COLUMNS": "250"})
    text = " ".join(result.output.split())
    assert result.exit_code == 0 and "custom (validation, tolerance ±2):" in text, result.output
    assert "minilm-l3 against minilm-l6: about" in text and "seeds per row (now 2) would decide it" in text
