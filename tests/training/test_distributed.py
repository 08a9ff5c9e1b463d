"""One run across two CPU processes (gloo, under torchrun) against the same run in one process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

import bakeoff
from bakeoff.errors import BakeoffError
from bakeoff.runs.results import TrainResult
from bakeoff.track import Store
from bakeoff.training.distributed import World
from tests.conftest import sentiment_rows, write_tsv

SRC = Path(bakeoff.__file__).resolve().parents[1]
# rank 1 raises in its third optimizer step; loaded at start-up by every process the test launches (sitecustomize)
CRASH_RANK_1 = """
import os
if os.environ.get("RANK") == "1":
    import importlib
    loop = importlib.import_module("bakeoff.training.loop")
    _step, _calls = loop._clip_and_step, []
    def _failing(*args, **kwargs):
        _calls.append(1)
        if len(_calls) == 3:
            raise RuntimeError("injected failure in rank 1")
        return _step(*args, **kwargs)
    loop._clip_and_step = _failing
"""


@pytest.fixture
def model_without_dropout(tiny_model_dir, tmp_path) -> Path:
    """The tiny BERT with dropout off: then one process and two compute the same function (masks would differ)."""
    folder = tmp_path / "tiny-no-dropout"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture
def data_151(tmp_path) -> Path:
    """151 training rows: batches of 15 leave a last batch of one row, so one process gets an empty shard."""
    folder = tmp_path / "data-151"
    write_tsv(folder / "train.tsv", sentiment_rows(151, seed=1))
    write_tsv(folder / "dev.tsv", sentiment_rows(40, seed=2))
    return folder


def _settings(model: Path, data: Path, **options) -> dict:
    defaults = {"epochs": 4, "learning_rate": 1e-2, "batch_size": 15, "precision": "fp32", "threads": 1, "quiet": True}
    return dict(model=str(model), data=str(data), task=None, **{**defaults, **options})


def test_two_processes_train_as_one_process_does(model_without_dropout, data_151):
    one = bakeoff.train(**_settings(model_without_dropout, data_151, project="one"))
    two = bakeoff.train(**_settings(model_without_dropout, data_151, project="two", nproc=2))

    accuracies = [h["accuracy"] for h in one.history]
    assert min(accuracies) <= 0.6 and max(accuracies) >= 0.9  # it learned: agreeing is not agreeing on chance
    assert [h["accuracy"] for h in two.history] == accuracies
    assert [h["step"] for h in two.history] == [h["step"] for h in one.history]
    # not bit-equal: each process sums its rows' gradients, then the two partial sums are added (another
    # float summation order than one process's); 44 Adam steps keep the difference near fp32 rounding
    assert np.allclose([h["loss"] for h in two.history], [h["loss"] for h in one.history], rtol=0, atol=1e-5)
    # labels' metrics agree exactly; those of probabilities (ECE, Brier) to fp32 rounding, for the reason above
    probability = {"ece", "brier", "roc_auc", "pr_auc"}
    assert {k: v for k, v in two.validation.metrics.items() if k not in probability} == \
        {k: v for k, v in one.validation.metrics.items() if k not in probability}
    assert two.validation.metrics.keys() == one.validation.metrics.keys()
    assert np.allclose([two.validation.metrics[k] for k in sorted(probability & one.validation.metrics.keys())],
                       [one.validation.metrics[k] for k in sorted(probability & one.validation.metrics.keys())],
                       rtol=0, atol=1e-5)
    assert abs(two.validation.loss - one.validation.loss) < 1e-5
    weights_one, weights_two = (load_file(Path(r.checkpoint) / "model.safetensors") for r in (one, two))
    # except the attention key biases: softmax ignores them, so their true gradient is 0 and what they get is
    # rounding noise, which Adam scales up to steps of ~learning_rate, differently in each run
    compared = [k for k in weights_one if not k.endswith("attention.self.key.bias")]
    assert len(compared) == len(weights_one) - 2
    assert max(float(np.abs(weights_one[k] - weights_two[k]).max()) for k in compared) < 1e-5
    predictions = [json.loads((Path(r.run.path) / "predictions.json").read_text()) for r in (one, two)]
    assert predictions[0]["validation"] == predictions[1]["validation"]  # the whole split, no padded rows

    runs = Store().list(project="two")
    assert len(runs) == 1 and runs[0].status == "COMPLETED"  # one run, recorded by rank 0 only
    # the training loss of each step: the whole batch's mean, summed from both processes' rows
    train_losses = [[p["value"] for p in Store().get(r.run.id).metric("train/loss")] for r in (one, two)]
    assert len(train_losses[1]) == 44 and np.allclose(train_losses[1], train_losses[0], rtol=0, atol=1e-5)
    saved = json.loads((runs[0].path / "result.json").read_text())
    assert saved["training"]["world_size"] == 2 and saved["training"]["backend"] == "gloo"
    assert saved["training"]["steps"] == one.training.steps == 44
    assert runs[0].parameters()["world_size"] == 2 and runs[0].parameters()["backend"] == "gloo"
    assert one.training.world_size == 1 and one.training.backend is None
    for key in ("world_size", "backend"):  # a result.json written before --nproc existed
        del saved["training"][key]
    older = TrainResult.from_dict(saved).training
    assert (older.world_size, older.backend) == (1, None)


def test_gradient_accumulation_and_dense_embedding_gradients_too(model_without_dropout, data_151):
    settings = _settings(model_without_dropout, data_151, epochs=3, learning_rate=5e-3, batch_size=8,
                         gradient_accumulation_steps=2, sparse_embeddings=False)
    one = bakeoff.train(**settings, project="one")
    two = bakeoff.train(**settings, project="two", nproc=2)

    assert one.history[0]["accuracy"] <= 0.6 and one.validation.metrics["accuracy"] >= 0.9  # it learned
    assert [h["accuracy"] for h in two.history] == [h["accuracy"] for h in one.history]
    assert np.allclose([h["loss"] for h in two.history], [h["loss"] for h in one.history], rtol=0, atol=1e-5)
    assert two.training.steps == one.training.steps == 30 and two.training.world_size == 2
    weights_one, weights_two = (load_file(Path(r.checkpoint) / "model.safetensors") for r in (one, two))
    compared = [k for k in weights_one if not k.endswith("attention.self.key.bias")]  # (see the test above)
    assert max(float(np.abs(weights_one[k] - weights_two[k]).max()) for k in compared) < 1e-5


def test_a_crashing_rank_fails_the_run_with_one_line(model_without_dropout, data_151, tmp_path):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(CRASH_RANK_1)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hooks), str(SRC)])}
    command = [sys.executable, "-m", "bakeoff", "train", "--model", str(model_without_dropout), "--data",
               str(data_151), "--batch-size", "15", "--precision", "fp32", "--threads", "1", "--nproc", "2",
               "--project", "crash", "--quiet"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: rank 1 of 2 failed: RuntimeError: injected failure")
    runs = Store().list(project="crash")
    assert len(runs) == 1 and runs[0].status == "FAILED"  # never left RUNNING
    info = json.loads((runs[0].path / "experiment.json").read_text())
    assert "injected failure in rank 1" in info["error"]
    assert (runs[0].path / "logs" / "torchrun.log").is_file()


def test_ctrl_c_stops_every_process_and_rank_0_saves(model_without_dropout, data_151):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    command = [sys.executable, "-m", "bakeoff", "train", "--model", str(model_without_dropout), "--data",
               str(data_151), "--batch-size", "15", "--precision", "fp32", "--threads", "1", "--nproc", "2",
               "--max-steps", "100000", "--eval-steps", "100000", "--project", "stop", "--quiet"]
    # Ctrl-C as in a terminal: a process started in the background of a shell (as CI may run the suite) inherits
    # SIGINT ignored, and Python then installs no KeyboardInterrupt handler; give the command the terminal's default
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 90
    while not list(Path(os.environ["BAKEOFF_STORE"]).glob("stop/*/metrics/train/loss/data.jsonl")):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal does
    try:
        _, stderr = process.communicate(timeout=180)  # a loaded 2-core CI machine: generous, still bounded
    except subprocess.TimeoutExpired:  # seen once in a full suite (2026-12-06): keep what it said for the next look
        process.kill()
        _, stderr = process.communicate()
        pytest.fail(f"no exit 180 s after Ctrl-C; its stderr:\n{stderr[-4000:]}")
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 130, stderr
    runs = Store().list(project="stop")
    assert len(runs) == 1 and runs[0].status == "INTERRUPTED"
    saved = json.loads((runs[0].path / "result.json").read_text())
    assert saved["run"]["status"] == "INTERRUPTED" and saved["training"]["world_size"] == 2
    assert 0 < saved["training"]["steps"] < 100000 and (runs[0].path / "checkpoint" / "model.safetensors").is_file()


def test_shards_cover_every_row_once_and_one_process_keeps_the_batch():
    rows = np.array([7, 3, 9, 1, 4])
    shards = [World(rank=r, size=2, backend="gloo").shard(rows) for r in range(2)]
    assert sorted(np.concatenate(shards).tolist()) == sorted(rows.tolist())
    assert World().shard(rows) is rows and World().dropout_seed(42) == 42
    assert World(rank=1, size=2).dropout_seed(42) != 42  # ranks draw different dropout masks


def test_nproc_checks_its_value():
    with pytest.raises(BakeoffError, match="--nproc must be >= 1, got 0"):
        bakeoff.train(task="demo", nproc=0)
    if not torch.cuda.is_available():
        with pytest.raises(BakeoffError, match="each process takes its own GPU|no CUDA"):
            bakeoff.train(task="demo", nproc=2, device="cuda:1")


def test_nproc_is_how_a_run_runs_not_what_it_computes():
    from bakeoff.config import TrainConfig, identity

    one, two = (TrainConfig(task="demo", nproc=n).validate().to_dict() for n in (1, 2))
    assert one != two and identity(one) == identity(two)  # so trial ids and leaderboard variants are unchanged

