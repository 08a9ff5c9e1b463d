"""From what a user typed to a model folder: a run (id, unique prefix, ``project/name``), a run folder, a
checkpoint folder or a compressed folder; with ``method``, that run's compressed model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bakeoff.compression import artefact as compression
from bakeoff.errors import BakeoffError
from bakeoff.io import read_json, sha256
from bakeoff.runs.files import CHECKPOINT_DIR, RESULT_FILE, compressed_dir
from bakeoff.track import Store


# what a changed file would change in the answers, said in the refusal
_WHAT_DECIDES = {"config.json": " (it holds the label names and the model's shape)",
                 "tokenizer.json": " (it decides the tokens the model sees)",
                 "vocab.txt": " (it decides the tokens the model sees)",
                 "tokenizer_config.json": " (it decides the tokens the model sees)"}


@dataclass
class Located:
    """A model folder, the run folder it belongs to (None for a bare folder), and that run's config."""

    model_dir: Path
    run_dir: Path | None
    config: dict[str, Any] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)  # recorded when the checkpoint was saved

    def verify(self) -> None:
        """Refuse a trained checkpoint whose files changed since the run recorded their sha256."""
        for name, expected in self.sha256.items():
            file = self.model_dir / name
            if not file.is_file():
                raise BakeoffError(f"{file}: missing from the run's checkpoint: train the run again")
            if sha256(file) != expected:
                what = _WHAT_DECIDES.get(name, "")
                raise BakeoffError(f"{file}: sha256 differs from the one recorded when the run saved it{what}: the "
                                   "checkpoint changed after training; restore the file or train the run again")


def locate(ref: str, method: str | None = None) -> Located:
    """The model folder ``ref`` names, and its run's config (empty for a bare folder)."""
    path = Path(ref)
    if (path / "config.json").is_file():
        model_dir, run_dir = path, run_dir_of(path)
    elif (path / CHECKPOINT_DIR / "config.json").is_file():
        model_dir, run_dir = path / CHECKPOINT_DIR, path
    elif path.exists():
        raise BakeoffError(f"{path}: neither a run folder nor a model folder (no config.json)")
    else:
        run = Store().get(ref)
        model_dir, run_dir = run.path / CHECKPOINT_DIR, run.path
        if not model_dir.is_dir():
            raise BakeoffError(f"run {ref!r} ({run.status}) has no checkpoint: it was trained with "
                               "save_checkpoint off, did not finish, or ran on a Ray cluster whose study kept "
                               "only some checkpoints (checkpoints: best or none)")
    result = _result_of(run_dir)
    sha = ((result.get("model") or {}).get("checkpoint_sha256") or {}) if model_dir.name == CHECKPOINT_DIR else {}
    if method is not None:
        compression.get_method(method)
        base = run_dir if run_dir is not None else model_dir.parent
        model_dir, sha = compressed_dir(base, method), {}
        if not model_dir.is_dir():
            raise BakeoffError(f"{ref}: no {method} model yet: run `bakeoff compress {ref} --method {method}`")
    return Located(model_dir, run_dir, dict(result.get("config") or {}), dict(sha))


def run_dir_of(model_dir: Path) -> Path | None:
    """The run folder holding a checkpoint (``<run>/checkpoint``) or compressed model (``<run>/compressed/m``)."""
    for candidate in (model_dir.parent, model_dir.parent.parent):
        if (candidate / RESULT_FILE).is_file():
            return candidate
    return None


def _result_of(run_dir: Path | None) -> dict[str, Any]:
    if run_dir is None:
        return {}
    try:
        result = read_json(run_dir / RESULT_FILE, default=None)
    except ValueError:
        raise BakeoffError(f"{run_dir / RESULT_FILE}: not valid JSON: the run's record is damaged") from None
    return result if isinstance(result, dict) else {}
