"""A study whose ``max_length`` exceeds a model's positions is refused while the study file is read (issue 20):
at ``bakeoff run FILE --dry-run`` and before the first trial of a real run, in one line naming the model, the task
and the limit, at the line that set it. The limit comes from config.json alone (no weights are read): the models
below whose weights file is empty prove it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bakeoff.cli import app
from bakeoff.track import Store

runner = CliRunner()


def _config_only_model(folder: Path, model_type: str, positions: int) -> Path:
    """A model folder whose config.json is real and whose weights file is empty: loading it would fail."""
    from transformers import AutoConfig

    folder.mkdir(parents=True)
    config = AutoConfig.for_model(model_type, vocab_size=50, hidden_size=32, num_hidden_layers=1,
                                  num_attention_heads=2, intermediate_size=64, max_position_embeddings=positions)
    config.save_pretrained(folder)
    (folder / "model.safetensors").write_bytes(b"")
    return folder


def _one_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output and "a bug in bakeoff" not in result.output
    return lines[0]


@pytest.mark.parametrize("model_type,positions,limit", [("roberta", 34, 32), ("mpnet", 514, 512),
                                                        ("bert", 64, 64)])
def test_dry_run_refuses_a_max_length_past_the_models_positions(model_type, positions, limit, tmp_path):
    """RoBERTa and MPNet number positions after the padding index: 514 positions take 512 tokens."""
    model = _config_only_model(tmp_path / model_type, model_type, positions)
    study = tmp_path / "long.yaml"
    study.write_text(f"name: long\nmodels: [{model}]\ntasks: [demo]\n"
                     f"settings:\n  epochs: 1\n  max_length: {limit + 1}\n")
    line = _one_line(runner.invoke(app, ["run", str(study), "--dry-run"]))
    assert line == (f"error: {study}:6: max_length {limit + 1}: {model} takes at most {limit} tokens (its position "
                    f"embeddings), in the trial {model} on demo: give max_length {limit} or less")


def test_the_limit_itself_is_accepted(tmp_path):
    model = _config_only_model(tmp_path / "roberta", "roberta", 34)
    study = tmp_path / "fits.yaml"
    study.write_text(f"name: fits\nmodels: [{model}]\ntasks: [demo]\nsettings: {{max_length: 32}}\n")
    result = runner.invoke(app, ["run", str(study), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "1 trials in study 'fits'; nothing was run" in result.output


def test_an_axis_value_past_the_limit_is_named_at_its_axis_and_task(tmp_path, tiny_model_dir):
    """The tiny BERT takes 128 tokens; one value of a zip axis asks for 256, for one model of two."""
    short = _config_only_model(tmp_path / "short", "roberta", 66)  # 64 tokens
    study = tmp_path / "axis.yaml"
    study.write_text(f"name: axis\nmodels: [{tiny_model_dir}, {short}]\ntasks: [demo]\nsettings: {{epochs: 1}}\n"
                     "axes:\n  - grid: {learning_rate: [1.0e-4]}\n  - zip: {max_length: [64, 128], "
                     "batch_size: [16, 8]}\n")
    line = _one_line(runner.invoke(app, ["run", str(study), "--dry-run"]))
    assert line == (f"error: {study}:7: max_length 128: {short} takes at most 64 tokens (its position embeddings), "
                    f"in the trial {short} on demo: give max_length 64 or less")


def test_task_settings_are_checked_for_their_task(tmp_path, tiny_model_dir):
    study = tmp_path / "per-task.yaml"
    study.write_text(f"name: per-task\nmodels: [{tiny_model_dir}]\ntasks: [demo]\n"
                     "task_settings:\n  demo:\n    max_length: 200\n")
    line = _one_line(runner.invoke(app, ["run", str(study), "--dry-run"]))
    assert line.startswith(f"error: {study}:6: max_length 200: {tiny_model_dir} takes at most 128 tokens")
    assert "in the trial" in line and "on demo" in line


def test_a_real_run_refuses_before_its_first_trial(tmp_path, tiny_model_dir, sentiment_dir):
    """Without --dry-run: the same line, and no trial started (nothing in the store)."""
    study = tmp_path / "real.yaml"
    study.write_text(f"name: real\nmodels: [{tiny_model_dir}]\n"
                     f"settings: {{data: {sentiment_dir}, epochs: 1, max_length: 129}}\n")
    line = _one_line(runner.invoke(app, ["run", str(study)]))
    assert f"max_length 129: {tiny_model_dir} takes at most 128 tokens" in line and "on your data" in line
    assert Store().list() == []


def test_an_embedding_study_checks_a_trained_runs_checkpoint(tmp_path, tiny_model_dir, sentiment_dir):
    """An embedding study may name a trained run (project/name): its checkpoint's config.json gives the limit."""
    trained = runner.invoke(app, ["train", "--model", str(tiny_model_dir), "--data", str(sentiment_dir),
                                  "--max-steps", "1", "--batch-size", "8", "--quiet", "--json", "--project", "p",
                                  "--name", "r"])
    assert trained.exit_code == 0, trained.output
    assert json.loads(trained.output)["config"]["max_length"] == 128
    study = tmp_path / "frozen.yaml"
    study.write_text("name: frozen\nmodels: [p/r]\ntasks: [sst2]\nembedding: probe\nsettings: {max_length: 300}\n")
    line = _one_line(runner.invoke(app, ["run", str(study), "--dry-run"]))
    assert line.startswith(f"error: {study}:5: max_length 300: p/r takes at most 128 tokens")
