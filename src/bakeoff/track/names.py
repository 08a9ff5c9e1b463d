"""Names that become paths: refused before anything is written if they would leave the store."""

from __future__ import annotations

from pathlib import PurePosixPath

from bakeoff.errors import StoreError

_FORBIDDEN = {"\x00", "\\"}


def check_name(value: str, what: str, *, allow_slash: bool = False) -> str:
    """Return ``value`` if it is a safe relative name, else raise ``StoreError`` saying why.

    Project and experiment names are one folder (no ``/``); metric names and file prefixes may nest
    (``train/loss`` is ``metrics/train/loss/``), but no part may be empty, ``.`` or ``..``.

    >>> check_name("train/loss", "metric name", allow_slash=True)
    'train/loss'
    """
    if not isinstance(value, str) or not value.strip():
        raise StoreError(f"{what} must be a non-empty string, got {value!r}")
    bad = [c for c in _FORBIDDEN if c in value] or (["/"] if "/" in value and not allow_slash else [])
    if bad:
        raise StoreError(f"{what} {value!r} contains {bad[0]!r}: use letters, digits, '-', '_' or '.'")
    if value.startswith("/"):
        raise StoreError(f"{what} {value!r} is an absolute path: give a relative name")
    parts = PurePosixPath(value).parts
    if any(part in {"..", "."} for part in parts) or value.endswith("/") or "//" in value:
        raise StoreError(f"{what} {value!r} would leave its folder: drop the '.', '..' or empty parts")
    return value
