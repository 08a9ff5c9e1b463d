"""A trial: one fully resolved config (plus compression steps); its id is a hash of exactly that. A training
trial's config is a ``TrainConfig``'s; an embedding trial's an ``EmbeddingConfig``'s (``embedding`` is then True).
And what a trial sends back from wherever it ran: a ``TrialSummary``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bakeoff.config import TrainConfig, config_digest, run_name, variant_of
from bakeoff.config.embedding import EmbeddingConfig, is_embedding


@dataclass(frozen=True)
class Trial:
    id: str
    config: dict[str, Any]  # TrainConfig.to_dict() (or EmbeddingConfig.to_dict()) with the study's values
    compress: tuple[str, ...] = ()
    sweep: str | None = None
    rung: int = 0  # successive-halving rung (0 without it)
    max_epochs: float | None = field(default=None, compare=False)  # the schedule's ceiling for this trial's variant
    variant: str = field(default="", compare=False)  # what the trial compares: config minus seed, as text

    @property
    def embedding(self) -> bool:
        """An embedding evaluation (frozen vectors scored), not a training run."""
        return is_embedding(self.config)

    @property
    def run_name(self) -> str:
        """The trial's run name in the store: readable, and unique through the id."""
        return run_name(self.config, f"{self.config['kind']}-{self.id}" if self.embedding else self.id)

    @property
    def epochs(self) -> float:
        return float(self.config["epochs"])

    def with_epochs(self, epochs: float, rung: int, max_epochs: float | None = None) -> Trial:
        config = TrainConfig.from_dict({**self.config, "epochs": epochs}).validate()
        return make_trial(config, self.compress, self.sweep, rung, max_epochs)


def make_trial(config: TrainConfig | EmbeddingConfig, compress: list[str] | tuple[str, ...] = (),
               sweep: str | None = None, rung: int = 0, max_epochs: float | None = None) -> Trial:
    values = config.to_dict()
    digest = config_digest(values, {"compress": sorted(compress)})
    return Trial(id=digest, config=values, compress=tuple(compress), sweep=sweep, rung=rung,
                 max_epochs=max_epochs, variant=variant_of(values))


@dataclass
class TrialSummary:
    """What a trial's process (local or on Ray) sends back; plain data, so it crosses any process boundary.

    ``status``: COMPLETED, INTERRUPTED, FAILED or CRASHED (its process died). ``compress``: per method, the
    compression's size ratio, metric changes and latency speed-up — or ``{"error": ...}``.
    """

    trial: str
    status: str = "FAILED"
    metric: float | None = None
    metric_name: str | None = None
    train_seconds: float | None = None
    compress: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None
    seconds: float | None = None
    pid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def lost(cls, trial: str, error: str) -> TrialSummary:
        """A trial whose process died before it could say anything."""
        return cls(trial, "CRASHED", error=error)
