"""Reading the store: list runs as a table, find one by id / prefix / project/name, read what it recorded.

Runs written by ml-dash itself (no id, no status) are listed too: their id is derived from their path and
their status reads ``UNKNOWN``.

>>> Store(tmp).runs(project="architecture-comparison")[["name", "status", "accuracy.best"]]  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bakeoff.errors import RunNotFound
from bakeoff.track import layout
from bakeoff.track._files import read_json, read_jsonl
from bakeoff.track.experiment import default_root

if TYPE_CHECKING:
    import pandas as pd


def read_parameters(run_dir: Path) -> dict[str, Any]:
    doc = read_json(run_dir / layout.PARAMETERS_FILE, default=None) or {}
    return dict(doc.get("data", {}))


def list_files(run_dir: Path, prefix: str | None = None) -> list[dict[str, Any]]:
    doc = read_json(run_dir / layout.FILES_METADATA, default=None) or {"files": []}
    files = [f for f in doc.get("files", []) if f.get("deletedAt") is None]
    if prefix:
        files = [f for f in files if str(f.get("path", "")).startswith(prefix)]
    return files


def file_path(run_dir: Path, entry: dict[str, Any]) -> Path:
    """Where a recorded file's bytes are."""
    return run_dir / layout.FILES_DIR / str(entry.get("path", "")).strip("/") / entry["id"] / entry["filename"]


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
        row.update(self.parameters())
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

    def list(self, project: str | None = None, tags: list[str] | None = None) -> list[Run]:
        """Runs, oldest first."""
        if not self.root.is_dir():
            return []
        pattern = f"{project}/*/{layout.EXPERIMENT_FILE}" if project else f"*/*/{layout.EXPERIMENT_FILE}"
        runs = []
        for info_path in self.root.glob(pattern):
            info = read_json(info_path, default=None)
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
