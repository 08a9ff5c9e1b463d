"""``Experiment``: the seeds' ml-dash API, written crash-safe onto ml-dash's local layout.

>>> with Experiment(name="demo", project="doctest", local_path=tmp) as experiment:  # doctest: +SKIP
...     experiment.parameters().set(model={"name": "minilm-l6", "lr": 5e-5})
...     experiment.metric("train/loss").append(value=0.42, step=10)
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import socket
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Literal

from bakeoff.errors import StoreError
from bakeoff.io import JsonlAppender, file_lock, read_json, write_json_atomic
from bakeoff.track import layout, lifecycle
from bakeoff.track.flat import flatten, unflatten
from bakeoff.track.layout import default_root, new_run_id
from bakeoff.track.names import check_name

IfExists = Literal["new", "resume", "error"]
LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")
FSYNC_SECONDS = 2.0


class Experiment:
    """One tracked run. Use it as a context manager; the status it ends with follows how the block ended.

    Args:
        name: experiment name (one folder; no ``/``).
        project: project folder the run lives in.
        description, tags, metadata: recorded in ``experiment.json``.
        local_path: store root (default ``$BAKEOFF_STORE`` or ``.bakeoff``).
        if_exists: a run with this name exists already: ``"new"`` makes a suffixed folder (``name-2``),
            ``"resume"`` reopens it (same id, points appended after the old ones), ``"error"`` refuses.
    """

    def __init__(
        self,
        name: str,
        project: str = "default",
        *,
        description: str | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        local_path: str | os.PathLike[str] | None = None,
        if_exists: IfExists = "new",
        **_ignored: Any,  # ml-dash's remote options (remote=, api_key=, ...): local only here
    ) -> None:
        check_name(name, "experiment name")
        check_name(project, "project name")
        if if_exists not in ("new", "resume", "error"):
            raise StoreError(f"if_exists={if_exists!r} is not one of 'new', 'resume', 'error'")
        self.requested_name = name
        self.name = name
        self.project = project
        self.description = description
        self.tags = list(tags or [])
        self.metadata = metadata
        self.root = Path(local_path) if local_path is not None else default_root()
        self.if_exists = if_exists
        self.id: str | None = None
        self.path: Path | None = None
        self.status: str | None = None
        self._appenders: dict[str, JsonlAppender] = {}
        self._metric_meta: dict[str, dict[str, Any]] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._syncer: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    def open(self) -> Experiment:
        if self.path is not None:
            return self
        project_dir = self.root / self.project
        project_dir.mkdir(parents=True, exist_ok=True)
        with file_lock(project_dir / ".bakeoff.lock"):  # two processes asking for one name: one folder each
            self.path, info = self._claim_folder(project_dir)
            now = layout.utc_now()
            info.update(
                name=self.name, project=self.project, description=self.description, tags=self.tags,
                bindrs=info.get("bindrs", []), folder=None, metadata=self.metadata,
                write_protected=False, id=self.id, requested_name=self.requested_name,
                status="RUNNING", error=None, started_at=now, ended_at=None, heartbeat_at=now,
                pid=os.getpid(), hostname=socket.gethostname(),
            )
            info.setdefault("created_at", now)
            for sub in ("logs", layout.METRICS_DIR, layout.FILES_DIR):
                (self.path / sub).mkdir(parents=True, exist_ok=True)
            self._write_info(info)
        self.status = "RUNNING"
        lifecycle.OPEN.add(self)
        lifecycle.install_signal_handlers()
        self._syncer = threading.Thread(target=self._sync_loop, name=f"bakeoff-sync-{self.id}", daemon=True)
        self._syncer.start()
        return self

    def _claim_folder(self, project_dir: Path) -> tuple[Path, dict[str, Any]]:
        candidate, suffix = project_dir / self.name, 1
        while True:
            try:
                candidate.mkdir()
                self.name, self.id = candidate.name, new_run_id()
                return candidate, {}
            except FileExistsError:
                if self.if_exists == "error":
                    raise StoreError(
                        f"run {self.project}/{candidate.name} exists in {self.root}: "
                        "choose another name, or pass if_exists='new' or 'resume'"
                    ) from None
                if self.if_exists == "resume":
                    info = read_json(candidate / layout.EXPERIMENT_FILE, default={}) or {}
                    self.name = candidate.name
                    self.id = info.get("id") or new_run_id()
                    info["resumed"] = int(info.get("resumed", 0)) + 1
                    return candidate, info
                suffix += 1
                candidate = project_dir / f"{self.name}-{suffix}"

    def close(self, status: str = "COMPLETED", error: str | None = None) -> None:
        """Flush everything to disk and record how the run ended."""
        with self._lock:
            if self.path is None or self.status != "RUNNING":
                return
            self._stop.set()
            self._sync(heartbeat=False)
            for appender in self._appenders.values():
                appender.close()
            info = self._read_info()
            info.update(status=status, error=error, ended_at=layout.utc_now(), heartbeat_at=layout.utc_now())
            self._write_info(info)
            self.status = status
            lifecycle.OPEN.discard(self)

    def __enter__(self) -> Experiment:
        return self.open()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            self.close("COMPLETED")
        elif isinstance(exc, KeyboardInterrupt):
            self.close("INTERRUPTED", "KeyboardInterrupt")
        else:
            self.close("FAILED", "".join(traceback.format_exception_only(exc)).strip())

    # -- recording --------------------------------------------------------------------------------------
    def parameters(self) -> Parameters:
        return Parameters(self)

    params = property(parameters)  # ml-dash 0.5's spelling: experiment.params.set(...)

    def metric(self, name: str, description: str | None = None, *, higher_is_better: bool | None = None,
               tags: list[str] | None = None) -> Metric:
        check_name(name, "metric name", allow_slash=True)
        return Metric(self, name, description, higher_is_better, tags)

    metrics = metric  # ml-dash 0.5's spelling: experiment.metrics("loss").append(...)

    def log(self, message: str, level: str = "info", metadata: dict[str, Any] | None = None, **fields: Any) -> None:
        """Append a log line; ``level`` is one of debug, info, warn, error, fatal."""
        level = level.lower()
        if level not in LOG_LEVELS:
            raise StoreError(f"log level {level!r} is not one of {', '.join(LOG_LEVELS)}")
        record: dict[str, Any] = {"timestamp": layout.utc_now(), "level": level, "message": str(message)}
        if metadata or fields:
            record["metadata"] = {**(metadata or {}), **fields}
        self._appender(layout.LOGS_FILE.as_posix(), "sequenceNumber").append([record])

    def file(self, path: str | os.PathLike[str], prefix: str = "/", *, description: str | None = None,
             tags: list[str] | None = None, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        """Copy a file's bytes into the run now and record its sha256; returns its metadata."""
        source = Path(path)
        if not source.is_file():
            raise StoreError(f"cannot record {source}: no such file")
        normalized = prefix.strip("/")
        if normalized:
            check_name(normalized, "file prefix", allow_slash=True)
        run = self._require_open()
        file_id = f"{time.time_ns() // 1000}{secrets.randbelow(1000):03d}"
        dest_dir = run / layout.FILES_DIR / normalized / file_id
        dest_dir.mkdir(parents=True)
        checksum, size = _copy_with_sha256(source, dest_dir / source.name)
        now = layout.utc_now()
        entry = {
            "id": file_id, "experimentId": f"{self.project}/{self.name}", "path": prefix,
            "filename": source.name, "description": description, "tags": tags or [],
            "contentType": "application/octet-stream", "sizeBytes": size, "checksum": checksum,
            "metadata": metadata, "uploadedAt": now, "updatedAt": now, "deletedAt": None,
        }
        meta_path = run / layout.FILES_METADATA
        with file_lock(meta_path.with_name(".files_metadata.lock")):
            doc = read_json(meta_path, default=None) or {"files": []}
            doc["files"].append(entry)
            write_json_atomic(meta_path, doc)
        return entry

    def files(self, prefix: str | None = None) -> list[dict[str, Any]]:
        """Metadata of the files recorded in this run (optionally under a prefix)."""
        return layout.list_files(self._require_open(), prefix)

    # -- internals ---------------------------------------------------------------------------------------
    def _require_open(self) -> Path:
        if self.path is None or self.status != "RUNNING":
            raise StoreError("the experiment is not open: use `with Experiment(...) as experiment:`")
        return self.path

    def _appender(self, relative: str, index_key: str) -> JsonlAppender:
        run = self._require_open()
        appender = self._appenders.get(relative)
        if appender is None:
            with self._lock:
                appender = self._appenders.get(relative)
                if appender is None:
                    appender = JsonlAppender(run / relative, index_key)
                    self._appenders[relative] = appender
        return appender

    def _read_info(self) -> dict[str, Any]:
        assert self.path is not None
        return read_json(self.path / layout.EXPERIMENT_FILE, default={}) or {}

    def _write_info(self, info: dict[str, Any]) -> None:
        assert self.path is not None
        with file_lock(self.path / ".experiment.lock"):
            write_json_atomic(self.path / layout.EXPERIMENT_FILE, info)

    def _sync_loop(self) -> None:
        last_beat = time.monotonic()
        while not self._stop.wait(FSYNC_SECONDS):
            beat = time.monotonic() - last_beat >= layout.HEARTBEAT_SECONDS
            try:
                self._sync(heartbeat=beat)
            except OSError:
                continue  # a full or vanished disk: the next close() reports it
            if beat:
                last_beat = time.monotonic()

    def _sync(self, heartbeat: bool) -> None:
        """fsync the streams, refresh each metric's metadata.json, and beat the heart."""
        with self._lock:
            if self.path is None:
                return
            for relative, appender in list(self._appenders.items()):
                if not appender.dirty:
                    continue
                appender.fsync()
                if relative.startswith(layout.METRICS_DIR + "/"):
                    self._write_metric_metadata(relative[len(layout.METRICS_DIR) + 1 : -len("/data.jsonl")], appender)
            if heartbeat and self.status == "RUNNING":
                info = self._read_info()
                info["heartbeat_at"] = layout.utc_now()
                self._write_info(info)

    def _write_metric_metadata(self, name: str, appender: JsonlAppender) -> None:
        assert self.path is not None
        meta_path = self.path / layout.METRICS_DIR / name / "metadata.json"
        with file_lock(meta_path.with_name(".metadata.lock")):
            meta = read_json(meta_path, default=None) or {
                "metricId": f"local-metric-{name}", "name": name, "createdAt": layout.utc_now(),
            }
            meta.update(self._metric_meta.get(name, {}))
            total = appender.count
            meta.update(totalDataPoints=total, nextIndex=total, updatedAt=layout.utc_now())
            write_json_atomic(meta_path, meta)


class Parameters:
    """``experiment.parameters().set(...)`` / ``.get()``; nested dicts are stored as dot keys."""

    def __init__(self, experiment: Experiment) -> None:
        self._experiment = experiment

    def set(self, **params: Any) -> Parameters:
        run = self._experiment._require_open()
        flat = flatten(params)
        path = run / layout.PARAMETERS_FILE
        with file_lock(run / ".parameters.lock"):
            doc = read_json(path, default=None)
            now = layout.utc_now()
            if doc:
                doc["data"].update(flat)
                doc.update(version=int(doc.get("version", 1)) + 1, updatedAt=now)
            else:
                doc = {"version": 1, "data": flat, "createdAt": now, "updatedAt": now}
            write_json_atomic(path, doc)
        return self

    def get(self, flatten: bool = True) -> dict[str, Any]:
        data = layout.read_parameters(self._experiment._require_open())
        return data if flatten else unflatten(data)


class Metric:
    """``experiment.metric(name)``: append points with any fields; read them back in order."""

    def __init__(self, experiment: Experiment, name: str, description: str | None,
                 higher_is_better: bool | None, tags: list[str] | None) -> None:
        self._experiment = experiment
        self.name = name
        extra: dict[str, Any] = {}
        if description is not None:
            extra["description"] = description
        if tags is not None:
            extra["tags"] = tags
        if higher_is_better is not None:
            extra["metadata"] = {"higher_is_better": higher_is_better}
        if extra:
            experiment._metric_meta.setdefault(name, {}).update(extra)
        self._relative = f"{layout.METRICS_DIR}/{name}/data.jsonl"

    def append(self, **fields: Any) -> dict[str, Any]:
        """Record one point, e.g. ``append(value=0.91, epoch=3)``; it is in the OS when this returns."""
        index = self._experiment._appender(self._relative, "index").append([_point(fields)])
        return {"index": index}

    def append_batch(self, points: list[dict[str, Any]]) -> dict[str, Any]:
        """Record several points with one write."""
        if not points:
            raise StoreError("append_batch needs at least one point")
        first = self._experiment._appender(self._relative, "index").append([_point(p) for p in points])
        return {"startIndex": first, "endIndex": first + len(points) - 1, "count": len(points)}

    def read(self) -> list[dict[str, Any]]:
        """All points' fields, in the order they were appended."""
        return [record["data"] for record in layout.read_metric(self._experiment._require_open(), self.name)]

    def stats(self) -> dict[str, Any]:
        """count, last, best (by direction), min, max, mean of the ``value`` field."""
        run = self._experiment._require_open()
        values = [point.get("value") for point in self.read()]
        direction = self._experiment._metric_meta.get(self.name, {}).get("metadata", {}).get("higher_is_better")
        if direction is None:
            direction = layout.metric_direction(self.name, layout.read_metric_metadata(run, self.name))
        return {"name": self.name, "higher_is_better": direction, **layout.summarize_values(values, direction)}


def _point(fields: dict[str, Any]) -> dict[str, Any]:
    return {"data": fields, "createdAt": layout.utc_now()}


def _copy_with_sha256(source: Path, dest: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    tmp = dest.with_name(f".{dest.name}.tmp")
    with open(source, "rb") as src, open(tmp, "wb") as out:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, dest)
    shutil.copystat(source, dest)
    return digest.hexdigest(), size


