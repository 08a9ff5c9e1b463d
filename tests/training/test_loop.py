from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import bakeoff
from bakeoff.config import TrainConfig
from bakeoff.data.batching import encode
from bakeoff.data.dataset import TextDataset
from bakeoff.eval.results import EvalResult
from bakeoff.models import load_for_classification, load_tokenizer, resolve_model
from bakeoff.track import Store
from bakeoff.training import fit
from bakeoff.training.display import SilentDisplay
from tests.conftest import sentiment_rows


def _train(tiny_model_dir, sentiment_dir, **options):
    settings = dict(model=str(tiny_model_dir), data=str(sentiment_dir), task=None, epochs=6, learning_rate=3e-3,
                    batch_size=16, precision="fp32", quiet=True)
    return bakeoff.train(**{**settings, **options})


def test_tiny_model_learns_and_the_run_is_recorded(tiny_model_dir, sentiment_dir):
    result = _train(tiny_model_dir, sentiment_dir)
    assert result.validation.metrics["accuracy"] >= 0.85
    assert result.run.status == "COMPLETED" and result.training.steps == 60
    run = Store().get(result.run.id)
    assert run.status == "COMPLETED"
    losses = [p["value"] for p in run.metric("train/loss")]
    assert len(losses) == 60 and np.mean(losses[-10:]) < 0.7 * np.mean(losses[:10])
    assert [p["step"] for p in run.metric("validation/accuracy")] == [10, 20, 30, 40, 50, 60]
    saved = json.loads((run.path / "result.json").read_text())
    assert saved["schema_version"] == 5 and saved["data"]["fingerprints"]["train"] == result.data.fingerprints["train"]
    assert saved["config"]["learning_rate"] == 3e-3 and saved["hardware"]["torch"] == torch.__version__
    assert run.parameters()["batch_size"] == 16
    # 2 layers x 3 dropouts + embeddings + classifier; the saved model is plain BERT again (pipeline tests load it)
    assert saved["training"]["shortcuts"] == {"first_token_last_layer": True, "fast_dropout_modules": 8}


def test_same_seed_same_run_on_cpu(tiny_model_dir, sentiment_dir):
    first = _train(tiny_model_dir, sentiment_dir, epochs=1, name="a")
    second = _train(tiny_model_dir, sentiment_dir, epochs=1, name="b")
    other = _train(tiny_model_dir, sentiment_dir, epochs=1, name="c", seed=7)

    def weights(result):
        return hashlib.sha256((Path(result.checkpoint) / "model.safetensors").read_bytes()).hexdigest()

    assert first.history == second.history and weights(first) == weights(second)
    assert weights(first) != weights(other)


def _scripted_fit(tiny_model_dir, values, patience, select_by="accuracy"):
    """Run fit() on the tiny model with an evaluate() that returns ``values`` in turn; snapshot weights each time."""
    source = resolve_model(str(tiny_model_dir))
    torch.manual_seed(0)
    model = load_for_classification(source, ["negative", "positive"])
    rows = sentiment_rows(64)
    data = TextDataset([t for t, _ in rows], np.array([label for _, label in rows]))
    encoded = encode(load_tokenizer(source), data, 32)
    snapshots = []

    def evaluate(module):
        snapshots.append({k: v.clone() for k, v in module.state_dict().items()})
        value = values[len(snapshots) - 1]
        return EvalResult("validation", 10, 1 - value, {"accuracy": value}, "accuracy", {}, [], 0.1, 100.0)

    config = TrainConfig(epochs=len(values), batch_size=16, learning_rate=1e-3, early_stopping_patience=patience)
    outcome = fit(model, encoded, config, evaluate=evaluate, select_by=select_by, precision="fp32",
                  device=torch.device("cpu"), log=lambda *a, **k: None, display=SilentDisplay())
    return model, outcome, snapshots


def test_early_stopping_stops_on_patience_and_restores_the_best_weights(tiny_model_dir):
    model, outcome, snapshots = _scripted_fit(tiny_model_dir, [0.5, 0.9, 0.6, 0.7, 0.95, 0.99], patience=2)
    assert outcome.stopped_early and len(snapshots) == 4 and outcome.best_step == 8
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, snapshots[1][name]), name
    assert not torch.equal(snapshots[1]["classifier.weight"], snapshots[3]["classifier.weight"])


def test_best_by_loss_follows_the_lower_direction(tiny_model_dir):
    # loss is 1 - value here: the lowest loss is the highest value, at evaluation 3
    _, outcome, _ = _scripted_fit(tiny_model_dir, [0.2, 0.4, 0.8, 0.3], patience=None, select_by="loss")
    assert outcome.best_step == 12 and outcome.best_value == pytest.approx(0.2)


def test_simulated_out_of_memory_keeps_the_effective_batch(tiny_model_dir):
    source = resolve_model(str(tiny_model_dir))
    rows = sentiment_rows(32)
    data = TextDataset([t for t, _ in rows], np.array([label for _, label in rows]))
    encoded = encode(load_tokenizer(source), data, 32)
    config = TrainConfig(max_steps=2, batch_size=16, learning_rate=1e-3)
    models = []
    for limit in (None, 4):
        torch.manual_seed(0)
        model = load_for_classification(source, ["negative", "positive"])
        model.config.hidden_dropout_prob = 0.0
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0  # dropout draws differ with micro-batch shapes; the gradient must not
        if limit:
            forward = model.forward

            def limited(*args, _forward=forward, _limit=limit, **kwargs):
                if kwargs["input_ids"].shape[0] > _limit:
                    raise torch.OutOfMemoryError("simulated: out of memory")
                return _forward(*args, **kwargs)

            model.forward = limited
        outcome = fit(model, encoded, config, evaluate=lambda m: EvalResult(
            "validation", 1, 0.0, {"accuracy": 1.0}, "accuracy", {}, [], 0.1, 1.0), select_by="accuracy",
            precision="fp32", device=torch.device("cpu"), log=lambda *a, **k: None, display=SilentDisplay())
        models.append((model, outcome))
    (plain, plain_outcome), (fallback, fallback_outcome) = models
    assert plain_outcome.oom_fallbacks == []
    assert fallback_outcome.oom_fallbacks == [{"step": 1, "micro_batch_size": 8, "accumulation": 2},
                                              {"step": 1, "micro_batch_size": 4, "accumulation": 4}]
    for (name, a), b in zip(plain.state_dict().items(), fallback.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6, msg=name)


def test_ctrl_c_keeps_the_best_checkpoint_and_marks_the_run_interrupted(tiny_model_dir, sentiment_dir, monkeypatch):
    class InterruptAtStep35(SilentDisplay):
        def advance(self, step, loss, samples_per_second):
            if step == 35:
                raise KeyboardInterrupt

    monkeypatch.setattr("bakeoff.runs.train_run.SilentDisplay", InterruptAtStep35)
    result = _train(tiny_model_dir, sentiment_dir)
    assert result.run.status == "INTERRUPTED" and result.training.steps == 35
    assert [h["step"] for h in result.history] == [10, 20, 30]
    best = max(result.history, key=lambda h: h["accuracy"])  # the first of equals, as the loop keeps it
    assert result.training.best_step == best["step"]
    assert result.validation.metrics["accuracy"] == pytest.approx(best["accuracy"]) and (Path(result.checkpoint) / "model.safetensors").is_file()
    assert Store().get(result.run.id).status == "INTERRUPTED"


def test_a_nan_loss_fails_the_run_with_its_reason(tiny_model_dir, sentiment_dir, monkeypatch):
    import bakeoff.runs.train_run as training_run

    load = training_run.load_for_classification

    def poisoned(*args, **kwargs):  # a head whose weights are NaN: the first loss is NaN
        model = load(*args, **kwargs)
        with torch.no_grad():
            model.classifier.weight.fill_(float("nan"))
        return model

    monkeypatch.setattr(training_run, "load_for_classification", poisoned)
    with pytest.raises(bakeoff.BakeoffError, match=r"training diverged: the loss is nan at step \d+"):
        _train(tiny_model_dir, sentiment_dir, epochs=1)
    (run,) = Store().list()
    assert run.status == "FAILED" and "diverged" in run.info["error"]
