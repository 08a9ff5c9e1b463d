"""Studies: a YAML file of models x tasks x axes x seeds, expanded into trials, run resumably, locally or on Ray."""

from bakeoff.study.events import (
           RaceEnded,
           RaceLooked,
           RungStarted,
           StudyEvent,
           StudyStarted,
           TrialFinished,
           TrialProgress,
           TrialStarted,
)
from bakeoff.study.lines import StudyError
from bakeoff.study.race import RaceSettings, settings_for
from bakeoff.study.runner import StudyOutcome, TrialOutcome, run_study
from bakeoff.study.spec import Study, load_study
from bakeoff.study.trials import Trial, TrialSummary

__all__ = ["RaceEnded", "RaceLooked", "RaceSettings", "RungStarted", "Study", "StudyError", "StudyEvent",
           "StudyOutcome", "StudyStarted", "Trial", "TrialFinished", "TrialOutcome", "TrialProgress", "TrialStarted",
           "TrialSummary", "load_study", "run_study", "settings_for"]
