"""Evaluation: metrics with their direction, batched prediction, typed results."""

from bakeoff.eval.metrics import METRICS, metric_info
from bakeoff.eval.predict import Predictions, predict_logits
from bakeoff.eval.results import EvalResult, TrainResult, evaluate_predictions

__all__ = ["METRICS", "EvalResult", "Predictions", "TrainResult", "evaluate_predictions", "metric_info",
           "predict_logits"]
