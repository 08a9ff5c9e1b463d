"""Training: the loop, its optimizer and schedule, and its terminal progress."""

from bakeoff.train.loop import FitOutcome, fit

__all__ = ["FitOutcome", "fit"]
