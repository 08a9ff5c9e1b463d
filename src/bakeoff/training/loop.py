"""The fine-tuning loop, top to bottom: batch -> forward -> loss -> backward -> clip -> step -> schedule -> log
-> maybe evaluate / keep the best / stop early.

It knows nothing of files, runs or the terminal: what it measures goes to ``log`` and ``display``.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from bakeoff.config import TrainConfig
from bakeoff.data.batching import Encoded, collate, length_grouped_batches
from bakeoff.errors import BakeoffError
from bakeoff.eval.results import EvalResult
from bakeoff.metrics import is_better
from bakeoff.runtime import autocast
from bakeoff.training.class_weights import LossOf, model_loss, weighted_loss
from bakeoff.training.distributed import SINGLE, World
from bakeoff.training.dropout import fast_dropout
from bakeoff.training.first_token import first_token_last_layer
from bakeoff.training.optim import build_optimizers, clip_gradients, linear_warmup_decay

Evaluate = Callable[[nn.Module], EvalResult]
Log = Callable[..., None]  # log(metric_name, **fields)
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (logits, labels) -> mean loss: the problem type's


class TrainingDiverged(BakeoffError):
    """The loss became NaN or infinite."""


class TrainingDisplay(Protocol):
    """What a run shows while it trains (``training/display.py``): a bar, or nothing."""

    def start(self, total_steps: int, total_samples: int) -> None: ...
    def advance(self, step: int, loss: float, samples_per_second: float) -> None: ...
    def evaluated(self, step: int, result: EvalResult, improved: bool) -> None: ...
    def stop(self) -> None: ...


@dataclass
class FitOutcome:
    """How training went; the model holds the best weights seen (or the last, without evaluation)."""

    steps: int = 0
    epochs_completed: float = 0.0
    seconds: float = 0.0
    samples: int = 0
    tokens: int = 0
    best_value: float | None = None
    best_step: int | None = None
    best_epoch: float | None = None
    stopped_early: bool = False
    interrupted: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    oom_fallbacks: list[dict[str, int]] = field(default_factory=list)
    shortcuts: dict[str, Any] = field(default_factory=dict)  # the same-function speed-ups that applied


def fit(model: nn.Module, train: Encoded, config: TrainConfig, *, evaluate: Evaluate, select_by: str,
        precision: str, device: torch.device, log: Log, display: TrainingDisplay,
        world: World = SINGLE, loss: Loss | None = None, class_weights: list[float] | None = None) -> FitOutcome:
    """Fine-tune ``model`` on ``train``; evaluate each epoch (or every ``config.eval_steps``) and keep the best.

    ``loss`` is the problem type's (``bakeoff.problems``: cross-entropy, MSE, binary cross-entropy); without it,
    the model's own (transformers picks it from ``config.problem_type``).

    With a ``world`` of several processes, each takes its shard of every batch and only rank 0 evaluates
    (training/distributed.py says how the result stays that of one process). ``class_weights``: one loss weight
    per class (training/class_weights.py, single-label only): given, the weighted cross-entropy replaces ``loss``.
    """
    batches_per_epoch = math.ceil(len(train) / config.batch_size)
    steps_per_epoch = math.ceil(batches_per_epoch / config.gradient_accumulation_steps)
    total_steps = config.max_steps or max(1, math.ceil(steps_per_epoch * config.epochs))
    optimizers = build_optimizers(model, config.learning_rate, config.weight_decay, config.sparse_embeddings)
    schedulers = [linear_warmup_decay(o, int(config.warmup_ratio * total_steps), total_steps) for o in optimizers]
    # fp16 (CUDA without bf16) needs loss scaling; for bf16 and fp32 the scaler is a pass-through
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    loss_of = weighted_loss(class_weights, device) if class_weights is not None or loss is None else _problem_loss(loss)
    outcome = FitOutcome()
    keeper = _BestKeeper(select_by, config.early_stopping_patience)
    micro_splits = 1  # each batch runs as this many micro-batches; doubled on out-of-memory
    lengths = train.lengths
    display.start(total_steps, total_steps * config.batch_size * config.gradient_accumulation_steps)
    model.train()
    world.start(model, config.seed)
    # same function, less work: the last layer for [CLS] only, dropout masks from a fast generator (their
    # modules say why); both undo themselves on exit, so evaluation in between and the saved model are plain
    shortcuts = contextlib.ExitStack()
    dropout_seed = world.dropout_seed(config.seed)  # the run's seed, except in ranks > 0 of several processes
    outcome.shortcuts = {"first_token_last_layer": shortcuts.enter_context(first_token_last_layer(model)),
                         "fast_dropout_modules": shortcuts.enter_context(fast_dropout(model, dropout_seed))}
    start, eval_seconds = time.perf_counter(), 0.0
    try:
        epoch = 0
        while outcome.steps < total_steps and not outcome.stopped_early:
            batches = length_grouped_batches(lengths, config.batch_size, seed=config.seed + epoch)
            for first in range(0, len(batches), config.gradient_accumulation_steps):
                group = batches[first : first + config.gradient_accumulation_steps]
                step_loss, micro_splits = _accumulate_gradients(model, train, group, micro_splits, precision,
                                                                device, scaler, outcome.oom_fallbacks, outcome.steps,
                                                                world, loss_of)
                if not math.isfinite(step_loss) and not scaler.is_enabled():  # fp16 skips such steps by itself
                    raise TrainingDiverged(f"training diverged: the loss is {step_loss} at step {outcome.steps + 1}: "
                                           "lower --learning-rate or use --precision fp32")
                _clip_and_step(model, optimizers, schedulers, scaler, config.max_grad_norm)

                outcome.steps += 1
                rows = np.concatenate(group)
                outcome.samples += len(rows)
                outcome.tokens += int(lengths[rows].sum())
                outcome.epochs_completed = round(outcome.steps / steps_per_epoch, 4)
                log("train/loss", value=step_loss, step=outcome.steps, epoch=outcome.epochs_completed)
                log("train/learning_rate", value=schedulers[0].get_last_lr()[0], step=outcome.steps)
                training_seconds = time.perf_counter() - start - eval_seconds
                display.advance(outcome.steps, step_loss, outcome.samples / training_seconds)

                end_of_epoch = first + config.gradient_accumulation_steps >= len(batches)
                due = (outcome.steps % config.eval_steps == 0) if config.eval_steps else end_of_epoch
                if due or outcome.steps == total_steps:  # evaluation time is not training time
                    if world.is_main:
                        eval_seconds += _evaluate(model, evaluate, keeper, outcome, log, display)
                    outcome.stopped_early = world.from_main(outcome.stopped_early)
                if outcome.steps >= total_steps or outcome.stopped_early:
                    break
            epoch += 1
    except KeyboardInterrupt:
        outcome.interrupted = True  # Ctrl-C: keep what was learned; the caller saves and marks the run
    finally:
        outcome.seconds = time.perf_counter() - start - eval_seconds
        display.stop()
        shortcuts.close()
        embedding = model.get_input_embeddings()
        if isinstance(embedding, nn.Embedding):
            embedding.sparse = False  # sparse gradients are a training detail; the saved model is plain
    keeper.restore(model)
    return outcome


def _clip_and_step(model: nn.Module, optimizers: list[torch.optim.Optimizer], schedulers: list[Any],
                   scaler: torch.amp.GradScaler, max_grad_norm: float) -> None:
    """clip -> step -> schedule -> zero the gradients."""
    for optimizer in optimizers:
        scaler.unscale_(optimizer)
    clip_gradients(model.parameters(), max_grad_norm)
    for optimizer, scheduler in zip(optimizers, schedulers, strict=True):
        scaler.step(optimizer)
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
    scaler.update()


def _evaluate(model: nn.Module, evaluate: Evaluate, keeper: _BestKeeper, outcome: FitOutcome, log: Log,
              display: TrainingDisplay) -> float:
    """Evaluate, keep the weights if best, log; returns the seconds it took."""
    start = time.perf_counter()
    result = evaluate(model)
    model.train()
    improved = keeper.observe(model, result, outcome)
    for name, value in {"loss": result.loss, **result.metrics}.items():
        log(f"validation/{name}", value=value, step=outcome.steps, epoch=outcome.epochs_completed)
    display.evaluated(outcome.steps, result, improved)
    return time.perf_counter() - start


class _BestKeeper:
    """Remembers the weights of the best evaluation (by the metric's own direction) and counts patience."""

    def __init__(self, select_by: str, patience: int | None) -> None:
        self.select_by = select_by
        self.patience = patience
        self.state: dict[str, torch.Tensor] | None = None
        self.stale = 0

    def observe(self, model: nn.Module, result: EvalResult, outcome: FitOutcome) -> bool:
        value = result.loss if self.select_by == "loss" else result.metrics[self.select_by]
        outcome.history.append({"step": outcome.steps, "epoch": outcome.epochs_completed,
                                "loss": result.loss, **result.metrics})
        improved = is_better(self.select_by, value, outcome.best_value)
        if improved:
            outcome.best_value, outcome.best_step, outcome.best_epoch = value, outcome.steps, outcome.epochs_completed
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            self.stale = 0
        else:
            self.stale += 1
            outcome.stopped_early = bool(self.patience) and self.stale >= self.patience
        return improved

    def restore(self, model: nn.Module) -> None:
        if self.state is not None:
            model.load_state_dict(self.state)


def _problem_loss(loss: Loss) -> LossOf:
    """The loop's loss seam (``LossOf``) around a problem type's ``(logits, labels) -> loss``."""

    def loss_of(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        return loss(model(**inputs).logits.float(), batch["labels"])

    return loss_of


def _accumulate_gradients(model: nn.Module, train: Encoded, group: list[np.ndarray], micro_splits: int,
                          precision: str, device: torch.device, scaler: torch.amp.GradScaler,
                          fallbacks: list[dict[str, int]], step: int, world: World = SINGLE,
                          loss_of: LossOf = model_loss) -> tuple[float, int]:
    """Forward and backward over a group of batches; returns (mean loss, micro-splits used).

    Out of memory halves the micro-batch and doubles the accumulation, so the effective batch (and the
    gradient) stays the same; each fallback is recorded. With several processes, each runs its shard of the
    batches and the gradients are summed across them: weighted by the whole batch's rows, the sum is the mean.
    """
    rows_total = sum(len(rows) for rows in group)
    while True:
        try:
            loss_sum = 0.0
            for rows in filter(len, map(world.shard, group)):  # a shard is empty when a batch has fewer rows
                for micro in np.array_split(rows, min(micro_splits, len(rows))):
                    batch = {k: v.to(device) for k, v in collate(train, micro).items()}
                    with autocast(precision, device):
                        loss = loss_of(model, batch)  # mean over the micro-batch
                    scaler.scale(loss * (len(micro) / rows_total)).backward()  # weighted: the sum is the mean
                    loss_sum += loss.item() * len(micro)
            break
        except (torch.OutOfMemoryError, RuntimeError) as error:
            if not _is_out_of_memory(error) or micro_splits >= max(len(rows) for rows in group):
                raise
            model.zero_grad(set_to_none=True)
            micro_splits *= 2
            largest = max(len(rows) for rows in group)
            fallbacks.append({"step": step + 1, "micro_batch_size": math.ceil(largest / micro_splits),
                              "accumulation": micro_splits})
    # outside the retry: an out-of-memory retry is this process's own; the sum is every process's at once
    return world.sum_gradients(model, loss_sum) / rows_total, micro_splits


def _is_out_of_memory(error: BaseException) -> bool:
    text = str(error).lower()
    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in text or "can't allocate memory" in text
