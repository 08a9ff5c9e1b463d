from __future__ import annotations

import numpy as np

from bakeoff.data.batching import (
    collate,
    encode,
    length_grouped_batches,
    sorted_batches,
)
from bakeoff.data.dataset import TextDataset


def test_length_grouped_batches_cover_every_row_once_and_group_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 100, size=1000)
    batches = length_grouped_batches(lengths, batch_size=10, seed=1)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(1000))
    padding = sum(int(lengths[b].max()) * len(b) - int(lengths[b].sum()) for b in batches)
    random_padding = sum(int(lengths[b].max()) * len(b) - int(lengths[b].sum())
                         for b in np.array_split(rng.permutation(1000), 100))
    assert padding < random_padding / 5
    assert [b.tolist() for b in batches] == [b.tolist() for b in length_grouped_batches(lengths, 10, seed=1)]
    assert [b.tolist() for b in batches] != [b.tolist() for b in length_grouped_batches(lengths, 10, seed=2)]


def test_collate_pads_to_the_longest_row_only(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    data = TextDataset(["good", "the film was good"], np.array([1, 0]), pairs=["bad", "dull"])
    encoded = encode(tokenizer, data, max_length=64)
    batch = collate(encoded, np.array([0, 1]))
    # [CLS] good [SEP] bad [SEP] = 5 tokens; [CLS] the film was good [SEP] dull [SEP] = 8
    assert batch["input_ids"].shape == (2, 8)
    assert batch["attention_mask"].sum(dim=1).tolist() == [5, 8]
    assert batch["input_ids"][0, 5:].tolist() == [tokenizer.pad_token_id] * 3
    assert batch["token_type_ids"][1].tolist() == [0, 0, 0, 0, 0, 0, 1, 1]
    assert batch["labels"].tolist() == [1, 0]


def test_truncation_to_max_length(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    encoded = encode(tokenizer, TextDataset(["the " * 50], np.array([0])), max_length=16)
    assert len(encoded.input_ids[0]) == 16


def test_sorted_batches_are_longest_first():
    order = np.concatenate(list(sorted_batches(np.array([3, 9, 1, 5]), batch_size=2)))
    assert order.tolist() == [1, 3, 0, 2]
