"""Which files of a run folder go to the tracker, in groups that are uploaded again only when they changed.

```
MLflow artefact path                 from the run folder
result.json, predictions.json        result.json, predictions.json (bakeoff runs; absent for ml-dash-style runs)
bakeoff/parameters.json              parameters.json: every parameter whole (MLflow caps a value's length)
bakeoff/experiment.json              experiment.json: identity, status, times, host
bakeoff/logs.jsonl                   logs/logs.jsonl
compressed/<method>/report.json      each compressed model's report (the whole folder with checkpoints=True)
checkpoint/                          only with checkpoints=True
files/<prefix>/<filename>            every file recorded with ``experiment.file(...)``
```

A group's fingerprint is its files' paths, sizes and modification times (no hashing of large checkpoints on
every export); the tracker keeps the fingerprints in one tag, so an export uploads only the groups that changed.

>>> sorted(artefact_groups(Store(tmp).get(run_id), checkpoints=False))  # doctest: +SKIP
['compressed/dynamic-int8', 'run']
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from bakeoff.runs.files import (
    CHECKPOINT_DIR,
    COMPRESSED_DIR,
    PREDICTIONS_FILE,
    REPORT_FILE,
    RESULT_FILE,
)
from bakeoff.track import Run, layout


@dataclass(frozen=True)
class Artefact:
    """A file or folder of the run, and the MLflow folder it goes into (``None``: the run's artefact root)."""

    local: Path
    artifact_path: str | None

    @property
    def name(self) -> str:
        """Its path among the run's MLflow artefacts."""
        return f"{self.artifact_path}/{self.local.name}" if self.artifact_path else self.local.name


def artefact_groups(run: Run, checkpoints: bool = False) -> dict[str, list[Artefact]]:
    """The run's artefacts by group name; a group with no file on disk is left out."""
    groups: dict[str, list[Artefact]] = {
        "run": [Artefact(run.path / RESULT_FILE, None), Artefact(run.path / PREDICTIONS_FILE, None),
                Artefact(run.path / layout.PARAMETERS_FILE, "bakeoff"),
                Artefact(run.path / layout.EXPERIMENT_FILE, "bakeoff"),
                Artefact(run.path / layout.LOGS_FILE, "bakeoff")],
    }
    for method_dir in sorted((run.path / COMPRESSED_DIR).glob("*/")):
        if checkpoints:  # the compressed model itself, report included
            groups[f"{COMPRESSED_DIR}/{method_dir.name}"] = [Artefact(method_dir, COMPRESSED_DIR)]
        else:
            groups[f"{COMPRESSED_DIR}/{method_dir.name}"] = [
                Artefact(method_dir / REPORT_FILE, f"{COMPRESSED_DIR}/{method_dir.name}")]
    if checkpoints:
        groups[CHECKPOINT_DIR] = [Artefact(run.path / CHECKPOINT_DIR, None)]
    groups["files"] = [Artefact(run.file_path(entry), "/".join(filter(None, ("files", entry["path"].strip("/")))))
                       for entry in run.files()]
    present = {name: [a for a in artefacts if a.local.exists()] for name, artefacts in groups.items()}
    return {name: artefacts for name, artefacts in present.items() if artefacts}


def fingerprint(artefacts: list[Artefact]) -> str:
    """Changes when any file of the group is added, removed, rewritten or resized."""
    digest = hashlib.sha256()
    for artefact in artefacts:
        local = artefact.local
        files = sorted(p for p in local.rglob("*") if p.is_file()) if local.is_dir() else [local]
        for path in files:
            stat = path.stat()
            digest.update(f"{artefact.name}|{path.relative_to(artefact.local.parent)}|{stat.st_size}|"
                          f"{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]
