"""Studies: a YAML file of models x tasks x axes x seeds, expanded into trials, run resumably, locally or on Ray."""

from bakeoff.study.runner import StudyOutcome, TrialOutcome, run_study
from bakeoff.study.spec import Study, StudyError, load_study
from bakeoff.study.trials import Trial

__all__ = ["Study", "StudyError", "StudyOutcome", "Trial", "TrialOutcome", "load_study", "run_study"]
