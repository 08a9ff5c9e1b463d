"""A trial: one fully resolved training config (plus compression steps); its id is a hash of exactly that."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from bakeoff.config import TrainConfig

# Settings that change how a trial runs but not what it computes are left out of its identity.
NOT_IDENTITY = ("project", "name", "quiet", "threads", "tags", "device", "nproc")


@dataclass(frozen=True)
class Trial:
    id: str
    config: dict[str, Any]  # TrainConfig.to_dict() with the study's values
    compress: tuple[str, ...] = ()
    sweep: str | None = None
    rung: int = 0  # successive-halving rung (0 without ASHA)
    max_epochs: float | None = field(default=None, compare=False)  # ASHA's ceiling for this trial's variant
    variant: str = field(default="", compare=False)  # what the trial compares: config minus seed, as text

    @property
    def run_name(self) -> str:
        """The trial's run name in the store: readable, and unique through the id."""
        model = re.sub(r"[^A-Za-z0-9._-]+", "-", str(self.config["model"]).rsplit("/", 1)[-1]).strip("-")
        return f"{self.config['task'] or 'custom'}-{model}-{self.id}"

    def with_epochs(self, epochs: float, rung: int, max_epochs: float | None = None) -> Trial:
        config = TrainConfig.from_dict({**self.config, "epochs": epochs}).validate()
        return make_trial(config, self.compress, self.sweep, rung, max_epochs)


def make_trial(config: TrainConfig, compress: list[str] | tuple[str, ...] = (), sweep: str | None = None,
               rung: int = 0, max_epochs: float | None = None) -> Trial:
    values = config.to_dict()
    identity = {k: v for k, v in values.items() if k not in NOT_IDENTITY}
    digest = hashlib.sha256(json.dumps({"config": identity, "compress": sorted(compress)}, sort_keys=True,
                                       default=str).encode()).hexdigest()[:12]
    return Trial(id=digest, config=values, compress=tuple(compress), sweep=sweep, rung=rung,
                 max_epochs=max_epochs, variant=variant_of(values))


def variant_of(config: dict[str, Any]) -> str:
    """What distinguishes a trial from others apart from its seed: the leaderboard's row key."""
    identity = {k: v for k, v in config.items() if k not in (*NOT_IDENTITY, "seed")}
    return json.dumps(identity, sort_keys=True, default=str)
