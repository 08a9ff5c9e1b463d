"""The experiment store: ml-dash's ``Experiment`` API on ml-dash's local layout, crash-safe and sweep-safe.

Uses nothing else of bakeoff, so that everything else can use it.
"""

from bakeoff.errors import RunNotFound, StoreError
from bakeoff.track.experiment import Experiment
from bakeoff.track.flat import flatten
from bakeoff.track.layout import default_root
from bakeoff.track.store import Run, Store

__all__ = ["Experiment", "Run", "RunNotFound", "Store", "StoreError", "default_root", "flatten"]
