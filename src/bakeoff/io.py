"""Crash-safe file primitives for every part of bakeoff: atomic JSON documents, append-only JSONL streams,
file locks and checksums.

Two rules keep a run readable whatever happens to the process that writes it:

* a JSON document is never rewritten in place: it is written to a temporary file in the same folder,
  fsynced, and ``os.replace``d over the old one, so a reader sees the old or the new document, never half;
* a JSONL stream is only ever appended to, one whole line per ``os.write`` on an ``O_APPEND`` descriptor,
  so a point is in the OS (it survives the death of the process) as soon as ``append`` returns.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def dumps(obj: Any) -> str:
    """One compact JSON line. NaN and infinities are written as JSON5 tokens, which Python reads back."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=True, default=str)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` to ``path`` so that a kill at any instant leaves the old or the new document."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(obj, handle, indent=2, allow_nan=True, default=str)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path, default: Any = None) -> Any:
    """Read a JSON document; ``default`` when it does not exist."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return default


def sha256(path: Path) -> str:
    """The file's sha256, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock between processes (``flock`` on a sidecar lock file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class JsonlAppender:
    """Appends numbered records to a JSONL file shared by any number of threads and processes.

    Each record gets the next index of the file (``index_key``), so indices stay unique and dense when
    several processes append to the same run. The index is kept in memory and re-synchronised only when
    another writer has grown the file since our last write (one ``fstat`` under the lock tells).
    """

    def __init__(self, path: Path, index_key: str) -> None:
        self.path = path
        self.index_key = index_key
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
        self._thread_lock = threading.RLock()  # re-entrant: a SIGTERM handler may close mid-append
        self._known_size = -1  # file size after our last write; -1 forces a first count
        self._next_index = 0
        self.dirty = False

    def append(self, records: Sequence[dict[str, Any]]) -> int:
        """Append records (each gets ``index_key``) in one write; returns the index of the first."""
        with self._thread_lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                self._catch_up()
                first = self._next_index
                lines = []
                for offset, record in enumerate(records):
                    lines.append(dumps({self.index_key: first + offset, **record}))
                payload = ("\n".join(lines) + "\n").encode("utf-8")
                written = os.write(self._fd, payload)
                if written != len(payload):  # only on a full disk: say so rather than leave a torn line
                    raise OSError(f"short write to {self.path}: {written} of {len(payload)} bytes")
                self._next_index = first + len(records)
                self._known_size += len(payload)
                self.dirty = True
                return first
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    @property
    def count(self) -> int:
        """Records in the file as of our last write or sync."""
        with self._thread_lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                self._catch_up()
                return self._next_index
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _catch_up(self) -> None:
        """Recount the records another writer added; terminate a line a killed writer left torn."""
        size = os.fstat(self._fd).st_size
        if size == self._known_size:
            return
        with open(self.path, "rb") as handle:
            data = handle.read(size)
        if data and not data.endswith(b"\n"):
            os.write(self._fd, b"\n")  # the torn line stays, alone, and readers skip it
            data += b"\n"
        self._next_index = _last_index(data, self.index_key)
        self._known_size = len(data)

    def fsync(self) -> None:
        if self.dirty:
            os.fsync(self._fd)
            self.dirty = False

    def close(self) -> None:
        with self._thread_lock:
            if self._fd >= 0:
                self.fsync()
                os.close(self._fd)
                self._fd = -1


def _last_index(data: bytes, index_key: str) -> int:
    """The index after the last well-formed record of ``data`` (0 for an empty file)."""
    for line in reversed(data.splitlines()):
        try:
            return int(json.loads(line)[index_key]) + 1
        except (ValueError, KeyError, TypeError):
            continue  # a torn line: look further back
    return 0


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All records of a JSONL file, in order. A torn line (from a kill) is skipped with a warning."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return []
    lines = [line for line in data.split(b"\n") if line.strip()]
    try:  # one parse for the whole file is several times faster than a parse per line
        return json.loads(b"[" + b",".join(lines) + b"]")
    except ValueError:
        pass
    records = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            warnings.warn(f"{path}: skipped unreadable line {number} (a write cut short)", stacklevel=2)
    return records


def check_out(out: str | Path, flag: str = "--out", example: str = "out.json") -> Path:
    """Refuse an output path that cannot be written, before any work: empty, a folder, under a file, or in a place
    this process cannot write. Nothing is created (a probe file, if any, is removed at once).

    Raises ``BakeoffError`` (imported here to keep io.py free of bakeoff imports at module level).
    """
    from bakeoff.errors import BakeoffError

    text = str(out)
    if not text.strip() or text.strip() in (".", ".."):
        shown = "an empty name" if text.strip() in ("", ".") else repr(text)  # typer reads "" as "."
        raise BakeoffError(f"{flag} {shown}: give a file name, e.g. {flag} {example}")
    path = Path(text).expanduser()
    if path.is_dir():
        raise BakeoffError(f"{flag} {path} is a folder: give a file name, e.g. {flag} {path / example}")
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise BakeoffError(f"{flag} {path}: {existing} is a file, not a folder: choose another place")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".bakeoff-write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise BakeoffError(f"{flag} {path}: cannot write in {existing} ({error.strerror or error}): choose a "
                           "folder you can write to") from None
    return path


# ---- a full disk: said in plain words, and checked before long work -----------------------------------------------

DISK_FULL_ERRNOS = {28, 122}  # ENOSPC, EDQUOT (a quota: full for this user)
DISK_FULL_WORDS = ("No space left on device", "Disk quota exceeded")


def disk_full_reason(error: BaseException) -> str | None:
    """Why ``error`` means the disk is full, or None: an ``OSError`` with errno ENOSPC/EDQUOT anywhere in its chain
    of causes, the same words in a library's own error (safetensors: ``SafetensorError``), or numpy's short write
    (``768000 requested and 524256 written``, which carries no errno).

    >>> disk_full_reason(OSError(28, "No space left on device", "/store/run/model.safetensors"))
    'No space left on device: /store/run/model.safetensors'
    >>> disk_full_reason(ValueError("bad")) is None
    True
    """
    import re

    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS:
            where = error.filename
            return f"{error.strerror or os.strerror(error.errno)}{f': {where}' if where else ''}"
        text = str(error)
        for words in DISK_FULL_WORDS:
            if words in text:
                return words
        short = re.search(r"(\d+) requested and (\d+) written", text)
        if short:
            return f"a write stopped short ({short.group(0)})"
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return None


def free_bytes(folder: Path) -> int:
    """Bytes free for this user on the file system that holds ``folder`` (or its nearest existing parent)."""
    folder = Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


SPACE_MARGIN = 1.2  # what a run writes besides its main file (tokenizer, predictions, metrics), and a reserve


DEFAULT_FIX = "free some space, or write elsewhere (BAKEOFF_STORE on another disk for runs, --out for files)"


def check_free_space(folder: Path, needed: int, what: str, fix: str = DEFAULT_FIX) -> None:
    """Refuse long work whose output cannot fit: ``needed`` bytes (a rough estimate of what ``what`` will write, with
    a margin) against what is free where it goes. Errs on the side of starting: a file system that cannot say is
    not refused. ``fix`` is what the user can do, said after the figures.

    Raises:
        BakeoffError: the disk is full, or too full for the estimate.
    """
    from bakeoff.errors import BakeoffError

    try:
        free = free_bytes(folder)
    except OSError:
        return
    wanted = int(needed * SPACE_MARGIN) + (1 << 20)
    if free < wanted:
        raise BakeoffError(f"the disk is full: {what} will write about {_megabytes(wanted)} into {folder}, and only "
                           f"{_megabytes(free)} are free there: {fix}")


def _megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"
