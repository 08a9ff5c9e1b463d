"""The same few training steps in any precision on any device, for the "same loss as fp32" checks.

Used on the CPU (fp32 against bf16 and fp16 with the GradScaler, ``tests/training/test_mixed_precision.py``) and
on a GPU (``tests/gpu/test_cuda.py``), so both run the one loop, ``bakeoff.training.fit``, on the same rows.
Dropout is off (in a copy of the model folder), so the only difference between two precisions is rounding.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch

from tests.conftest import sentiment_rows

STEPS = 12
LEARNING_RATE = 3e-2  # high for a real model, and meant to be: every step moves the tiny BERT's loss visibly
# The largest gap between two precisions' losses at the same step. Measured on the CPU (AVX-512 BF16): bf16 vs
# fp32 0.0012, fp16 with the GradScaler vs fp32 0.00015; a run whose updates are lost (learning rate 0) is 0.29
# off fp32's at some step, so a path that skips or garbles updates cannot pass.
LOSS_TOLERANCE = 0.02


def without_dropout(model_dir: Path, folder: Path) -> Path:
    """A copy of a model folder whose config turns dropout off."""
    if not folder.exists():
        shutil.copytree(model_dir, folder)
        config = json.loads((folder / "config.json").read_text())
        config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
        (folder / "config.json").write_text(json.dumps(config))
    return folder


def step_losses(model_dir: Path, device: str, precision: str, steps: int = STEPS,
                learning_rate: float = LEARNING_RATE) -> list[float]:
    """Training loss at each of ``steps`` steps of ``fit`` (batch 16, seed 0) in ``precision`` on ``device``."""
    from bakeoff.config import TrainConfig
    from bakeoff.data import TextDataset
    from bakeoff.data.batching import encode
    from bakeoff.eval import EvalResult, evaluate_predictions
    from bakeoff.eval.predict import predict_logits
    from bakeoff.models import load_for_classification, load_tokenizer, resolve_model
    from bakeoff.runtime import seed_everything
    from bakeoff.training import fit
    from bakeoff.training.display import SilentDisplay

    rows = sentiment_rows(16 * steps, seed=3)
    source = resolve_model(str(model_dir))
    seed_everything(0)
    model = load_for_classification(source, ["0", "1"]).to(device)
    encoded = encode(load_tokenizer(source), TextDataset([t for t, _ in rows], np.array([y for _, y in rows])), 64)
    config = TrainConfig(model=str(model_dir), batch_size=16, max_steps=steps, learning_rate=learning_rate,
                         warmup_ratio=0.0, seed=0)
    losses: list[float] = []

    def log(metric: str, **fields: float) -> None:
        if metric == "train/loss":
            losses.append(float(fields["value"]))

    def evaluate(module: torch.nn.Module) -> EvalResult:  # fit evaluates once, after the last step
        predictions = predict_logits(module, encoded, 64, precision, torch.device(device))
        return evaluate_predictions("train", predictions, encoded.labels, ["0", "1"], "accuracy")

    fit(model, encoded, config, evaluate=evaluate, select_by="accuracy", precision=precision,
        device=torch.device(device), log=log, display=SilentDisplay())
    return losses


def largest_gap(losses: list[float], reference: list[float]) -> float:
    """The largest |loss - reference loss| over the steps."""
    return float(np.abs(np.array(losses) - np.array(reference)).max())
