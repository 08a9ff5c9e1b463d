"""What travels between a study's driver and the Ray node that runs a trial, when the two share no disk.

Out, with the trial: the files it reads from the driver's disk — its task's data files (``--data`` or
``$BAKEOFF_DATA_DIR/<task>``) and a local model folder — each read once per study, put in Ray's object store
once, and written on the node into a temporary folder the trial's config then points at. Aliases of installed
packages, hub ids and bakeoff's built-in tasks resolve on the node itself.

Back, with the summary: the trial runs into a temporary store on the node and returns its whole run folder as
a ``Folder`` (relative path -> the file's bytes: plain data, nothing of ours unpickled from disk), checkpoints
by the study's ``checkpoints`` policy. Paths of the node's temporary folders in the run's JSON files are
rewritten to the driver's, so the record reads as if the trial had run on the driver. The driver lands the
folder in its store atomically: written into a hidden folder inside the study's folder, then renamed into
place, so a resume after a driver crash finds the run whole or not at all (and runs it again).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from bakeoff.errors import BakeoffError
from bakeoff.study.trials import TrialSummary
from bakeoff.study.worker import TrialPayload

Folder = dict[str, bytes]  # a folder's files: relative POSIX path -> bytes

CHECKPOINT_POLICIES = ("all", "best", "none")
INCOMING_PREFIX = ".incoming-"  # a run folder being landed; hidden from the store, cleared when a study starts
NODE_ENV = ("BAKEOFF_STORE", "BAKEOFF_DATA_DIR")  # set on the node by the trial itself, never the driver's paths
REBASED_SUFFIXES = (".json", ".jsonl")


# -- folders as bytes ------------------------------------------------------------------------------------------
def pack(root: Path, files: Iterable[Path] | None = None, keep: Any = lambda relative: True) -> Folder:
    """The files under ``root`` (or just ``files``, which lie under it) as relative path -> bytes.

    >>> pack(Path("run"), keep=lambda relative: not relative.startswith("checkpoint/"))  # doctest: +SKIP
    """
    paths = sorted(files) if files is not None else sorted(p for p in root.rglob("*") if p.is_file())
    folder = {}
    for path in paths:
        relative = path.relative_to(root).as_posix()
        if keep(relative):
            folder[relative] = path.read_bytes()
    return folder


def unpack(folder: Folder, destination: Path) -> None:
    """Write ``folder``'s files under ``destination``; a path that would leave it is refused."""
    for relative, data in folder.items():
        parts = PurePosixPath(relative).parts
        if not parts or PurePosixPath(relative).is_absolute() or ".." in parts:
            raise BakeoffError(f"refused a shipped file with the path {relative!r}: it would be written outside "
                               f"{destination}")
        target = destination.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


# -- out: what a trial reads from the driver's disk --------------------------------------------------------------
@dataclass(frozen=True)
class Shipment:
    """One folder of the driver's a trial reads. ``kind``: ``model`` (config's model), ``data`` (config's data,
    a folder or, with ``file``, one file in ``source``) or ``data_dir`` (``$BAKEOFF_DATA_DIR/<task>``)."""

    kind: str
    source: str  # the folder on the driver, absolute
    files: tuple[str, ...] = ()  # the files in it the trial reads (empty: the whole folder)
    file: str | None = None  # config's data names this one file of ``source``

    def read(self) -> Folder:
        root = Path(self.source)
        return pack(root, [root / name for name in self.files] if self.files else None)


def shipments(config: dict[str, Any]) -> list[Shipment]:
    """What a trial with this config reads from the driver's disk, to be shipped to the node that runs it.

    >>> shipments({"model": "minilm-l6", "task": "demo", "data": None})  # alias and built-in task: nothing
    []
    """
    from bakeoff.config.embedding import is_embedding
    from bakeoff.data import local_files
    from bakeoff.models import aliases
    from bakeoff.tasks import get_task

    found = []
    model = str(config["model"])
    if model not in aliases() and Path(model).expanduser().is_dir():  # else an alias or a hub id: the node's
        found.append(Shipment("model", os.path.abspath(Path(model).expanduser())))
    elif model not in aliases() and is_embedding(config) and (run := _trained_run(model)) is not None:
        found.append(run)  # an embedding study's trained run (project/name or id): its folder, as on the driver
    data = Path(config["data"]).expanduser() if config.get("data") else None
    local = local_files(get_task(config["task"]) if config.get("task") else None, data)
    if local is not None:
        root, files = local
        names = tuple(sorted(path.relative_to(root).as_posix() for path in files))
        if data is None:
            found.append(Shipment("data_dir", os.path.abspath(root), names))
        else:
            found.append(Shipment("data", os.path.abspath(root), names, None if data.is_dir() else data.name))
    return found


def _trained_run(reference: str) -> Shipment | None:
    """A run of the driver's store named by ``reference``, as the files an embedding trial reads from it (its
    record, result and checkpoint; not its metrics, logs or compressed models); None if no run has that name."""
    from bakeoff.errors import StoreError
    from bakeoff.track import Store

    try:
        run = Store().get(reference)
    except StoreError:
        return None  # a hub id, then
    root = run.path.resolve()
    skipped = ("compressed", "metrics", "logs", "files")
    names = sorted(path.relative_to(root).as_posix() for path in root.rglob("*")
                   if path.is_file() and path.relative_to(root).parts[0] not in skipped)
    return Shipment("model", str(root), tuple(names))


# -- on the node: run the trial on shipped files, return its run folder ------------------------------------------
def run_on_node(payload: TrialPayload, shipped: list[tuple[Shipment, Folder]], driver_store: str,
                weights: Callable[[TrialSummary], bool] = lambda summary: True) -> tuple[TrialSummary, Folder]:
    """Run one trial in a temporary folder on this node; its summary and its run folder (paths rebased).

    ``weights``: asked once the trial has ended, whether its checkpoint travels back (see ``keeps_checkpoint``).
    """
    from bakeoff.study.worker import run_trial

    with tempfile.TemporaryDirectory(prefix="bakeoff-trial-") as scratch:
        node = Path(scratch).resolve()
        work = node / "work"  # the trial's working folder: relative paths as the study wrote them resolve here
        work.mkdir()
        config, env, rebase = dict(payload.config), {"BAKEOFF_STORE": str(node / "store")}, {}
        rebase[str(node / "store")] = os.path.abspath(driver_store)
        for shipment, folder in shipped:
            if shipment.kind == "data_dir":  # the task's folder, in a data folder of the node's own
                where = node / shipment.kind
                unpack(folder, where / Path(shipment.source).name)
                env["BAKEOFF_DATA_DIR"] = str(where)
                rebase[str(where)] = os.path.dirname(shipment.source)
                continue
            typed = str(config[shipment.kind])  # the model or data path as the study wrote it
            where = _place(typed, shipment, work) or node / shipment.kind
            unpack(folder, where)
            if not where.is_relative_to(work):
                config[shipment.kind] = str(where / shipment.file) if shipment.file else str(where)
            if shipment.file:
                rebase[str(where / shipment.file)] = os.path.join(shipment.source, shipment.file)
            rebase[str(where)] = shipment.source
        with _environment(env), _working_folder(work):
            summary = run_trial(TrialPayload(payload.trial, config, payload.compress))
        run_dir = node / "store" / config["project"] / config["name"]
        if not run_dir.is_dir():
            raise BakeoffError(f"trial {payload.trial}: no run folder in the node's store after the trial")
        _rebase(run_dir, rebase)
        kept = weights(summary)
        return summary, pack(run_dir, keep=lambda relative: travels(relative, kept))


def _place(typed: str, shipment: Shipment, work: Path) -> Path | None:
    """Where a relative path (``models/mine``, ``reviews.csv``) resolves from the node's working folder, so the
    trial's config, and so its record, keeps the path as written; None for an absolute one or one that leaves it."""
    path = PurePosixPath(typed)
    if path.is_absolute() or typed.startswith("~") or ".." in path.parts:
        return None
    return work.joinpath(*(path.parent.parts if shipment.file else path.parts))


def travels(relative: str, weights: bool) -> bool:
    """Whether a file of a run folder travels back: all but model weights, which travel with ``weights``.

    >>> travels("compressed/dynamic-int8/report.json", weights=False), travels("checkpoint/config.json", False)
    (True, False)
    """
    from bakeoff.runs.files import CHECKPOINT_DIR, COMPRESSED_DIR, REPORT_FILE

    if relative.startswith(f"{CHECKPOINT_DIR}/"):
        return weights
    if relative.startswith(f"{COMPRESSED_DIR}/"):  # a compression's report always; its model with the checkpoint
        return weights or relative.endswith(f"/{REPORT_FILE}")
    return True


def keeps_checkpoint(policy: str, summary: TrialSummary, offer: Callable[[str, float], bool]) -> bool:
    """Whether an ended trial's checkpoint travels back: ``all``; ``none``; ``best``: when ``offer`` (a
    ``BestSoFar``'s, for the trial's task) finds its metric at least as good as every trial of its task that ended
    before it, so the study's best trial always has its checkpoint.

    >>> keeps_checkpoint("best", TrialSummary("t", "COMPLETED", 0.8, "accuracy"), lambda name, value: False)
    False
    """
    if policy == "all":
        return True
    if policy == "none" or summary.status != "COMPLETED" or summary.metric is None or summary.metric_name is None:
        return False
    return offer(summary.metric_name, summary.metric)


class BestSoFar:
    """The best validation metric of each task among a study's ended trials (``checkpoints: best``). On Ray it is
    one actor, which each trial asks as it ends, so the answer knows every trial that ended before."""

    def __init__(self) -> None:
        self._best: dict[str, dict[str, float]] = {}

    def offer(self, task: str, metric_name: str, value: float) -> bool:
        """Whether ``value`` is at least the best of ``task`` so far (a tie too); recorded when it is.

        >>> best = BestSoFar(); best.offer("sst2", "accuracy", 0.8), best.offer("sst2", "accuracy", 0.7)
        (True, False)
        """
        from bakeoff.metrics import is_better

        best = self._best.setdefault(task, {})
        so_far = best.get(metric_name)
        if so_far is None or value == so_far or is_better(metric_name, value, so_far):
            best[metric_name] = value
            return True
        return False


def task_key(config: dict[str, Any]) -> str:
    """The task a trial is compared within: its task's name, or its own data."""
    return str(config.get("task") or config.get("data"))


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """This trial's store and data folder in the environment; the worker's own back after (Ray reuses it)."""
    saved = {key: os.environ.get(key) for key in NODE_ENV}
    for key in NODE_ENV:
        os.environ.pop(key, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def _working_folder(folder: Path) -> Iterator[None]:
    saved = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(saved)


def _rebase(run_dir: Path, paths: dict[str, str]) -> None:
    """Rewrite the node's temporary paths in the run's JSON files to the driver's, as JSON writes them."""
    pairs = []
    for node_path, driver_path in sorted(paths.items(), key=lambda item: -len(item[0])):  # longest first
        for ascii_only in (True, False):
            pairs.append((json.dumps(node_path, ensure_ascii=ascii_only)[1:-1],
                          json.dumps(driver_path, ensure_ascii=ascii_only)[1:-1]))
    for path in run_dir.rglob("*"):
        if path.suffix not in REBASED_SUFFIXES or not path.is_file():
            continue
        text = original = path.read_text(encoding="utf-8")
        for old, new in pairs:
            text = text.replace(old, new)
        if text != original:
            path.write_text(text, encoding="utf-8")


# -- back on the driver: land the run folder, or record the crash ------------------------------------------------
def land(folder: Folder, store_root: Path, project: str, name: str) -> Path:
    """Write a trial's run folder into the store at ``<project>/<name>``, all at once or not at all."""
    project_dir = store_root / project
    project_dir.mkdir(parents=True, exist_ok=True)
    incoming = Path(tempfile.mkdtemp(prefix=INCOMING_PREFIX, dir=project_dir))
    try:
        # one level down: the store lists <project>/*/experiment.json, so a half-written run is never seen
        unpack(folder, incoming / name)
        target = project_dir / name
        if target.exists():  # a leftover of a killed study the runner did not clear: the new record wins
            shutil.rmtree(target)
        os.rename(incoming / name, target)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)
    return target


def clear_incoming(project_dir: Path) -> None:
    """Remove folders a killed driver left half-landed (the study's lock is held: none is being written)."""
    if project_dir.is_dir():
        for leftover in project_dir.glob(f"{INCOMING_PREFIX}*"):
            shutil.rmtree(leftover, ignore_errors=True)


def record_crashed(payload: TrialPayload, error: str, store_root: Path) -> None:
    """A CRASHED run in the driver's store for a trial whose Ray worker or node died (re-run on resume)."""
    from bakeoff.track import Experiment, StoreError

    config = payload.config
    try:
        with Experiment(name=config["name"], project=config["project"], tags=config.get("tags"),
                        local_path=store_root, if_exists="error") as experiment:
            experiment.parameters().set(**config)
            experiment.log(error, level="error")
            experiment.close("CRASHED", error)
    except StoreError:  # a record of it is there already: keep that one
        pass
