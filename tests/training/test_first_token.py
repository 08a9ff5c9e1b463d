from __future__ import annotations

import pytest
import torch

from bakeoff.models import encoder_layers
from bakeoff.training.first_token import first_token_last_layer

SIZES = dict(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
             max_position_embeddings=64, num_labels=3)


def _model(family: str, attention: str, dropout: float = 0.0) -> torch.nn.Module:
    import transformers

    config_class = getattr(transformers, f"{family}Config")
    model_class = getattr(transformers, f"{family}ForSequenceClassification")
    torch.manual_seed(0)
    config = config_class(**SIZES, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
                          attn_implementation=attention)
    return model_class(config)


def _batch() -> dict[str, torch.Tensor]:
    """Three rows of different lengths, padded: the mask matters."""
    input_ids = torch.tensor([[2, 11, 12, 13, 14, 3], [2, 21, 22, 3, 0, 0], [2, 31, 3, 0, 0, 0]])
    return {"input_ids": input_ids, "attention_mask": (input_ids != 0).long(), "labels": torch.tensor([0, 2, 1])}


@pytest.mark.parametrize("family", ["Bert", "Roberta", "Electra"])
@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_same_logits_and_gradients_as_the_full_layer(family, attention):
    model = _model(family, attention)
    model.train()  # dropout is 0, so train mode is deterministic and exercises the training path
    expected = model(**_batch())
    expected.loss.backward()
    expected_grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()

    with first_token_last_layer(model) as active:
        got = model(**_batch())
        got.loss.backward()
    assert active
    torch.testing.assert_close(got.logits, expected.logits, rtol=1e-5, atol=1e-5)
    grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    assert grads.keys() == expected_grads.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(grad, expected_grads[name], rtol=1e-4, atol=1e-6, msg=name)


def test_the_last_layer_computes_one_row_and_is_restored_after():
    model = _model("Bert", "sdpa", dropout=0.1)
    feed_forward = encoder_layers(model)[-1].intermediate.dense
    rows_seen = []
    feed_forward.register_forward_hook(lambda module, inputs, output: rows_seen.append(inputs[0].shape[1]))
    with first_token_last_layer(model):
        model(**_batch())
    model(**_batch())
    assert rows_seen == [1, 6]  # one position inside the context, every position after it
    assert "forward" not in vars(encoder_layers(model)[-1])


def test_models_whose_head_reads_other_positions_are_left_alone():
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    model = DistilBertForSequenceClassification(DistilBertConfig(vocab_size=50, dim=32, n_layers=2, n_heads=4,
                                                                 hidden_dim=48))
    with first_token_last_layer(model) as active:
        logits = model(**{k: v for k, v in _batch().items() if k != "labels"}).logits
    assert not active and logits.shape == (3, 2)
