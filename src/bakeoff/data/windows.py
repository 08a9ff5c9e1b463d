"""Texts longer than ``max_length``: which tokens a model reads (``--truncation``), or every window of them
(``--long-text chunks``).

- ``head`` keeps the first tokens (the tokenizer's own truncation), ``tail`` the last, ``head+tail`` a quarter of
  the budget from the start and the rest from the end (Sun et al. 2019, "How to Fine-Tune BERT for Text
  Classification?", found 128 head + 382 tail tokens best on IMDB).
- ``chunks`` cuts a text into windows of the budget, neighbours sharing ``stride`` tokens (by default a quarter); the model scores every
  window and a row's logits are the mean of its windows' logits (``eval/windows.py``). Training still reads one
  window per row (as ``--truncation`` says): a review's label belongs to the whole text, not to each window, so
  windows far from the opinion would be trained on a label they do not show; and training cost stays that of
  every other run, so chunked evaluation compares like with like.

Pieces are cut at token boundaries of the text (the fast tokenizer's character offsets) and tokenized again with
the model's own special tokens, so every tokenizer that has offsets works, whatever its special tokens are.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def encode_for(tokenizer: object, dataset: TextDataset, max_length: int, truncation: str = "head",
               long_text: str = "cut", stride: int | None = None) -> Encoded | Windows:
    """``dataset`` tokenized for the model: one window per row (``cut``, kept as ``truncation`` says), or every
    window (``chunks``; ``stride`` None: neighbours share a quarter of a window)."""
    check_long_text(dataset.pairs is not None, truncation, long_text)
    if truncation == "head" and long_text == "cut":
        return encode(tokenizer, dataset, max_length)
    budget = max_length - tokenizer.num_special_tokens_to_add(pair=False)  # type: ignore[attr-defined]
    offsets = _token_offsets(tokenizer, dataset.texts)
    row_lengths = np.array([len(spans) + max_length - budget for spans in offsets], dtype=np.int64)
    if long_text == "cut":
        texts = [_kept(text, spans, budget, truncation) for text, spans in zip(dataset.texts, offsets, strict=True)]
        return encode(tokenizer, TextDataset(texts, dataset.labels, None, dataset.source), max_length)
    stride = budget // 4 if stride is None else stride
    if stride >= budget:
        raise BakeoffError(f"--stride {stride} must be below the tokens a window holds ({budget}): lower --stride")
    pieces, owner = [], []
    for row, (text, spans) in enumerate(zip(dataset.texts, offsets, strict=True)):
        for first, last in window_spans(len(spans), budget, stride):
            pieces.append(text[spans[first][0] : spans[last - 1][1]] if last > first else text)
            owner.append(row)
    owners = np.array(owner, dtype=np.int64)
    windows = encode(tokenizer, TextDataset(pieces, dataset.labels[owners], None, dataset.source), max_length)
    return Windows(windows, owners, dataset.labels, row_lengths)


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


def _kept(text: str, spans: list[tuple[int, int]], budget: int, truncation: str) -> str:
    """The part of ``text`` whose tokens the truncation keeps (the whole text when it fits)."""
    if len(spans) <= budget:
        return text
    if truncation == "tail":
        return text[spans[-budget][0] :]
    head = int(budget * HEAD_SHARE)
    tail = budget - head
    return text[: spans[head - 1][1]] + " " + text[spans[-tail][0] :]


def _token_offsets(tokenizer: object, texts: list[str]) -> list[list[tuple[int, int]]]:
    """Character spans of every token of each text (no special tokens, no truncation)."""
    from transformers.utils import logging

    level = logging.get_verbosity()
    logging.set_verbosity_error()  # "sequence length is longer than the maximum": we cut it ourselves
    try:
        out = tokenizer(texts, add_special_tokens=False, truncation=False,  # type: ignore[operator]
                        return_offsets_mapping=True)
    except NotImplementedError:
        raise BakeoffError("--truncation tail/head+tail and --long-text chunks need a fast tokenizer (with "
                           "character offsets): this model's tokenizer has none") from None
    finally:
        logging.set_verbosity(level)
    return [[tuple(span) for span in spans] for spans in out["offset_mapping"]]
