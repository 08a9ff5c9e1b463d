from __future__ import annotations

import numpy as np
import pytest

import bakeoff
from bakeoff.errors import BakeoffError
from bakeoff.models import keep_layers, load_for_classification, resolve_model
from bakeoff.models.checkpoint import load_checkpoint


@pytest.fixture
def trained(tiny_model_dir, sentiment_dir):
    return bakeoff.train(model=str(tiny_model_dir), data=str(sentiment_dir), task=None, epochs=6,
                         learning_rate=3e-3, batch_size=16, precision="fp32", quiet=True)


def test_checkpoint_loads_in_plain_transformers_pipeline_with_the_same_predictions(trained, sentiment_dir):
    from transformers import pipeline

    texts = [line.split("\t")[0] for line in (sentiment_dir / "dev.tsv").read_text().splitlines()[1:]]
    ours = bakeoff.predict(trained.run.id, texts, precision="fp32")
    theirs = pipeline("text-classification", model=trained.checkpoint, device="cpu")(texts)
    assert [p["label"] for p in theirs] == ours.labels
    np.testing.assert_allclose([p["score"] for p in theirs], ours.probabilities.max(axis=1), rtol=1e-4)
    assert set(ours.labels) == {"0", "1"}  # label names from the data, saved in the config


def test_checkpoint_is_safetensors_only_and_evaluates_to_the_recorded_metrics(trained):
    from pathlib import Path

    files = {p.name for p in Path(trained.checkpoint).iterdir()}
    assert "model.safetensors" in files and not {f for f in files if f.endswith((".bin", ".pt", ".pkl"))}
    again = bakeoff.evaluate(trained.run.id, precision="fp32")
    assert again.metrics == pytest.approx(trained.validation.metrics)
    assert again.loss == pytest.approx(trained.validation.loss, rel=1e-5)


def test_a_pickled_checkpoint_is_refused(tmp_path, tiny_model_dir):
    (tmp_path / "config.json").write_text((tiny_model_dir / "config.json").read_text())
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(BakeoffError, match="no safetensors weights.*pytorch_model.bin is a pickle"):
        load_checkpoint(tmp_path)


def test_layer_subset_reloads_with_the_kept_layers(tiny_model_dir, tmp_path):
    model = load_for_classification(resolve_model(str(tiny_model_dir)), ["a", "b"])
    second = model.bert.encoder.layer[1].attention.self.query.weight.detach().clone()
    keep_layers(model, [1])
    assert model.config.num_hidden_layers == 1
    model.save_pretrained(tmp_path)
    from transformers import AutoModelForSequenceClassification

    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path)
    assert len(reloaded.bert.encoder.layer) == 1
    assert np.array_equal(reloaded.bert.encoder.layer[0].attention.self.query.weight.detach().numpy(), second.numpy())


def test_model_names_resolve_or_fail_clearly(tmp_path):
    assert resolve_model("minilm-l3").layers == (0, 2, 4)
    assert resolve_model("FacebookAI/roberta-base").origin == "hub"
    with pytest.raises(BakeoffError, match="did you mean 'minilm-l6'"):
        resolve_model("minilm-l7")
    with pytest.raises(BakeoffError, match="not a Hugging Face model folder"):
        resolve_model(str(tmp_path))


def test_a_tampered_trained_checkpoint_is_refused_not_scored(trained):
    from pathlib import Path

    weights = Path(trained.checkpoint) / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-8:] = b"\xff" * 8  # NaNs in the last tensor: it would predict "negative nan" if loaded
    weights.write_bytes(bytes(data))
    for call in (lambda: bakeoff.predict(trained.run.id, ["a great film"]), lambda: bakeoff.evaluate(trained.run.id)):
        with pytest.raises(BakeoffError, match="sha256 differs from the one recorded"):
            call()


def test_training_and_evaluate_score_through_one_path(tiny_model_dir, sentiment_dir):
    """In bf16 a close call can flip; training and `bakeoff evaluate` both re-check those in fp32, so a run's own
    result.json and an evaluation of it agree row for row."""
    result = bakeoff.train(model=str(tiny_model_dir), data=str(sentiment_dir), task=None, epochs=1,
                           learning_rate=1e-4, batch_size=16, precision="bf16", quiet=True)
    again = bakeoff.evaluate(result.run.id, precision="bf16")
    assert again.confusion_matrix == result.validation.confusion_matrix
    assert again.metrics == pytest.approx(result.validation.metrics)
