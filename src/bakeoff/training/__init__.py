"""Training: the loop, its optimizer and schedule, and its terminal progress."""

from bakeoff.training.loop import FitOutcome, fit

__all__ = ["FitOutcome", "fit"]
