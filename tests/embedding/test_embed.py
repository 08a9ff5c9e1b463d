"""Pooling, normalisation, the Embedder, the Index and the embedding tasks, on the session's tiny BERT."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bakeoff.api import Embedder, EmbeddingEvalResult, Index, embed, evaluate_embeddings
from bakeoff.embedding import l2_normalize, pool, quantize_vectors
from bakeoff.embedding.index import top_k
from bakeoff.embedding.metrics import (
    average_precision,
    best_threshold,
    retrieval_scores,
)
from bakeoff.embedding.quantize import hamming_similarity
from bakeoff.errors import BakeoffError

TEXTS = ["the film was good", "a dull and boring plot", "really excellent acting", "the story was poor",
         "a charming film", "awful"]


def test_max_pooling_never_lets_padding_win():
    hidden = torch.tensor([[[1.0, -5.0], [2.0, -4.0], [50.0, 50.0]]])  # position 2 is padding with huge values
    mask = torch.tensor([[1, 1, 0]])
    assert pool(hidden, mask, "max").tolist() == [[2.0, -4.0]]
    all_negative = torch.tensor([[[-3.0], [-1.0], [0.0]]])  # padding's 0 would beat every real token
    assert pool(all_negative, mask, "max").tolist() == [[-1.0]]


def test_mean_pooling_counts_only_real_tokens_and_cls_takes_the_first():
    hidden = torch.tensor([[[1.0], [3.0], [100.0], [100.0]], [[4.0], [6.0], [8.0], [10.0]]])
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    assert pool(hidden, mask, "mean").tolist() == [[2.0], [7.0]]
    assert pool(hidden, mask, "cls").tolist() == [[1.0], [4.0]]


def test_unknown_pooling_is_one_clear_error(tiny_model_dir):
    with pytest.raises(BakeoffError, match="--pooling 'sum' is not one of mean, cls, max"):
        Embedder(str(tiny_model_dir), pooling="sum")
    with pytest.raises(BakeoffError, match="unknown embedding option 'pool' \\(did you mean 'pooling'\\?\\)"):
        Embedder(str(tiny_model_dir), pool="max")


def test_normalised_vectors_have_unit_length_and_unnormalised_do_not(tiny_model_dir):
    vectors = embed(TEXTS, str(tiny_model_dir))
    assert vectors.shape == (len(TEXTS), 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    raw = embed(TEXTS, str(tiny_model_dir), normalize=False)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-3)
    np.testing.assert_allclose(l2_normalize(raw), vectors, atol=1e-5)


@pytest.mark.parametrize("pooling", ["mean", "cls", "max"])
def test_batching_and_padding_do_not_change_a_vector(tiny_model_dir, pooling):
    """A text's vector is the same alone (no padding) as in a batch padded to a longer text."""
    embedder = Embedder(str(tiny_model_dir), pooling=pooling, batch_size=len(TEXTS))
    together = embedder.encode(TEXTS)
    alone = np.stack([embedder.encode([text])[0] for text in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_poolings_differ_and_match_a_manual_computation(tiny_model_dir):
    from transformers import AutoModel, AutoTokenizer

    tokenizer, model = AutoTokenizer.from_pretrained(tiny_model_dir), AutoModel.from_pretrained(tiny_model_dir)
    with torch.no_grad():
        hidden = model(**tokenizer(["the film was good"], return_tensors="pt")).last_hidden_state[0]
    expected = {"mean": hidden.mean(0), "cls": hidden[0], "max": hidden.max(0).values}
    for pooling, vector in expected.items():
        ours = embed(["the film was good"], str(tiny_model_dir), pooling=pooling, normalize=False)[0]
        np.testing.assert_allclose(ours, vector.numpy(), atol=1e-5)


def test_quantized_vectors_keep_their_direction():
    rng = np.random.default_rng(0)
    vectors = l2_normalize(rng.normal(size=(20, 64))).astype(np.float32)
    int8 = quantize_vectors(vectors, "int8").astype(np.float32)
    assert quantize_vectors(vectors, "int8").dtype == np.int8
    cosine = (l2_normalize(int8) * vectors).sum(axis=1)
    assert cosine.min() > 0.999
    packed = quantize_vectors(vectors, "binary")
    assert packed.shape == (20, 8) and packed.dtype == np.uint8
    similarity = hamming_similarity(packed[:3], packed)
    assert (similarity.argmax(axis=1) == [0, 1, 2]).all() and similarity[0, 0] == 64


def test_top_k_is_exact_and_ordered():
    rng = np.random.default_rng(1)
    vectors = l2_normalize(rng.normal(size=(500, 16))).astype(np.float32)
    queries = l2_normalize(rng.normal(size=(4, 16))).astype(np.float32)
    rows, scores = top_k(queries, vectors, 7)
    full = queries @ vectors.T
    np.testing.assert_array_equal(rows, np.argsort(-full, axis=1)[:, :7])
    assert (np.diff(scores, axis=1) <= 0).all()
    assert top_k(queries, vectors[:3], 10)[0].shape == (4, 3)  # k larger than the index: all of it


def test_index_round_trip_and_ranking(tiny_model_dir, tmp_path):
    index = Index.build(TEXTS, str(tiny_model_dir), ids=[f"doc{i}" for i in range(len(TEXTS))])
    folder = index.save(tmp_path / "index")
    assert sorted(p.name for p in folder.iterdir()) == ["index.json", "texts.json", "vectors.npy"]
    loaded = Index.load(folder)
    np.testing.assert_array_equal(loaded.vectors, index.vectors)
    hits = loaded.search(TEXTS[2], k=3)[0]
    assert hits[0].id == "doc2" and hits[0].text == TEXTS[2] and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert [h.rank for h in hits] == [1, 2, 3] and hits[0].score >= hits[1].score >= hits[2].score
    manifest = json.loads((folder / "index.json").read_text())
    assert manifest["pooling"] == "mean" and manifest["normalize"] is True and manifest["max_length"] == 128
    assert set(manifest["files"]) == {"texts.json", "vectors.npy"}


def test_a_tampered_index_is_refused(tiny_model_dir, tmp_path):
    folder = Index.build(TEXTS, str(tiny_model_dir)).save(tmp_path / "index")
    texts = json.loads((folder / "texts.json").read_text())
    texts["texts"][0] = "something else"
    (folder / "texts.json").write_text(json.dumps(texts))
    with pytest.raises(BakeoffError, match="texts.json does not match its sha256"):
        Index.load(folder)


def test_search_with_another_model_is_refused(tiny_model_dir, tmp_path):
    other = tmp_path / "other-model"
    import shutil

    shutil.copytree(tiny_model_dir, other)
    index = Index.load(Index.build(TEXTS, str(tiny_model_dir)).save(tmp_path / "index"))
    with pytest.raises(BakeoffError, match="the index was built with"):
        index.search("good film", model=str(other))
    assert index.search("good film", model=str(tiny_model_dir))[0]


def test_an_empty_corpus_is_refused_and_nothing_is_written(tiny_model_dir, tmp_path):
    with pytest.raises(BakeoffError, match="the corpus is empty"):
        Index.build([], str(tiny_model_dir))
    assert not list(tmp_path.iterdir()) or not (tmp_path / "index").exists()


def test_approximate_search_finds_the_exact_neighbours_of_a_small_index(tiny_model_dir, tmp_path):
    pytest.importorskip("usearch", reason="the ann extra (usearch) is not installed")
    index = Index.build(TEXTS, str(tiny_model_dir), ann=True)
    loaded = Index.load(index.save(tmp_path / "index"))
    exact = [h.id for h in loaded.search(TEXTS[1], k=3)[0]]
    approximate = [h.id for h in loaded.search(TEXTS[1], k=3, approximate=True)[0]]
    assert approximate == exact


def test_metrics_match_definitions():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(2)
    labels, scores = rng.integers(0, 2, 200), rng.random(200)
    assert average_precision(labels, scores) == pytest.approx(average_precision_score(labels, scores))
    threshold = best_threshold(np.array([0, 0, 0, 1, 1, 0, 1]), np.array([0.1, 0.2, 0.4, 0.8, 0.85, 0.87, 0.9]))
    assert 0.4 < threshold < 0.8
    scores_at = retrieval_scores(np.array([1, 3, 11]))
    assert scores_at["recall@1"] == pytest.approx(1 / 3) and scores_at["mrr@10"] == pytest.approx((1 + 1 / 3) / 3)
    assert scores_at["ndcg@10"] == pytest.approx((1 + 1 / np.log2(4)) / 3)


def _pair_file(folder, name, rows):
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["Quality\t#1 ID\t#2 ID\t#1 String\t#2 String"]
    lines += [f"{label}\t{i}\t{i}\t{a}\t{b}" for i, (a, b, label) in enumerate(rows)]
    (folder / name).write_text("\n".join(lines) + "\n")


def _pairs(seed):
    from tests.conftest import sentiment_rows

    rows = [text for text, _ in sentiment_rows(40, seed=seed)]
    others = [text for text, _ in sentiment_rows(40, seed=seed + 100)]
    return [(rows[i], rows[i] + " very" if i % 2 else others[i], i % 2) for i in range(40)]


@pytest.mark.parametrize("kind", ["pairs", "retrieval"])
def test_pair_tasks_record_a_typed_result(tiny_model_dir, tmp_path, kind):
    data = tmp_path / "mrpc"
    _pair_file(data, "train.tsv", _pairs(1))
    _pair_file(data, "dev.tsv", _pairs(2))
    result = evaluate_embeddings(str(tiny_model_dir), "mrpc", kind, "mean", data=str(data))
    stored = EmbeddingEvalResult.load(result.run.path)
    assert stored.metrics == result.metrics and stored.kind == kind and stored.pooling == "mean"
    assert stored.data["sizes"] == {"train": 40, "validation": 40}
    if kind == "pairs":
        assert set(result.metrics) == {"average_precision", "accuracy", "f1"}
        assert len(result.per_example["score"]) == 40 and result.details["thresholds_chosen_on"] == "train"
        # near-duplicate pairs (one added word) score above unrelated ones even with random weights
        assert result.metrics["average_precision"] > 0.8
    else:
        assert result.details["queries"] == 20 and len(result.per_example["rank"]) == 20
        assert result.metrics["recall@10"] >= result.metrics["recall@1"] > 0


def test_probe_learns_a_linear_signal_from_a_labelled_csv(tiny_model_dir, tmp_path):
    """Texts made of disjoint word sets: a random encoder's vectors still separate them linearly."""
    import random

    from tests.conftest import NEGATIVE, POSITIVE

    def write(name, count, seed):
        rng = random.Random(seed)
        lines = ["text,label"]
        for i in range(count):
            words = POSITIVE if i % 2 else NEGATIVE
            lines.append(f"{' '.join(rng.sample(words, 3))},{'pos' if i % 2 else 'neg'}")
        (tmp_path / "own" / name).write_text("\n".join(lines) + "\n")

    (tmp_path / "own").mkdir()
    write("train.csv", 80, 1)
    write("dev.csv", 30, 2)
    result = evaluate_embeddings(str(tiny_model_dir), None, "probe", "mean", data=str(tmp_path / "own"))
    assert set(result.metrics) >= {"accuracy", "f1", "mcc"} and len(result.per_example["predicted"]) == 30
    assert result.metrics["accuracy"] >= 0.9


def test_a_single_text_task_is_refused_for_pairs(tiny_model_dir, sentiment_dir):
    with pytest.raises(BakeoffError, match="pair similarity needs a pair task"):
        evaluate_embeddings(str(tiny_model_dir), "sst2", "pairs", "mean", data=str(sentiment_dir))


def test_a_trained_run_embeds_with_its_fine_tuned_encoder_and_no_head(tiny_model_dir, sentiment_dir):
    import bakeoff

    result = bakeoff.train(model=str(tiny_model_dir), data=str(sentiment_dir), epochs=1, batch_size=16,
                           precision="fp32", quiet=True, name="to-embed")
    by_id = Embedder(result.run.id, normalize=False)
    assert by_id.source.origin == "run" and by_id.source.run_max_length == 128
    by_name = embed(["the film was good"], "bakeoff/to-embed", normalize=False)
    base = embed(["the film was good"], str(tiny_model_dir), normalize=False)
    np.testing.assert_allclose(by_id.encode(["the film was good"]), by_name, atol=1e-6)
    assert not np.allclose(by_name, base, atol=1e-4)  # the fine-tuned encoder, not the base one
    assert by_name.shape == (1, 32)  # the encoder's width, not the head's two logits
    by_folder = Embedder(result.run.path, normalize=False)  # the run folder: its checkpoint
    assert by_folder.source.origin == "run" and by_folder.source.location == by_id.source.location


def test_an_index_of_a_run_reloads_and_searches_by_the_run_name(tiny_model_dir, sentiment_dir, tmp_path):
    import bakeoff

    bakeoff.train(model=str(tiny_model_dir), data=str(sentiment_dir), epochs=1, batch_size=16,
                  precision="fp32", quiet=True, name="to-index")
    Index.build(TEXTS, model="bakeoff/to-index").save(tmp_path / "index")
    loaded = Index.load(tmp_path / "index")
    assert loaded.settings["model"]["origin"] == "run"
    hits = loaded.search(TEXTS[2], k=1, model="bakeoff/to-index")  # the same encoder: accepted
    assert hits[0][0].text == TEXTS[2]
    with pytest.raises(BakeoffError, match="the index was built with 'bakeoff/to-index'"):
        loaded.search(TEXTS[2], k=1, model=str(tiny_model_dir))  # the base encoder is another one


def test_a_run_whose_checkpoint_changed_is_refused(tiny_model_dir, sentiment_dir):
    import bakeoff

    result = bakeoff.train(model=str(tiny_model_dir), data=str(sentiment_dir), epochs=1, batch_size=16,
                           precision="fp32", quiet=True, name="tampered")
    weights = next((Path(result.run.path) / "checkpoint").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    with pytest.raises(BakeoffError, match="sha256 differs"):
        Embedder("bakeoff/tampered")


def test_the_package_root_names_the_operations_and_the_package_is_a_noun():
    import bakeoff
    import bakeoff.embedding

    assert bakeoff.embed is bakeoff.api.embed and callable(bakeoff.embed)  # a function, not the package
    assert issubclass(bakeoff.Embedder, bakeoff.embedding.Embedder)
    assert issubclass(bakeoff.Index, bakeoff.embedding.Index)
    assert bakeoff.evaluate_embeddings is bakeoff.api.evaluate_embeddings


@pytest.mark.parametrize("pooling", ["mean", "cls", "max"])
def test_onnx_runtime_embeddings_match_pytorch(tiny_model_dir, pooling):
    """The bare encoder exported to ONNX Runtime gives PyTorch's vectors, over padded and unpadded batches."""
    texts = TEXTS * 3
    reference = Embedder(str(tiny_model_dir), pooling=pooling, batch_size=4).encode(texts)
    onnx = Embedder(str(tiny_model_dir), pooling=pooling, batch_size=4, precision="onnx").encode(texts)
    assert (onnx * reference).sum(axis=1).min() > 0.99999


def test_onnx_int8_embeddings_change_a_little(tiny_model_dir):
    """int8 MatMuls move the vectors (the int8 graph is really used), never beyond recognition."""
    texts = TEXTS * 3
    reference = Embedder(str(tiny_model_dir), batch_size=4).encode(texts)
    int8 = Embedder(str(tiny_model_dir), batch_size=4, precision="onnx-int8").encode(texts)
    assert (int8 * reference).sum(axis=1).min() > 0.9 and not np.allclose(int8, reference, atol=1e-4)
