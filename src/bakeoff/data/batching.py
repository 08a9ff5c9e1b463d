"""Tokenize once, then serve batches padded only to their own longest row.

Padding is most of the FLOPs when sentences are short: SST-2's mean is 13 tokens, so padding every row to
128 multiplies the work by ten. Two measures keep it near zero: dynamic padding (a batch is as long as its
longest row) and length grouping (rows of similar length share a batch; batches are shuffled, so training
order stays random).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from bakeoff.data.dataset import TextDataset

MEGABATCH = 50  # length grouping sorts within windows of 50 batches, as Hugging Face's group_by_length does


@dataclass
class Encoded:
    """Token ids per row (unpadded), with token type ids when the model uses them."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    labels: np.ndarray
    pad_id: int

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(ids) for ids in self.input_ids), dtype=np.int64, count=len(self.input_ids))


def encode(tokenizer: Any, dataset: TextDataset, max_length: int) -> Encoded:
    """Tokenize every row once (fast tokenizer, batched, truncated to ``max_length``)."""
    kwargs = {"truncation": True, "max_length": max_length, "padding": False}
    if dataset.pairs is not None:
        out = tokenizer(dataset.texts, dataset.pairs, **kwargs)
    else:
        out = tokenizer(dataset.texts, **kwargs)
    return Encoded(
        input_ids=out["input_ids"], token_type_ids=out.get("token_type_ids"),
        labels=dataset.labels, pad_id=tokenizer.pad_token_id or 0,
    )


def collate(encoded: Encoded, rows: np.ndarray) -> dict[str, torch.Tensor]:
    """A batch tensor dict for ``rows``, padded to the longest of them."""
    width = max(len(encoded.input_ids[i]) for i in rows)
    input_ids = torch.full((len(rows), width), encoded.pad_id, dtype=torch.long)  # (batch, seq)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    token_types = torch.zeros((len(rows), width), dtype=torch.long) if encoded.token_type_ids else None
    for slot, row in enumerate(rows):
        ids = encoded.input_ids[row]
        input_ids[slot, : len(ids)] = torch.as_tensor(ids)
        attention_mask[slot, : len(ids)] = 1
        if token_types is not None:
            token_types[slot, : len(ids)] = torch.as_tensor(encoded.token_type_ids[row])
    batch = {"input_ids": input_ids, "attention_mask": attention_mask,
             "labels": torch.as_tensor(encoded.labels[rows])}  # class ids (long), scores or label sets (float)
    if token_types is not None:
        batch["token_type_ids"] = token_types
    return batch


def length_grouped_batches(lengths: np.ndarray, batch_size: int, seed: int) -> list[np.ndarray]:
    """Shuffled batches of rows of similar length; every row exactly once; the same for the same seed.

    >>> batches = length_grouped_batches(np.array([5, 1, 5, 1]), batch_size=2, seed=0)
    >>> sorted(sorted(np.array([5, 1, 5, 1])[b].tolist()) for b in batches)
    [[1, 1], [5, 5]]
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    window = batch_size * MEGABATCH
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def sorted_batches(lengths: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Batches for inference: rows sorted by length (least padding); callers restore the order."""
    order = np.argsort(-lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]
