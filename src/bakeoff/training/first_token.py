"""Run the last encoder layer for the first position only, when the classification head reads nothing else.

Why: a sequence classifier on a BERT-style encoder (BERT, RoBERTa, ELECTRA, MiniLM, ...) reads only position 0
([CLS] / <s>) of the last layer's output. That position attends to the keys and values of every token, but its
query, attention output, feed-forward block and LayerNorms are per position: the other rows of the last layer
are computed and back-propagated for nothing. On MiniLM-L6 that is 1/7 of a step's matmul FLOPs.

It is the same function: same weights, same logits up to float rounding, and dropout on the rows left out
never reached the loss. Only the layer's ``forward`` is replaced, for the duration of the context, so the
module tree and the state dict are untouched and the saved checkpoint is a plain Hugging Face model.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from bakeoff.models import encoder_layers

# heads that classify from position 0 of the last hidden state (BERT's pooler, RoBERTa's and ELECTRA's heads)
READS_FIRST_TOKEN = frozenset({
    "BertForSequenceClassification", "RobertaForSequenceClassification", "XLMRobertaForSequenceClassification",
    "CamembertForSequenceClassification", "ElectraForSequenceClassification",
})


@contextlib.contextmanager
def first_token_last_layer(model: nn.Module) -> Iterator[bool]:
    """Within the context, the last encoder layer computes position 0 only; yields whether it applies.

    >>> from transformers import DistilBertConfig, DistilBertForSequenceClassification
    >>> tiny = DistilBertConfig(vocab_size=20, dim=8, n_layers=1, n_heads=2, hidden_dim=16)
    >>> with first_token_last_layer(DistilBertForSequenceClassification(tiny)) as active:
    ...     active
    False
    """
    layer = _last_layer_if_supported(model)
    if layer is None:
        yield False
        return
    layer.forward = types.MethodType(_first_position_forward, layer)
    try:
        yield True
    finally:
        del layer.forward  # back to the class's own forward


def _last_layer_if_supported(model: nn.Module) -> nn.Module | None:
    config = getattr(model, "config", None)
    if type(model).__name__ not in READS_FIRST_TOKEN or config is None:
        return None
    if getattr(config, "_attn_implementation", None) not in ("eager", "sdpa") or config.is_decoder:
        return None
    import transformers

    if int(transformers.__version__.split(".")[0]) < 5:  # 4.x layers return tuples and take other arguments
        return None
    layer = encoder_layers(model)[-1]
    attention = getattr(getattr(layer, "attention", None), "self", None)
    needed = ("query", "key", "value", "dropout", "scaling", "attention_head_size")
    if not all(hasattr(attention, name) for name in needed):
        return None
    if not hasattr(layer, "feed_forward_chunk") or not hasattr(layer.attention, "output"):
        return None
    return layer


def _first_position_forward(self: nn.Module, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None,
                            *args: Any, **kwargs: Any) -> torch.Tensor:
    """A BERT layer's forward with one query row: returns (batch, 1, hidden)."""
    attention = self.attention.self
    batch, length, _ = hidden_states.shape
    size = attention.attention_head_size
    first = hidden_states[:, :1]  # (batch, 1, hidden)
    query = attention.query(first).view(batch, 1, -1, size).transpose(1, 2)  # (batch, heads, 1, size)
    key = attention.key(hidden_states).view(batch, length, -1, size).transpose(1, 2)  # (batch, heads, length, size)
    value = attention.value(hidden_states).view(batch, length, -1, size).transpose(1, 2)
    if attention_mask is not None and attention_mask.dim() == 4 and attention_mask.shape[-2] > 1:
        attention_mask = attention_mask[:, :, :1]  # the first query's row of a (batch, 1, length, length) mask
    # SDPA takes both Hugging Face mask forms: additive floats (eager) and booleans, True = attend (sdpa)
    context = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask,
                                             dropout_p=attention.dropout.p if self.training else 0.0,
                                             scale=attention.scaling)  # (batch, heads, 1, size)
    context = context.transpose(1, 2).reshape(batch, 1, -1)  # (batch, 1, hidden)
    attention_output = self.attention.output(context, first)  # dense -> dropout -> LayerNorm(+ residual)
    return self.feed_forward_chunk(attention_output)  # (batch, 1, hidden)
