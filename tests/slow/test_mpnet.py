"""The real MPNet-base (all-mpnet-base-v2, 109M parameters), fetched by ../shared/models/get-mpnet-base: a second
real pretrained family beside MiniLM, through every operation at a size CI can afford.

What steps aside for MPNet, and why the results are the same (tests/models/test_families.py checks each on a tiny
MPNet): the [CLS]-only last layer (MPNet's layers are built differently: the full last layer runs); sparse
embeddings, fast dropout, the ONNX exporter and int8 (PyTorch and ONNX Runtime) all work for it.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import bakeoff
from bakeoff.api import Embedder

pytestmark = pytest.mark.slow


def _sst2_dev_by_length(shared_data, count: int) -> list[str]:
    """``count`` SST-2 dev sentences spread over the lengths, shortest to longest (the longest included): the
    padding and attention masks of every batch differ, which is what pooling must get right."""
    lines = (shared_data / "sst2" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    ordered = sorted((line.split("\t")[0] for line in lines), key=len)
    return [ordered[round(i * (len(ordered) - 1) / (count - 1))] for i in range(count)]


def test_mean_pooling_is_sentence_transformers_encode(shared_data, mpnet_base):
    """MPNet's; MiniLM-L6's is checked on every SST-2 dev sentence in tests/embedding/test_embed_slow.py."""
    from sentence_transformers import SentenceTransformer

    sentences = _sst2_dev_by_length(shared_data, 64)
    embedder = Embedder(mpnet_base, pooling="mean", normalize=True)
    ours = embedder.encode(sentences)
    theirs = SentenceTransformer(embedder.source.location, device="cpu").encode(
        sentences, batch_size=64, normalize_embeddings=True)
    cosine = (ours * theirs).sum(axis=1)
    assert cosine.min() >= 0.9999, f"lowest cosine {cosine.min():.6f} at {sentences[int(cosine.argmin())]!r}"
    assert embedder.source.origin == "alias+env" and embedder.dimension == 768
    assert embedder.max_length == 384  # its sentence-transformers max_seq_length


@pytest.fixture
def small_glue(shared_data, tmp_path):
    """64 SST-2 training rows and 48 dev rows, 96 MRPC training pairs and 48 dev pairs, in GLUE's layout."""
    folder = tmp_path / "glue"
    for task, train, dev in (("sst2", 64, 48), ("mrpc", 96, 48)):
        (folder / task).mkdir(parents=True)
        for name, count in (("train.tsv", train), ("dev.tsv", dev)):
            lines = (shared_data / task / name).read_text(encoding="utf-8").splitlines()
            (folder / task / name).write_text("\n".join(lines[: count + 1]) + "\n", encoding="utf-8")
    return folder


def test_mpnet_base_end_to_end(mpnet_base, small_glue, tmp_path, monkeypatch):
    from bakeoff.api import Index

    sst2 = small_glue / "sst2"
    # learning is not asserted here (MiniLM's tests assert it): 2 optimizer steps exercise every path
    options = dict(model=mpnet_base, task="sst2", data=str(sst2), max_length=64, batch_size=16, learning_rate=5e-5,
                   max_steps=2, quiet=True)
    result = bakeoff.train(**options)
    assert result.model.origin == "alias+env" and result.model.parameters > 100e6
    assert result.training.shortcuts["first_token_last_layer"] is False  # steps aside for MPNet
    assert result.training.shortcuts["fast_dropout_modules"] > 0
    assert bakeoff.evaluate(result.run.id).metrics == pytest.approx(result.validation.metrics, abs=1e-9)
    texts = _sst2_texts(sst2)
    predicted = bakeoff.predict(result.run.id, texts)
    assert set(predicted.labels) <= {"negative", "positive"}

    for method in ("dynamic-int8", "bf16", "onnx", "onnx-int8"):
        report = bakeoff.compress(result.run.id, method, batch_sizes=(8,))
        assert report.rows == 48 and report.change.size_ratio > (1.5 if method != "onnx" else 0.9), method
        assert report.change.flip_share <= (0.0 if method == "onnx" else 0.15), method
    measured = bakeoff.bench(result.run.id, batch_sizes=(8,), requests=10)
    assert measured["rows"] == 48 and measured["bench"]["latency_ms"]["p50"] > 0

    vectors = bakeoff.embed(texts[:8], result.run.id)  # the fine-tuned encoder, mean pooling
    assert vectors.shape == (8, 768) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    pairs = bakeoff.evaluate_embeddings(mpnet_base, "mrpc", "pairs", "mean", data=str(small_glue / "mrpc"))
    assert pairs.metrics["average_precision"] > 0.5 and pairs.model["origin"] == "alias+env"
    index = Index.build(texts, mpnet_base, max_length=64)
    assert index.search(texts[3], k=1)[0][0].text == texts[3]

    two = bakeoff.train(**{**options, "max_steps": 1}, nproc=2, name="mpnet-two-processes")  # one all-reduced step
    assert two.training.world_size == 2 and two.validation.rows == 48

    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump({"name": "mpnet-study", "models": [mpnet_base], "tasks": ["sst2"],
                                     "settings": {"data": str(sst2), "max_length": 64, "batch_size": 16,
                                                  "max_steps": 1},
                                     "seeds": [1], "compress": ["dynamic-int8"]}))
    outcome = bakeoff.run_study(study)
    assert outcome.count("COMPLETED") == 1
    rows = bakeoff.leaderboard(study).rows
    assert any("mpnet-base" in str(row.model) for row in rows)


def _sst2_texts(folder):
    return [line.split("\t")[0] for line in (folder / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]]
