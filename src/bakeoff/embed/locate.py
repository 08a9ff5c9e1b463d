"""Which encoder a reference names: an alias, a local folder, a trained run (or its folder), or a hub id."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bakeoff.errors import BakeoffError, StoreError
from bakeoff.models import aliases, resolve_model

RUN_CHECKPOINT = "checkpoint"  # <run>/checkpoint/: a classification checkpoint; its encoder is what we embed with
RUN_RESULT = "result.json"


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

    def same_encoder(self, other: EncoderSource) -> bool:
        return (self.location, self.layers) == (other.location, other.layers)


def locate_encoder(reference: str) -> EncoderSource:
    """Resolve ``reference``: a folder first, then an alias, then a run in the store, then a hub id.

    >>> locate_encoder("minilm-l6").origin  # doctest: +SKIP
    'alias+package'
    """
    path = Path(reference).expanduser()
    if path.exists():
        if (path / "config.json").is_file():
            return _from_folder(reference, path, path.parent)
        if (path / RUN_CHECKPOINT / "config.json").is_file():
            return _from_folder(reference, path / RUN_CHECKPOINT, path)
        raise BakeoffError(f"{path}: neither a model folder (no config.json) nor a run folder with a checkpoint")
    if reference in aliases():
        return _from_model_source(reference)
    run_dir = _run_in_store(reference)
    if run_dir is not None:
        if not (run_dir / RUN_CHECKPOINT / "config.json").is_file():
            raise BakeoffError(f"run {reference!r} has no checkpoint: it was trained with save_checkpoint off, "
                               "or did not finish")
        return _from_folder(reference, run_dir / RUN_CHECKPOINT, run_dir)
    return _from_model_source(reference)


def _from_model_source(reference: str) -> EncoderSource:
    source = resolve_model(reference)
    origin = source.origin
    return EncoderSource(reference, source.location, origin, source.layers)


def _from_folder(reference: str, folder: Path, run_dir: Path) -> EncoderSource:
    result = run_dir / RUN_RESULT
    max_length = None
    if result.is_file():
        try:
            max_length = json.loads(result.read_text()).get("config", {}).get("max_length")
        except ValueError:
            max_length = None
    return EncoderSource(reference, str(folder.resolve()), "run" if result.is_file() else "path", None, max_length)


def _run_in_store(reference: str) -> Path | None:
    from bakeoff.track import Store

    store = Store()
    if not Path(store.root).is_dir():
        return None
    try:
        return store.get(reference).path
    except StoreError:
        return None
