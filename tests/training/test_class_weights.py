"""--class-weights: resolved against the training rows, refused when wrong, and the weighted loss they give."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bakeoff.config import TrainConfig, config_digest
from bakeoff.config.options import OptionError
from bakeoff.training.class_weights import model_loss, resolve_class_weights, weighted_loss


def test_balanced_weights_follow_scikit_learns_rule():
    utils = pytest.importorskip("sklearn.utils.class_weight")
    labels = np.array([0] * 30 + [1] * 6 + [2] * 4)
    expected = utils.compute_class_weight("balanced", classes=np.arange(3), y=labels)
    assert resolve_class_weights("balanced", labels, ["a", "b", "c"]) == pytest.approx(expected.tolist())
    assert resolve_class_weights("1,2.5,0", labels, ["a", "b", "c"]) == [1.0, 2.5, 0.0]
    assert resolve_class_weights(None, labels, ["a", "b", "c"]) is None


@pytest.mark.parametrize("value, names, message", [
    ("1,2,3", ["neg", "pos"], "--class-weights has 3 weights but the task has 2 classes (neg, pos)"),
    ("balanced", ["a", "b", "c"], "--class-weights balanced: class 'c' has no training rows"),
])
def test_weights_that_do_not_fit_the_task_are_one_line(value, names, message):
    with pytest.raises(OptionError) as caught:
        resolve_class_weights(value, np.array([0, 1, 0, 1]), names)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("value", ["-1,1", "0,0", "heavy", "1,,x"])
def test_badly_spelled_weights_are_refused_by_the_config(value):
    with pytest.raises(OptionError, match="--class-weights .* is not balanced, none or non-negative numbers"):
        TrainConfig(class_weights=value).validate()


def test_none_means_unweighted_and_new_options_at_default_keep_old_ids():
    assert TrainConfig(class_weights="none").validate().class_weights is None
    old = {k: v for k, v in TrainConfig().to_dict().items()
           if k not in ("class_weights", "threshold", "threshold_metric", "calibrate", "truncation", "long_text",
                        "stride")}
    assert config_digest(old) == config_digest(TrainConfig().to_dict())
    assert config_digest(TrainConfig(calibrate=True).to_dict()) != config_digest(TrainConfig().to_dict())


def test_the_weighted_loss_is_the_weighted_cross_entropy(tiny_model_dir):
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=2).eval()
    batch = {"input_ids": torch.tensor([[2, 5, 3], [2, 14, 3], [2, 6, 3]]),
             "attention_mask": torch.ones(3, 3, dtype=torch.long), "labels": torch.tensor([0, 1, 1])}
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    per_row = torch.nn.functional.cross_entropy(logits, batch["labels"], reduction="none")
    assert weighted_loss(None, torch.device("cpu")) is model_loss
    only_first = weighted_loss([1.0, 0.0], torch.device("cpu"))(model, batch)
    assert only_first.item() == pytest.approx(per_row[0].item(), rel=1e-5)  # class 1 rows weigh nothing
    both = weighted_loss([1.0, 3.0], torch.device("cpu"))(model, batch)
    assert both.item() == pytest.approx(((per_row[0] + 3 * per_row[1:].sum()) / 7).item(), rel=1e-5)


def test_a_study_files_numbers_read_as_the_command_lines_text():
    assert TrainConfig(threshold=0.3).validate().threshold == "0.3"  # YAML's `threshold: 0.3`
    with pytest.raises(OptionError, match="--threshold '3' is not auto or a probability"):
        TrainConfig(threshold=3).validate()
