"""Reading the store: list runs as a table, find one by id / prefix / project/name, read what it recorded.

Runs written by ml-dash itself (no id, no status) are listed too: their id is derived from their path and
their status reads ``UNKNOWN``.

>>> Store(tmp).runs(project="architecture-comparison")[["name", "status", "accuracy.best"]]  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bakeoff.errors import RunNotFound, StoreError
from bakeoff.io import read_json, read_jsonl
from bakeoff.track import layout
from bakeoff.track.layout import default_root, file_path, list_files, read_parameters

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Run:
    """A read-only view of one run folder."""

    path: Path
    info: dict[str, Any] = field(repr=False)

    @property
    def id(self) -> str:
        return self.info.get("id") or hashlib.sha1(f"{self.project}/{self.name}".encode()).hexdigest()[:16]

    @property
    def project(self) -> str:
        return self.info.get("project") or self.path.parent.name

    @property
    def name(self) -> str:
        return self.info.get("name") or self.path.name

    @property
    def status(self) -> str:
        return layout.effective_status(self.info)

    def parameters(self) -> dict[str, Any]:
        return read_parameters(self.path)

    def metric_names(self) -> list[str]:
        return layout.metric_names(self.path)

    def metric(self, name: str) -> list[dict[str, Any]]:
        """Every point's fields, in order."""
        return [record["data"] for record in layout.read_metric(self.path, name)]

    def metric_summary(self, name: str) -> dict[str, Any]:
        direction = layout.metric_direction(name, layout.read_metric_metadata(self.path, name))
        values = [point.get("value") for point in self.metric(name)]
        return {"higher_is_better": direction, **layout.summarize_values(values, direction)}

    def logs(self) -> list[dict[str, Any]]:
        return read_jsonl(self.path / layout.LOGS_FILE)

    def files(self, prefix: str | None = None) -> list[dict[str, Any]]:
        return list_files(self.path, prefix)

    def file_path(self, entry: dict[str, Any]) -> Path:
        return file_path(self.path, entry)

    def summary(self) -> dict[str, Any]:
        """One flat row: identity, status, times, parameters and each metric's last/best/count."""
        start = layout.parse_time(self.info.get("started_at") or self.info.get("created_at"))
        end = layout.parse_time(self.info.get("ended_at"))
        row: dict[str, Any] = {
            "id": self.id, "project": self.project, "name": self.name, "status": self.status,
            "started_at": self.info.get("started_at") or self.info.get("created_at"),
            "ended_at": self.info.get("ended_at"),
            "duration_s": (end - start).total_seconds() if start and end else None,
            "tags": list(self.info.get("tags") or []), "error": self.info.get("error"),
        }
        # parameters first, so a run's own identity wins over a parameter of the same name (TrainConfig's
        # ``name`` is None when the name was derived)
        row = {**self.parameters(), **row}
        for name in self.metric_names():
            summary = self.metric_summary(name)
            row[f"{name}.last"], row[f"{name}.best"], row[f"{name}.count"] = (
                summary["last"], summary["best"], summary["count"],
            )
        return row


class Store:
    """The runs under a store root (default ``$BAKEOFF_STORE`` or ``.bakeoff``)."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    def check_writable(self) -> Path:
        """The root, created if need be; a ``StoreError`` naming the fix if runs cannot be written there.

        Called before any work (loading data, a model) so a read-only or misplaced store fails at once."""
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"the store {self.root} is a file, not a folder: point BAKEOFF_STORE (or --store) at a "
                             "folder")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".write-check-"):
                pass
        except OSError as error:
            raise StoreError(f"the store {self.root} is not writable ({error.strerror}): point BAKEOFF_STORE at a "
                             "folder you can write to") from None
        return self.root

    def list(self, project: str | None = None, tags: list[str] | None = None) -> list[Run]:
        """Runs, oldest first. A run whose ``experiment.json`` cannot be read is skipped with a warning."""
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"the store {self.root} is a file, not a folder: point BAKEOFF_STORE (or --store) at a "
                             "folder")
        if not self.root.is_dir():
            return []
        pattern = f"{project}/*/{layout.EXPERIMENT_FILE}" if project else f"*/*/{layout.EXPERIMENT_FILE}"
        runs = []
        for info_path in self.root.glob(pattern):
            try:
                info = read_json(info_path, default=None)
            except (ValueError, OSError) as error:
                warnings.warn(f"{info_path}: skipped, unreadable ({type(error).__name__}); the run's other files "
                              "are untouched", stacklevel=2)
                continue
            if not isinstance(info, dict):
                continue
            run = Run(info_path.parent, info)
            if tags and not set(tags) <= set(info.get("tags") or []):
                continue
            runs.append(run)
        runs.sort(key=lambda r: (str(r.info.get("started_at") or r.info.get("created_at") or ""), r.name))
        return runs

    def runs(self, project: str | None = None, tags: list[str] | None = None) -> pd.DataFrame:
        """One row per run: status, start/end, duration, flattened parameters, and per metric last/best/count."""
        import pandas as pd

        return pd.DataFrame([run.summary() for run in self.list(project, tags)])

    def get(self, ref: str) -> Run:
        """A run by id, unique id prefix, ``project/name``, or path to its folder."""
        candidate = Path(ref)
        if (candidate / layout.EXPERIMENT_FILE).is_file():
            return Run(candidate, read_json(candidate / layout.EXPERIMENT_FILE, default={}) or {})
        runs = self.list()
        if "/" in ref:
            matches = [r for r in runs if f"{r.project}/{r.name}" == ref]
        else:
            matches = [r for r in runs if r.id == ref] or [r for r in runs if r.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise RunNotFound(f"no run {ref!r} in {self.root}: `bakeoff runs ls` lists the ids")
        ids = ", ".join(r.id for r in matches[:5])
        raise RunNotFound(f"{ref!r} matches {len(matches)} runs ({ids}...): give more of the id")
