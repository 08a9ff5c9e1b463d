"""Export a project's runs to an MLflow tracking server, again and again, adding only what is new.

Each bakeoff run becomes one MLflow run, found again by its ``bakeoff.run_id`` tag, so exporting twice never makes
a second one. Per run, in this order (an export stopped anywhere resumes cleanly on the next one):

1. parameters not yet there (MLflow's are immutable: a value that changed in the store since is reported, and the
   ``bakeoff/parameters.json`` artefact has the store's current values);
2. tags that differ (study, variant, seed, task, model, problem type, project, ...);
3. every metric point not yet sent, with its step and time, 999 to a ``log_batch`` call with a tag counting the
   store records sent so far (``bakeoff.points.<metric>``). Points and their count travel in one call; should a
   server die between storing the two, the next export sends those points again and MLflow's SQL store drops
   the exact repeats (same key, time, step and value), so no point is doubled;
4. artefacts whose group changed (``artefacts.py``);
5. the status (COMPLETED -> FINISHED, FAILED or CRASHED -> FAILED, INTERRUPTED -> KILLED) and end time, last,
   so a run reads finished only once everything of it is there.

>>> summary = export_project("tiny-study", "http://127.0.0.1:5000")  # doctest: +SKIP
>>> summary.count("created"), summary.points  # doctest: +SKIP
(4, 1184)
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bakeoff.config import variant_of
from bakeoff.errors import BakeoffError
from bakeoff.export.artefacts import artefact_groups, fingerprint
from bakeoff.export.fields import MAX_PARAM_LENGTH as PARAM_LIMIT
from bakeoff.export.fields import MAX_TAG_LENGTH, MlflowKeys, cut, param_value
from bakeoff.export.points import (
    MAX_TAGS_PER_BATCH,
    Batch,
    pack,
    timestamp_ms,
    to_mlflow_points,
)
from bakeoff.io import check_free_space, read_json
from bakeoff.runs.files import RESULT_FILE
from bakeoff.track import Run, Store, layout

RUN_ID_TAG = "bakeoff.run_id"
STATUS_TAG = "bakeoff.status"
PROJECT_TAG = "bakeoff.project"
POINTS_TAG = "bakeoff.points."  # + metric name: how many of its store records are in MLflow
ARTEFACTS_TAG = "bakeoff.artifacts"  # {group: fingerprint} of the artefact groups uploaded
MLFLOW_STATUS = {"COMPLETED": "FINISHED", "RUNNING": "RUNNING", "FAILED": "FAILED", "CRASHED": "FAILED",
                 "INTERRUPTED": "KILLED", "UNKNOWN": "FINISHED"}  # UNKNOWN: an ml-dash run, which records none
PROBE_SECONDS = 5.0
QUIET_VARIABLE = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"
NOT_INSTALLED = "MLflow is not installed: pip install 'bakeoff[mlflow]'"


@dataclass
class RunExport:
    """What one export did to one run: ``action`` is created, updated, unchanged or skipped."""

    run_id: str
    name: str
    status: str
    action: str = "unchanged"
    mlflow_run_id: str | None = None
    points: int = 0
    params: int = 0
    tags: int = 0
    artefacts: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class ExportSummary:
    """Every run of one export, and where they went."""

    project: str
    tracking_uri: str
    experiment: str
    experiment_id: str
    runs: list[RunExport]

    @property
    def points(self) -> int:
        return sum(run.points for run in self.runs)

    def count(self, action: str) -> int:
        return sum(run.action == action for run in self.runs)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "points": self.points}


def export_project(project: str, tracking_uri: str, *, experiment: str | None = None, checkpoints: bool = False,
                   store: Store | None = None, workers: int = 4,
                   progress: Callable[[RunExport], None] | None = None) -> ExportSummary:
    """Export every run of a store project to the MLflow experiment ``experiment`` (default: the project's name).

    Args:
        project: the store project (a study's ``name``).
        tracking_uri: ``http(s)://host:port`` of a tracking server, or a backend URI such as ``sqlite:///mlflow.db``.
        experiment: the MLflow experiment, created when missing.
        checkpoints: upload ``checkpoint/`` and the compressed models too (large).
        store: the store to read (default ``$BAKEOFF_STORE`` or ``.bakeoff``).
        workers: runs exported at the same time (each run's own calls stay in order).
        progress: called with each run's ``RunExport`` as soon as it is done.
    """
    store = store or Store()
    runs = store.list(project)
    if not runs:
        raise BakeoffError(f"no runs in project {project!r} of {store.root}: `bakeoff runs ls` lists the projects")
    client = connect(tracking_uri)
    name = experiment or project
    with _mlflow_errors(f"MLflow at {tracking_uri} refused experiment {name!r}"):
        found = _live_experiment(client, name)
        exported = _exported_runs(client, found.experiment_id) if found is not None else {}
        _check_room(client, found, runs, exported, checkpoints)  # before the experiment or any run is made
        experiment_id = found.experiment_id if found is not None else client.create_experiment(
            name, tags={PROJECT_TAG: project})

    def one(run: Run) -> RunExport:
        with _mlflow_errors(f"MLflow at {tracking_uri} refused run {run.project}/{run.name} "
                            "(what was sent stays; export again to resume)"):
            return export_run(client, experiment_id, run, exported.get(run.id), checkpoints)

    outcomes = []
    # Several runs in flight: each call waits on the network and the server's database, not on this process
    # (4 threads: 1.2-1.5x one on 2 cores against a one-worker SQLite server; BENCHMARKS.md).
    with _quiet_mlflow(), ThreadPoolExecutor(max(1, workers), thread_name_prefix="bakeoff-export") as pool:
        futures = [pool.submit(one, run) for run in runs]
        try:
            for future in futures:
                outcomes.append(future.result())
                if progress is not None:
                    progress(outcomes[-1])
        except BaseException:
            for future in futures:  # runs not started yet stay for the next export
                future.cancel()
            raise
    return ExportSummary(project, tracking_uri, name, experiment_id, outcomes)


def connect(tracking_uri: str) -> Any:
    """An ``MlflowClient`` for ``tracking_uri``, once a server there answers (one clear error line if none does)."""
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise BakeoffError(NOT_INSTALLED) from None
    address = _check_uri(tracking_uri)
    if address.scheme in ("http", "https"):
        # MLflow's client retries a refused connection for minutes; a user who mistyped a port deserves a line now
        port = address.port or (443 if address.scheme == "https" else 80)
        try:
            socket.create_connection((address.hostname or "localhost", port), timeout=PROBE_SECONDS).close()
        except OSError as error:
            raise BakeoffError(f"no MLflow tracking server answers at {tracking_uri} ({error.strerror or error}): "
                               "start one (mlflow server --host 127.0.0.1 --port 5000) or fix --tracking-uri") from None
        _check_is_mlflow(tracking_uri)
    with _mlflow_errors(f"--tracking-uri {tracking_uri}: MLflow cannot use it"):
        return MlflowClient(tracking_uri=tracking_uri)


KNOWN_SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql", "databricks", "file")
USE_INSTEAD = ("give the address `mlflow server` prints (http://HOST:PORT) or a database URI such as "
               "sqlite:///mlflow.db")


def _check_uri(tracking_uri: str) -> Any:
    """The parsed URI, once it names a scheme MLflow takes (and, for http(s), a host)."""
    from difflib import get_close_matches

    address = urlparse(tracking_uri)
    scheme = address.scheme.split("+")[0]  # postgresql+psycopg2://...
    if not scheme or " " in tracking_uri:
        raise BakeoffError(f"--tracking-uri {tracking_uri!r} is not a tracking URI: {USE_INSTEAD}")
    if scheme not in _mlflow_schemes():
        close = get_close_matches(scheme, KNOWN_SCHEMES, n=1)
        hint = f"did you mean {close[0]}://...? " if close else ""
        raise BakeoffError(f"--tracking-uri {tracking_uri!r}: MLflow takes no {scheme!r} URIs "
                           f"({', '.join(KNOWN_SCHEMES)}): {hint}{USE_INSTEAD}")
    if scheme in ("http", "https") and not address.hostname:
        raise BakeoffError(f"--tracking-uri {tracking_uri!r} names no host: write {scheme}://HOST:PORT "
                           f"(e.g. {scheme}://127.0.0.1:5000)")
    return address


def _mlflow_schemes() -> set[str]:
    """The URI schemes this MLflow (with its plugins) has a tracking store for."""
    try:
        from mlflow.tracking._tracking_service.utils import _tracking_store_registry

        return {scheme for scheme in _tracking_store_registry._registry if scheme}
    except (ImportError, AttributeError):  # a private registry: if it moves, the common schemes
        return set(KNOWN_SCHEMES)


def _check_is_mlflow(tracking_uri: str) -> None:
    """Something listens at an http(s) address: refuse it when it is not an MLflow tracking server, whose ``/health``
    answers 200 (a 401 or 403 is a server that wants credentials: MLflow's client sends them)."""
    import http.client
    import urllib.error
    import urllib.request

    url = tracking_uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=PROBE_SECONDS) as response:  # noqa: S310 - http(s) checked above
            status, body = response.status, response.read(64)
    except urllib.error.HTTPError as error:
        status, body = error.code, b""
    except (OSError, http.client.HTTPException) as error:  # not HTTP at all, or silent
        reason = getattr(error, "reason", None) or error
        raise BakeoffError(f"something listens at {tracking_uri} but it is not an MLflow tracking server (it does "
                           f"not answer HTTP: {reason}): {USE_INSTEAD}") from None
    if status in (401, 403) or (status == 200 and body.strip() == b"OK"):
        return
    raise BakeoffError(f"{tracking_uri} answers, but it is not an MLflow tracking server (GET /health: HTTP {status}"
                       f"{', not OK' if status == 200 else ''}): {USE_INSTEAD}")


def export_run(client: Any, experiment_id: str, run: Run, found: Any | None, checkpoints: bool = False) -> RunExport:
    """Bring one MLflow run up to date with one bakeoff run (``found``: its MLflow run so far, if any)."""
    outcome = RunExport(run.id, run.name, run.status)
    if found is not None and found.info.lifecycle_stage == "deleted":
        outcome.action, outcome.mlflow_run_id = "skipped", found.info.run_id
        outcome.notes.append("deleted in MLflow: restore it there, or purge it (mlflow gc) to export it anew")
        return outcome
    result = read_json(run.path / RESULT_FILE, default=None)
    tags = run_tags(run, result if isinstance(result, dict) else None)
    if found is None:
        started = _ms(run.info.get("started_at") or run.info.get("created_at"))
        found = client.create_run(experiment_id, start_time=started,
                                  tags={RUN_ID_TAG: run.id, PROJECT_TAG: run.project}, run_name=run.name)
        outcome.action = "created"
    outcome.mlflow_run_id = mlflow_id = found.info.run_id
    have_params, have_tags = dict(found.data.params), dict(found.data.tags)

    params = {key: cut(param_value(value), PARAM_LIMIT) for key, value in _param_keys(run.parameters()).items()}
    new_params = {k: v for k, v in params.items() if k not in have_params}
    changed = sorted(k for k, v in params.items() if k in have_params and have_params[k] != v)
    if changed:
        outcome.notes.append("parameters changed in the store since the last export, kept as first sent (MLflow's "
                             f"are immutable; bakeoff/parameters.json has the new values): {', '.join(changed)}")
    new_tags = {k: v for k, v in tags.items() if have_tags.get(k) != v}
    _log_fields(client, mlflow_id, new_params, new_tags)
    outcome.params, outcome.tags = len(new_params), len(new_tags)

    outcome.points = _log_points(client, mlflow_id, run, have_tags)
    outcome.artefacts = _log_artefacts(client, mlflow_id, run, have_tags, checkpoints)
    if _log_status(client, found, run):
        outcome.tags += 1
    if outcome.action != "created" and (outcome.params or outcome.tags or outcome.points or outcome.artefacts):
        outcome.action = "updated"
    return outcome


def run_tags(run: Run, result: dict[str, Any] | None) -> dict[str, str]:
    """The tags that identify a run in MLflow's search (``tags.model = 'minilm-l6'``); status is set last."""
    params = run.parameters()
    labels = list(run.info.get("tags") or [])
    named = dict(label.split(":", 1) for label in labels if ":" in label)  # a study's "study:x", "trial:y", "rung:0"
    tags = {RUN_ID_TAG: run.id, PROJECT_TAG: run.project, "bakeoff.name": run.name,
            "study": named.get("study"), "trial": named.get("trial"), "rung": named.get("rung"),
            "task": params.get("task"), "model": params.get("model"), "seed": params.get("seed"),
            "problem_type": params.get("problem_type_resolved") or _problem_type(result),
            "variant": variant_of(result["config"]) if result and isinstance(result.get("config"), dict) else None,
            "bakeoff.tags": ", ".join(labels) or None, "mlflow.note.content": run.info.get("description"),
            "bakeoff.error": run.info.get("error")}
    return {key: cut(str(value), MAX_TAG_LENGTH) for key, value in tags.items() if value is not None}


def _problem_type(result: dict[str, Any] | None) -> str | None:
    """A trained run's problem type from its ``result.json`` (single_label, regression, multi_label), else None."""
    data = result.get("data") if result else None
    return data.get("problem_type") if isinstance(data, dict) else None


# -- the steps ------------------------------------------------------------------------------------------------
def _log_fields(client: Any, mlflow_id: str, params: dict[str, str], tags: dict[str, str]) -> None:
    from mlflow.entities import Param, RunTag

    param_items, tag_items = list(params.items()), list(tags.items())
    for start in range(0, max(len(param_items), len(tag_items)), MAX_TAGS_PER_BATCH):
        client.log_batch(mlflow_id,
                         params=[Param(k, v) for k, v in param_items[start : start + MAX_TAGS_PER_BATCH]],
                         tags=[RunTag(k, v) for k, v in tag_items[start : start + MAX_TAGS_PER_BATCH]])


def _log_points(client: Any, mlflow_id: str, run: Run, have_tags: dict[str, str]) -> int:
    from mlflow.entities import Metric, RunTag

    metric_keys, tag_keys = MlflowKeys(), MlflowKeys()
    pending = []
    for name in run.metric_names():
        counter = tag_keys.key(f"{POINTS_TAG}{name}")
        sent = int(have_tags.get(counter, 0))
        records = layout.read_metric(run.path, name)[sent:]
        if records:
            pending.append((counter, sent, to_mlflow_points(name, records, metric_keys.key)))
    batches: list[Batch] = pack(pending)
    for batch in batches:
        client.log_batch(mlflow_id, metrics=[Metric(*values) for values in batch.metrics],
                         tags=[RunTag(key, str(count)) for key, count in batch.counters.items()])
    return sum(len(batch.metrics) for batch in batches)


def _log_artefacts(client: Any, mlflow_id: str, run: Run, have_tags: dict[str, str], checkpoints: bool) -> int:
    uploaded = json.loads(have_tags.get(ARTEFACTS_TAG) or "{}")
    now = dict(uploaded)
    count = 0
    for group, artefacts in artefact_groups(run, checkpoints).items():
        mark = fingerprint(artefacts)
        if uploaded.get(group) == mark:
            continue
        for artefact in artefacts:
            if artefact.local.is_dir():  # log_artifacts puts a folder's contents, not the folder, at the path
                client.log_artifacts(mlflow_id, str(artefact.local), artefact.name)
            else:
                client.log_artifact(mlflow_id, str(artefact.local), artefact.artifact_path)
            count += 1
        now[group] = mark
    if now != uploaded:
        client.set_tag(mlflow_id, ARTEFACTS_TAG, json.dumps(now, sort_keys=True, separators=(",", ":")))
    return count


def _log_status(client: Any, found: Any, run: Run) -> bool:
    """Set MLflow's status, end time and the ``bakeoff.status`` tag where they differ; True if anything did."""
    status = MLFLOW_STATUS.get(run.status, "FINISHED")
    end = _ms(run.info.get("ended_at")) if status != "RUNNING" else None
    info = found.info
    moved = info.status != status or (end is not None and info.end_time != end)
    if moved and status == "RUNNING":
        client.update_run(info.run_id, status="RUNNING")
    elif moved:
        client.set_terminated(info.run_id, status, end)
    if found.data.tags.get(STATUS_TAG) != run.status:
        client.set_tag(info.run_id, STATUS_TAG, run.status)
        moved = True
    return moved


# -- helpers --------------------------------------------------------------------------------------------------
def _live_experiment(client: Any, name: str) -> Any:
    """The MLflow experiment ``name``, None when there is none yet; a deleted one is refused in one line."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None and experiment.lifecycle_stage == "deleted":
        raise BakeoffError(f"MLflow experiment {name!r} is deleted: restore it (mlflow experiments restore "
                           f"--experiment-id {experiment.experiment_id}) or export with --experiment OTHER")
    return experiment


ROOM_FIX = ("free some space there, or send the artefacts elsewhere: a tracking server with its own artefact store "
            "(mlflow server --artifacts-destination ...), or another --tracking-uri")


def _check_room(client: Any, experiment: Any, runs: list[Run], exported: dict[str, Any], checkpoints: bool) -> None:
    """Refuse an export whose artefacts cannot fit where MLflow would copy them on this machine: the groups not yet
    uploaded (or changed since), summed. A tracking server's store, or a bucket, is not this machine's disk to
    check: the server's own refusal is then the line."""
    folder = local_artifact_folder(client, experiment)
    if folder is None:
        return
    needed = 0
    for run in runs:
        found = exported.get(run.id)
        uploaded = json.loads((found.data.tags.get(ARTEFACTS_TAG) if found is not None else None) or "{}")
        for group, artefacts in artefact_groups(run, checkpoints).items():
            if uploaded.get(group) != fingerprint(artefacts):
                needed += sum(_size(artefact.local) for artefact in artefacts)
    check_free_space(folder, needed, f"the export of {len(runs)} run(s)' artefacts", fix=ROOM_FIX)


def local_artifact_folder(client: Any, experiment: Any) -> Path | None:
    """The folder on this machine where MLflow copies the experiment's artefacts (a new experiment's: the tracking
    store's default root), or None where they go elsewhere (``mlflow-artifacts:`` through a server, s3://, ...).

    >>> from types import SimpleNamespace
    >>> local_artifact_folder(None, SimpleNamespace(artifact_location="file:///srv/mlruns/1"))
    PosixPath('/srv/mlruns/1')
    >>> local_artifact_folder(None, SimpleNamespace(artifact_location="mlflow-artifacts:/1")) is None
    True
    """
    from urllib.parse import unquote

    if experiment is not None:
        location = experiment.artifact_location
    else:  # MLflow's own attribute on its file and SQL stores; a REST store has none (the server decides)
        store = getattr(getattr(client, "_tracking_client", None), "store", None)
        location = getattr(store, "artifact_root_uri", None)
    if not isinstance(location, str) or not location:
        return None
    address = urlparse(location)
    if address.scheme == "file":
        return Path(unquote(address.path))
    if address.scheme == "" or (len(address.scheme) == 1 and os.name == "nt"):  # a plain path (C:\ on Windows)
        return Path(location).absolute()
    return None


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.is_file() else 0


def _exported_runs(client: Any, experiment_id: str) -> dict[str, Any]:
    """The experiment's runs that came from bakeoff, by bakeoff run id (deleted ones too: never duplicated)."""
    from mlflow.entities import ViewType

    found: dict[str, Any] = {}
    token = None
    while True:
        page = client.search_runs([experiment_id], filter_string=f"tags.`{RUN_ID_TAG}` LIKE '%'",
                                  run_view_type=ViewType.ALL, max_results=1000, page_token=token,
                                  order_by=["attributes.start_time ASC"])
        for mlflow_run in page:
            found.setdefault(mlflow_run.data.tags[RUN_ID_TAG], mlflow_run)  # oldest wins if someone copied one
        token = page.token
        if not token:
            return found


def _param_keys(params: dict[str, Any]) -> dict[str, Any]:
    keys = MlflowKeys()
    return {keys.key(name): value for name, value in params.items()}


@contextlib.contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """No "View run at ..." line on stdout per finished run (it would break ``--json``, and costs a request)."""
    previous = os.environ.get(QUIET_VARIABLE)
    os.environ[QUIET_VARIABLE] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(QUIET_VARIABLE, None)
        else:
            os.environ[QUIET_VARIABLE] = previous


def _ms(moment: str | None) -> int | None:
    return timestamp_ms(moment) if moment else None


@contextlib.contextmanager
def _mlflow_errors(context: str) -> Iterator[None]:
    """Turn an ``MlflowException`` (a refusal, or a server gone after MLflow's retries) into one line."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as error:
        raise BakeoffError(f"{context}: {whole_sentences(str(error.message))}") from None


def whole_sentences(text: str, limit: int = 400) -> str:
    """``text`` on one line, cut after the last whole sentence that fits in ``limit`` characters (never mid-word).

    >>> whole_sentences("The store is read-only. Migrate it. See the docs at length.", 40)
    'The store is read-only. Migrate it.'
    """
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    head = line[:limit]
    end = max(head.rfind(". "), head.rfind(": "))
    return head[:end + 1] if end > 0 else head.rsplit(" ", 1)[0] + " ..."
