"""Evaluation: batched prediction, metrics of a split, timing."""

from bakeoff.eval.predict import Predictions, predict_logits, predict_with
from bakeoff.eval.results import EvalResult, evaluate_predictions
from bakeoff.metrics import METRICS, metric_info

__all__ = ["METRICS", "EvalResult", "Predictions", "evaluate_predictions", "metric_info", "predict_logits",
           "predict_with"]
