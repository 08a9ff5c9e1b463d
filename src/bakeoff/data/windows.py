"""Texts longer than ``max_length``: which tokens a model reads (``--truncation``), or every window of them
(``--long-text chunks``).

- ``head`` keeps the first tokens (the tokenizer's own truncation), ``tail`` the last, ``head+tail`` a quarter of
  the budget from the start and the rest from the end (Sun et al. 2019, "How to Fine-Tune BERT for Text
  Classification?", found 128 head + 382 tail tokens best on IMDB).
- ``chunks`` cuts a text into windows of the budget, neighbours sharing ``stride`` tokens (by default a quarter);
  the model scores every window and a row's logits are the mean of its windows' logits (``eval/windows.py``).
  Training still reads one window per row (as ``--truncation`` says): a review's label belongs to the whole text,
  not to each window, so windows far from the opinion would be trained on a label they do not show; and training
  cost stays that of every other run, so chunked evaluation compares like with like.

Pieces are cut from the text's own token ids and wrapped in the model's special tokens as its tokenizer places them
around a one-word text (``_template``), so a window holds exactly the tokens the whole text has there, for any
tokenizer whose single-text template is "special tokens, the text, special tokens".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bakeoff.data.batching import Encoded, encode
from bakeoff.data.dataset import TextDataset
from bakeoff.errors import BakeoffError

HEAD_SHARE = 0.25  # head+tail: the share of the budget taken from the start (128 of 510 in Sun et al.)


@dataclass
class Windows:
    """Rows cut into windows: ``encoded`` has one entry per window, ``owner`` the row of each window."""

    encoded: Encoded
    owner: np.ndarray  # (windows,) int64
    labels: np.ndarray  # (rows,)
    row_lengths: np.ndarray  # (rows,) tokens of each whole text, special tokens included

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def lengths(self) -> np.ndarray:
        return self.row_lengths


def plain(encoded: Encoded | Windows) -> Encoded:
    """What a speed measurement runs: the windows themselves, or the rows as they are."""
    return encoded.encoded if isinstance(encoded, Windows) else encoded


def check_long_text(pair: bool, truncation: str, long_text: str) -> None:
    """Refuse tail/head+tail truncation and chunks on sentence pairs: which text's tokens to drop is not defined
    by either method, and pairs (GLUE's) are short."""
    if pair and truncation != "head":
        raise BakeoffError(f"--truncation {truncation} applies to single texts; this task reads sentence pairs: "
                           "leave --truncation at head")
    if pair and long_text != "cut":
        raise BakeoffError(f"--long-text {long_text} applies to single texts; this task reads sentence pairs: "
                           "leave --long-text at cut")


def encode_for(tokenizer: Any, dataset: TextDataset, max_length: int, truncation: str = "head",
               long_text: str = "cut", stride: int | None = None) -> Encoded | Windows:
    """``dataset`` tokenized for the model: one window per row (``cut``, kept as ``truncation`` says), or every
    window (``chunks``; ``stride`` None: neighbours share a quarter of a window)."""
    check_long_text(dataset.pairs is not None, truncation, long_text)
    if truncation == "head" and long_text == "cut":
        return encode(tokenizer, dataset, max_length)
    prefix, suffix, token_types = _template(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    tokens = _tokens(tokenizer, dataset.texts)
    row_lengths = np.array([len(ids) + len(prefix) + len(suffix) for ids in tokens], dtype=np.int64)
    if long_text == "cut":
        pieces, owners = [_kept(ids, budget, truncation) for ids in tokens], None
    else:
        stride = budget // 4 if stride is None else stride
        if stride >= budget:
            raise BakeoffError(f"--stride {stride} must be below the tokens a window holds ({budget}): lower "
                               "--stride")
        pieces, owner = [], []
        for row, ids in enumerate(tokens):
            for first, last in window_spans(len(ids), budget, stride):
                pieces.append(ids[first:last])
                owner.append(row)
        owners = np.array(owner, dtype=np.int64)
    input_ids = [prefix + piece + suffix for piece in pieces]
    encoded = Encoded(input_ids=input_ids, token_type_ids=[[0] * len(ids) for ids in input_ids] if token_types
                      else None, labels=dataset.labels if owners is None else dataset.labels[owners],
                      pad_id=tokenizer.pad_token_id or 0)
    return encoded if owners is None else Windows(encoded, owners, dataset.labels, row_lengths)


def window_spans(tokens: int, budget: int, stride: int) -> list[tuple[int, int]]:
    """Token ranges [first, last) of the windows over ``tokens``: ``budget`` long, ``stride`` shared.

    >>> window_spans(10, 4, 1)
    [(0, 4), (3, 7), (6, 10)]
    """
    if tokens <= budget:
        return [(0, tokens)]
    step = budget - stride
    starts = list(range(0, tokens - budget, step)) + [tokens - budget]  # the last window ends at the text's end
    return [(start, start + budget) for start in dict.fromkeys(starts)]


def _kept(ids: list[int], budget: int, truncation: str) -> list[int]:
    """The tokens the truncation keeps (all of them when they fit)."""
    if len(ids) <= budget:
        return ids
    if truncation == "tail":
        return ids[-budget:]
    head = int(budget * HEAD_SHARE)
    return ids[:head] + ids[len(ids) - (budget - head):]


def _template(tokenizer: Any) -> tuple[list[int], list[int], bool]:
    """The model's special tokens around one text (``[CLS] x [SEP]``, ``<s> x </s>``, ...), read off its own
    encoding of a one-word text; and whether it returns token type ids."""
    whole = tokenizer("a")
    inner = tokenizer("a", add_special_tokens=False)["input_ids"]
    ids = list(whole["input_ids"])
    for start in range(len(ids) - len(inner) + 1):
        if ids[start : start + len(inner)] == list(inner):
            return ids[:start], ids[start + len(inner) :], "token_type_ids" in whole
    raise BakeoffError("--truncation tail/head+tail and --long-text chunks: this tokenizer's special tokens could "
                       "not be told apart from a text's own: use --truncation head --long-text cut")


def _tokens(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    """Every token of each text, without special tokens and without truncation."""
    from transformers.utils import logging

    level = logging.get_verbosity()
    logging.set_verbosity_error()  # "sequence length is longer than the maximum": the windows cut it here
    try:
        return [list(ids) for ids in tokenizer(texts, add_special_tokens=False, truncation=False)["input_ids"]]
    finally:
        logging.set_verbosity(level)
