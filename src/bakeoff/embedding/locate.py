"""``EncoderSource``: which encoder weights an ``Embedder`` loads, and where they come from.

This layer resolves what needs no store: an alias, a model folder, a hub id. A trained run (its id,
``project/name`` or folder) is resolved one floor up, by ``bakeoff.runs.embed_run.locate_encoder``, which reuses
``bakeoff.runs.locate`` and hands the result down as an ``EncoderSource``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bakeoff.errors import BakeoffError
from bakeoff.models import resolve_model


@dataclass(frozen=True)
class EncoderSource:
    """What an encoder reference resolved to; ``location`` is what ``AutoModel.from_pretrained`` loads."""

    reference: str  # as the user gave it
    location: str
    origin: str  # alias+package | alias+hub | hub | path | run
    layers: tuple[int, ...] | None = None
    run_max_length: int | None = None  # the max_length a trained run used

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "layers": list(self.layers) if self.layers else None}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> EncoderSource:
        """The source an index recorded (``to_dict``'s inverse)."""
        layers = record.get("layers")
        return cls(record["reference"], record["location"], record["origin"], tuple(layers) if layers else None,
                   record.get("run_max_length"))

    def same_encoder(self, other: EncoderSource) -> bool:
        return (self.location, self.layers) == (other.location, other.layers)


def model_source(reference: str) -> EncoderSource:
    """Resolve a model folder, an alias or a hub id (not a run: see ``runs.embed_run.locate_encoder``).

    >>> model_source("minilm-l6").origin  # doctest: +SKIP
    'alias+package'
    """
    path = Path(reference).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise BakeoffError(f"{path}: not a model folder (no config.json): give a model folder, an alias or a "
                               "trained run")
        return EncoderSource(reference, str(path.resolve()), "path")
    source = resolve_model(reference)
    return EncoderSource(reference, source.location, source.origin, source.layers)


def as_source(model: str | EncoderSource) -> EncoderSource:
    """``model`` itself when already resolved, else ``model_source(model)``."""
    return model if isinstance(model, EncoderSource) else model_source(model)
