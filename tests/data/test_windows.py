"""Long texts: which tokens a truncation keeps, the windows of --long-text chunks, and pooling their logits."""

from __future__ import annotations

import numpy as np
import pytest

from bakeoff.data import TextDataset
from bakeoff.data.windows import Windows, encode_for, window_spans
from bakeoff.errors import BakeoffError
from bakeoff.eval.windows import pool_mean, predict_rows


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


WORDS = "good the film was really a plot and acting very story quite this bad".split()


def _dataset(texts):
    return TextDataset(list(texts), np.arange(len(texts)) % 2)


def _words(tokenizer, ids):
    return tokenizer.convert_ids_to_tokens(ids)


def test_window_spans_cover_every_token_with_the_stride_shared():
    for tokens, budget, stride in [(10, 4, 1), (100, 16, 5), (17, 16, 0), (3, 16, 4)]:
        spans = window_spans(tokens, budget, stride)
        covered = set().union(*(range(a, b) for a, b in spans))
        assert covered == set(range(tokens)) and all(b - a <= budget for a, b in spans)
        assert all(b1 - a2 >= stride for (_, b1), (a2, _) in zip(spans, spans[1:])) or len(spans) == 1


def test_head_tail_and_head_plus_tail_keep_the_right_tokens(tokenizer):
    text = " ".join(WORDS)  # 14 words, one token each
    head, tail, both = (encode_for(tokenizer, _dataset([text]), 10, truncation)
                        for truncation in ("head", "tail", "head+tail"))
    assert _words(tokenizer, head.input_ids[0]) == ["[CLS]", *WORDS[:8], "[SEP]"]
    assert _words(tokenizer, tail.input_ids[0]) == ["[CLS]", *WORDS[-8:], "[SEP]"]
    assert _words(tokenizer, both.input_ids[0]) == ["[CLS]", *WORDS[:2], *WORDS[-6:], "[SEP]"]  # a quarter head
    short = encode_for(tokenizer, _dataset(["good film"]), 10, "head+tail")
    assert _words(tokenizer, short.input_ids[0]) == ["[CLS]", "good", "film", "[SEP]"]


def test_chunks_make_every_window_and_remember_their_row(tokenizer):
    texts = [" ".join(WORDS), "good film"]
    windows = encode_for(tokenizer, _dataset(texts), 10, "head", "chunks", stride=2)
    assert isinstance(windows, Windows) and len(windows) == 2
    assert windows.owner.tolist() == [0, 0, 1]  # 14 tokens in windows of 8 sharing 2: [0, 8), [6, 14)
    assert _words(tokenizer, windows.encoded.input_ids[0]) == ["[CLS]", *WORDS[:8], "[SEP]"]
    assert _words(tokenizer, windows.encoded.input_ids[1]) == ["[CLS]", *WORDS[6:], "[SEP]"]
    assert windows.lengths.tolist() == [16, 4] and windows.labels.tolist() == [0, 1]


def test_pairs_are_refused_for_anything_but_head_cut(tokenizer):
    pairs = TextDataset(["a b"], np.array([0]), pairs=["c d"])
    with pytest.raises(BakeoffError, match="--truncation tail applies to single texts"):
        encode_for(tokenizer, pairs, 10, "tail")
    with pytest.raises(BakeoffError, match="--long-text chunks applies to single texts"):
        encode_for(tokenizer, pairs, 10, "head", "chunks")


def test_a_rows_logits_are_the_mean_of_its_windows(tokenizer, tiny_model_dir):
    from transformers import AutoModelForSequenceClassification

    from bakeoff.eval.predict import predict_with
    from bakeoff.models.forward import torch_forward

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2)
    forward = torch_forward(model, "fp32", __import__("torch").device("cpu"))
    windows = encode_for(tokenizer, _dataset([" ".join(WORDS * 2), "good film"]), 10, "head", "chunks", stride=3)
    pooled = predict_rows(forward, windows, 4, 2).logits
    each = predict_with(forward, windows.encoded, 4, 2).logits
    assert pooled.shape == (2, 2)
    assert np.allclose(pooled[0], each[windows.owner == 0].mean(axis=0), atol=1e-5)
    assert np.allclose(pooled[1], each[windows.owner == 1][0], atol=1e-5)
    assert pool_mean(np.array([[2.0, 0.0]]), np.array([0]), 1).tolist() == [[2.0, 0.0]]
