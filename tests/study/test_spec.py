"""Study files: expansion into trials, identity, and one line-numbered error per mistake before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakeoff.study import StudyError, load_study
from tests.study.conftest import assert_refused_at_line, write_study

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


_study = write_study


@pytest.mark.parametrize(("name", "trials"), [("glue_mrpc_three_models.yaml", 9), ("imdb_sweeps.yaml", 10),
                                              ("offline_minilm.yaml", 6), ("imdb_sweeps_small.yaml", 10),
                                              ("stsb_small.yaml", 4), ("goemotions_small.yaml", 4),
                                              ("race_minilm.yaml", 4),
                                              ("calibrated_thresholds.yaml", 4),
                                              ("three_families.yaml", 18), ("three_families_embeddings.yaml", 18)])
def test_every_shipped_example_loads_and_starts_with_its_command(name, trials):
    path = EXAMPLES / name
    assert path.read_text().splitlines()[0].startswith(f"# bakeoff run examples/{name}")  # and its flags
    study = load_study(path)
    assert len(study.trials) == trials
    assert len({t.id for t in study.trials}) == trials


def test_examples_cover_the_seeds_comparisons():
    mrpc = load_study(EXAMPLES / "glue_mrpc_three_models.yaml")
    assert {t.config["model"] for t in mrpc.trials} == {"bert-base", "roberta-base", "distilbert"}
    assert {(t.config["learning_rate"], t.config["batch_size"], t.config["epochs"]) for t in mrpc.trials} == {
        (2e-5, 16, 3.0)}
    imdb = load_study(EXAMPLES / "imdb_sweeps.yaml")
    cells = {(t.config["max_length"], t.config["learning_rate"], t.config["batch_size"]) for t in imdb.trials}
    assert (512, 5e-6, 8) in cells and (128, 2e-5, 32) in cells and (256, 7.5e-6, 16) in cells
    assert {t.config["train_fraction"] for t in imdb.trials} == {0.25, 0.5, 0.75, 1.0}
    assert {t.config["model"] for t in imdb.trials} == {"distilbert", "bert-base"}
    assert all(t.config["best_metric"] == "loss" and t.config["early_stopping_patience"] == 2 for t in imdb.trials)


def test_three_families_example_is_three_families_on_two_tasks_over_three_seeds_with_int8_copies():
    study = load_study(EXAMPLES / "three_families.yaml")
    assert {t.config["model"] for t in study.trials} == {"minilm-l3", "minilm-l6", "mpnet-base"}
    assert {(t.config["task"], t.config["seed"]) for t in study.trials} == {
        (task, seed) for task in ("sst2", "mrpc") for seed in (1, 2, 3)}
    assert {t.compress for t in study.trials} == {("dynamic-int8", "onnx-int8")}
    assert [t.config["seed"] for t in study.trials][:6] == [1] * 6  # seed by seed: a run cut short has every model


def test_offline_example_falls_back_to_the_demo_data_without_sst2(monkeypatch, shared_data):
    monkeypatch.delenv("BAKEOFF_DATA_DIR", raising=False)
    offline = load_study(EXAMPLES / "offline_minilm.yaml")
    assert {t.config["task"] for t in offline.trials} == {"demo"}
    assert {t.config["epochs"] for t in offline.trials} == {8.0}
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(shared_data))
    with_data = load_study(EXAMPLES / "offline_minilm.yaml")
    assert {t.config["task"] for t in with_data.trials} == {"sst2"}
    assert {t.config["train_fraction"] for t in with_data.trials} == {0.03}
    assert all(t.compress == ("dynamic-int8",) for t in with_data.trials)


def test_grid_zip_random_and_seeds_multiply(tmp_path):
    text = """
models: [minilm-l6, minilm-l3]
tasks: [demo]
axes:
  - grid: {learning_rate: [1.0e-5, 2.0e-5]}
  - zip: {max_length: [64, 128, 256], batch_size: [32, 16, 8]}
  - random: {warmup_ratio: {uniform: [0.0, 0.2]}, weight_decay: [0.0, 0.01]}
    trials: 2
seeds: [1, 2]
"""
    study = load_study(_study(tmp_path, text))
    assert len(study.trials) == 2 * 2 * 3 * 2 * 2
    pairs = {(t.config["max_length"], t.config["batch_size"]) for t in study.trials}
    assert pairs == {(64, 32), (128, 16), (256, 8)}
    again = load_study(_study(tmp_path, text))
    assert [t.id for t in again.trials] == [t.id for t in study.trials]  # random draws are seeded
    assert all(0.0 <= t.config["warmup_ratio"] <= 0.2 for t in study.trials)


def test_trial_identity_is_the_resolved_config(tmp_path):
    base = "models: [minilm-l3]\ntasks: [demo]\nseeds: [1]\nsettings: {epochs: 2%s}\n"
    first = load_study(_study(tmp_path, base % "")).trials[0]
    explicit = load_study(_study(tmp_path, base % ", max_length: 128")).trials[0]  # the default, spelled out
    other = load_study(_study(tmp_path, base % ", max_length: 64")).trials[0]
    assert first.id == explicit.id != other.id
    assert first.run_name == f"demo-minilm-l3-{first.id}"


@pytest.mark.parametrize(("body", "line", "message"), [
    ("models: [minilm-l6]\ntasks: [demo]\nsettings:\n  epochs: 1\n  learnin_rate: 1.0e-4\n", 5,
     "unknown setting 'learnin_rate' (did you mean 'learning_rate'?)"),
    ("models: [minilm-l6]\ntasks: [demo]\nsettings:\n  batch_size: sixteen\n", 4,
     "setting 'batch_size' must be a whole number, got 'sixteen'"),
    ("models: [minilm-l6]\ntasks: [demo]\naxes:\n  - grid: {learning_rate: []}\n", 4,
     "axis 'learning_rate' is empty"),
    ("models: [minilm-l6, minilm-l9]\ntasks: [demo]\n", 1, "unknown model 'minilm-l9' (did you mean"),
    ("models: [minilm-l6]\ntasks:\n  - demo\n  - sst3\n", 4, "unknown task 'sst3'"),
    ("models: [minilm-l6]\ntasks: [demo]\naxes:\n  - zip: {max_length: [64, 128], batch_size: [8]}\n", 4,
     "zip lists must have equal lengths"),
    ("models: [minilm-l6]\ntasks: [demo]\nseeds: []\n", 3, "seeds is a non-empty list"),
    ("models: [minilm-l6]\ntasks: [demo]\nschedul: asha\n", 3, "unknown key 'schedul' (did you mean 'schedule'?)"),
    ("models: [minilm-l6]\ntasks: [demo]\ncompress: [int4]\n", 3, "unknown compression method 'int4'"),
    ("models: [minilm-l6]\ntasks: [demo]\nsettings: {seed: 3}\n", 3, "'seed' is set by the study itself"),
    ("models: [minilm-l6]\ntasks: [demo]\naxes:\n  - random: {learning_rate: [1.0e-5]}\n", 4,
     "a random axis needs trials: N"),
    ("models: [minilm-l6]\ntasks: [demo]\nsettings: {learning_rate: -1.0}\n", 3, "must be > 0"),
    ("models: [minilm-l6\n", 2, "not valid YAML"),
    # checked at their line before any trial starts (they used to fail inside every trial)
    ("models: [minilm-l6]\ntasks: [demo]\nsettings:\n  precision: fp64\n", 4,
     "setting 'precision' 'fp64' is not one of auto, bf16, fp16, fp32"),
    ("models: [minilm-l6]\ntasks: [demo]\nsettings: {best_metric: nonsense}\n", 3,
     "setting 'best_metric' 'nonsense' is not one of"),
    ("models: [minilm-l6]\ntasks: [demo]\nsettings: {tags: 3}\n", 3, "setting 'tags' must be a list of texts"),
    ("models: [minilm-l6]\ntasks: [demo]\ncheckpoints: some\n", 3, "checkpoints 'some': use all, best, none"),
    ("models: [minilm-l6]\ntasks: [demo]\ndecide:\n  tolerance: 0\n", 4, "decide tolerance must be > 0"),
    ("models: [minilm-l6]\ntasks: [demo]\ndecide: {tolerance: .nan}\n", 3, "decide tolerance must be a number"),
    ("models: [minilm-l6]\ntasks: [demo]\ndecide: {tolerence: 1}\n", 3, "unknown key 'tolerence'"),
    ("models: [minilm-l6]\ntasks: [demo]\ndecide: 1\n", 3, "decide is a mapping: {tolerance: 1, max_seeds: 8, budget: 30m}"),
])
def test_mistakes_name_their_line(tmp_path, body, line, message):
    assert_refused_at_line(_study(tmp_path, body), line, message)


def test_yaml_1_1_numbers_written_as_text_are_read_as_numbers(tmp_path):
    """YAML 1.1 (PyYAML) reads ``1e-4`` as a string; a study file means the number."""
    study = load_study(_study(tmp_path, "models: [minilm-l6]\ntasks: [demo]\nsettings: {learning_rate: 1e-4}\n"
                                        "axes:\n  - grid: {weight_decay: [1e-2, 0.0]}\n"))
    assert {trial.config["learning_rate"] for trial in study.trials} == {1e-4}
    assert sorted(trial.config["weight_decay"] for trial in study.trials) == [0.0, 0.01]
    tagged = load_study(_study(tmp_path, "models: [minilm-l6]\ntasks: [demo]\nsettings: {tags: abc}\n"))
    assert tagged.trials[0].config["tags"] == ["abc"]  # one tag, as on the command line (--tags a,b)


def test_a_studys_own_tags_reach_its_runs_beside_the_study_tags(tmp_path):
    from bakeoff.study.runner import _payload

    study = load_study(_study(tmp_path, "name: tagged\nmodels: [minilm-l6]\ntasks: [demo]\n"
                                        "settings: {tags: [team-a, baseline]}\n"))
    tags = _payload(study.trials[0], study, 1).config["tags"]
    assert tags[:2] == ["team-a", "baseline"] and "study:tagged" in tags and f"trial:{study.trials[0].id}" in tags


def test_what_the_trials_do_not_show_is_said_before_anything_runs(tmp_path):
    """A random axis drawing rounded values twice, and a max_trials cap: both stated, in --dry-run too."""
    path = _study(tmp_path, "name: drawn\nmodels: [minilm-l6]\ntasks: [demo]\n"
                            "axes:\n  - random: {warmup_ratio: [0.0, 0.1]}\n    trials: 50\n"
                            "budget: {max_trials: 1}\n")
    study = load_study(path)
    assert len(study.trials) == 2
    assert study.notes == ["50 trials listed or drawn, 2 distinct: 48 repeat another trial's settings exactly and run "
                           "once (a random axis can draw the same values again; the numbers it draws are rounded to "
                           "3-4 significant digits)",
                           "budget max_trials 1: only the first 1 of the 2 trials run"]
    from typer.testing import CliRunner

    from bakeoff.cli import app

    result = CliRunner().invoke(app, ["run", str(path), "--dry-run"])
    output = " ".join(result.output.split())
    assert result.exit_code == 0 and "48 repeat another trial's settings" in output and "max_trials 1" in output


def test_a_study_name_must_be_usable_as_a_project_folder(tmp_path):
    with pytest.raises(StudyError, match=r":1: name 'My study' is not a usable study name"):
        load_study(_study(tmp_path, "name: My study\nmodels: [minilm-l6]\ntasks: [demo]\n"))


def test_a_study_named_after_an_unusable_file_name_says_how_to_name_it(tmp_path):
    path = tmp_path / "my study.yaml"
    path.write_text("models: [minilm-l6]\ntasks: [demo]\n")
    with pytest.raises(StudyError, match=r"named after its file, and 'my study' is not a usable study name.*"
                                         r"add a line `name: my-study`"):
        load_study(path)
