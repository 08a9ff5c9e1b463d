"""The real MiniLM-L6 and real data: sentence-transformers identity, and a small MRPC pair-similarity run."""

from __future__ import annotations

import numpy as np
import pytest

from bakeoff.api import Embedder, evaluate_embeddings

pytestmark = pytest.mark.slow


def test_minilm_mean_pooling_is_sentence_transformers_on_every_sst2_dev_sentence(shared_data):
    from sentence_transformers import SentenceTransformer

    lines = (shared_data / "sst2" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    sentences = [line.split("\t")[0] for line in lines]
    assert len(sentences) == 872
    embedder = Embedder("minilm-l6", pooling="mean", normalize=True)
    ours = embedder.encode(sentences)
    theirs = SentenceTransformer(embedder.source.location, device="cpu").encode(
        sentences, batch_size=64, normalize_embeddings=True)
    cosine = (ours * theirs).sum(axis=1)
    assert cosine.min() >= 0.9999, f"lowest cosine {cosine.min():.6f} at {sentences[int(cosine.argmin())]!r}"
    assert embedder.max_length == 256  # sentence-transformers' max_seq_length, read from the model folder


def test_mrpc_pair_similarity_beats_chance_with_thresholds_from_train(shared_data):
    result = evaluate_embeddings("minilm-l6", "mrpc", "pairs", "mean", data=str(shared_data / "mrpc"),
                                 train_fraction=0.1)
    positives = 279 / 408  # the share of paraphrases in dev: average precision of a random ranking
    assert result.data["sizes"]["validation"] == 408 and result.details["thresholds_chosen_on"] == "train"
    assert result.metrics["average_precision"] > positives + 0.1
    assert result.metrics["accuracy"] > positives  # above always answering "paraphrase"
    assert len(result.per_example["score"]) == 408 and np.isfinite(result.per_example["score"]).all()
