"""Where a run keeps each thing on disk (ml-dash 0.5.x's local layout), and how to read it back.

```
<root>/<project>/<name>/
  experiment.json                     name, project, description, tags, ... + bakeoff's id/status/heartbeat
  parameters.json                     {"version", "data": {flattened.keys: values}, "createdAt", "updatedAt"}
  logs/logs.jsonl                     {"sequenceNumber", "timestamp", "level", "message", "metadata"}
  metrics/<metric>/data.jsonl         {"index", "data": {...fields}, "createdAt"}
  metrics/<metric>/metadata.json      {"metricId", "name", "totalDataPoints", "nextIndex", ...}
  files/<prefix>/<id>/<filename>      the bytes, copied when recorded
  files/.files_metadata.json          {"files": [{"id", "path", "filename", "checksum", "sizeBytes", ...}]}
```
A metric named ``train/loss`` lives in ``metrics/train/loss/``, as ml-dash would put it.
"""

from __future__ import annotations

import math
import os
import secrets
import socket
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bakeoff.io import read_json, read_jsonl
from bakeoff.metrics import direction_of

EXPERIMENT_FILE = "experiment.json"
PARAMETERS_FILE = "parameters.json"
LOGS_FILE = Path("logs") / "logs.jsonl"
METRICS_DIR = "metrics"
FILES_DIR = "files"
FILES_METADATA = Path(FILES_DIR) / ".files_metadata.json"

STATUSES = ("RUNNING", "COMPLETED", "FAILED", "INTERRUPTED", "CRASHED")
HEARTBEAT_SECONDS = 5.0
STALE_AFTER_SECONDS = 60.0  # a RUNNING run whose heartbeat is older than this has lost its process


def default_root() -> Path:
    """The store's root: ``$BAKEOFF_STORE``, else ``.bakeoff`` in the working directory."""
    return Path(os.environ.get("BAKEOFF_STORE") or ".bakeoff")


def new_run_id() -> str:
    """16 hex digits: 5 random, then the milliseconds since the epoch.

    Random first, so the first few characters tell runs apart (`bakeoff predict 3fa9c1 ...`); with the time first,
    runs made in the same hour shared their first 7 characters. (Order runs by their ``createdAt``, not their id.)
    """
    return f"{secrets.token_hex(3)[:5]}{int(time.time() * 1000):011x}"


def read_parameters(run_dir: Path) -> dict[str, Any]:
    doc = read_json(run_dir / PARAMETERS_FILE, default=None) or {}
    return dict(doc.get("data", {}))


def list_files(run_dir: Path, prefix: str | None = None) -> list[dict[str, Any]]:
    doc = read_json(run_dir / FILES_METADATA, default=None) or {"files": []}
    files = [f for f in doc.get("files", []) if f.get("deletedAt") is None]
    if prefix:
        files = [f for f in files if str(f.get("path", "")).startswith(prefix)]
    return files


def file_path(run_dir: Path, entry: dict[str, Any]) -> Path:
    """Where a recorded file's bytes are."""
    return run_dir / FILES_DIR / str(entry.get("path", "")).strip("/") / entry["id"] / entry["filename"]


def utc_now() -> str:
    """ISO-8601 UTC time with a Z, as ml-dash writes it."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        return None


def metric_names(run_dir: Path) -> list[str]:
    """Every metric of a run, nested names (``train/loss``) included, sorted."""
    root = run_dir / METRICS_DIR
    if not root.is_dir():
        return []
    found = {p.parent.relative_to(root).as_posix() for p in root.rglob("data.jsonl")}
    found |= {p.parent.relative_to(root).as_posix() for p in root.rglob("metadata.json")}
    return sorted(found)


def read_metric(run_dir: Path, name: str) -> list[dict[str, Any]]:
    """Every point of a metric as ``{"index", "data", "createdAt"}``, in index order."""
    records = read_jsonl(run_dir / METRICS_DIR / name / "data.jsonl")
    if any(records[i]["index"] > records[i + 1]["index"] for i in range(len(records) - 1)):
        records.sort(key=lambda record: record["index"])
    return records


def read_metric_metadata(run_dir: Path, name: str) -> dict[str, Any]:
    return read_json(run_dir / METRICS_DIR / name / "metadata.json", default={}) or {}


def metric_direction(name: str, metadata: dict[str, Any] | None = None) -> bool | None:
    """True if higher is better, False if lower is, None when neither the metric's metadata nor the registry says.

    >>> metric_direction("val/accuracy"), metric_direction("train/loss"), metric_direction("lr")
    (True, False, None)
    """
    explicit = ((metadata or {}).get("metadata") or {}).get("higher_is_better")
    if explicit is not None:
        return bool(explicit)
    return direction_of(name)


def summarize_values(values: list[float], higher_is_better: bool | None) -> dict[str, Any]:
    """last / best / min / max / mean / count of a metric's ``value`` field (NaN ignored for best)."""
    finite = [v for v in values if isinstance(v, (int, float)) and not math.isnan(v)]
    best = None
    if finite and higher_is_better is not None:
        best = max(finite) if higher_is_better else min(finite)
    return {
        "count": len(values),
        "last": values[-1] if values else None,
        "best": best,
        "min": min(finite) if finite else None,
        "max": max(finite) if finite else None,
        "mean": sum(finite) / len(finite) if finite else None,
    }


def effective_status(info: dict[str, Any]) -> str:
    """The status a reader should believe: a RUNNING run whose process is gone is CRASHED.

    ml-dash writes no status locally; such runs read as ``UNKNOWN``.
    """
    status = info.get("status") or "UNKNOWN"
    if status != "RUNNING":
        return status
    if info.get("hostname") == socket.gethostname() and info.get("pid") and not _pid_alive(int(info["pid"])):
        return "CRASHED"
    beat = parse_time(info.get("heartbeat_at"))
    if beat is None:
        return "CRASHED"
    age = (datetime.now(timezone.utc) - beat).total_seconds()
    return "CRASHED" if age > STALE_AFTER_SECONDS else "RUNNING"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (killed, not yet reaped by its parent) still answers kill(0): it is not running
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
