"""Keys and values as MLflow accepts them: keys of ``[/\\w.\\- :]`` up to 250 characters, values of bounded length.

bakeoff's names are freer (a metric may be ``acc@1``, a parameter value a long list), so each key is mapped once
to a valid one, and a value past MLflow's limit is cut with a note saying where the whole value is
(the ``bakeoff/parameters.json`` artefact holds every parameter as the store has it).

>>> MlflowKeys().key("val/acc@1")
'val/acc_1'
>>> param_value(5e-05), param_value([0, 2, 4]), param_value(None)
('5e-05', '[0, 2, 4]', 'None')
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from typing import Any

MAX_KEY_LENGTH = 250
MAX_PARAM_LENGTH = 6000  # MLflow 2.x/3.x servers (mlflow.utils.validation.MAX_PARAM_VAL_LENGTH)
MAX_TAG_LENGTH = 8000
PARAMETERS_ARTEFACT = "bakeoff/parameters.json"
_INVALID = re.compile(r"[^/\w.\- :]")


def param_value(value: Any) -> str:
    """A parameter as MLflow shows it: ``str()`` of a scalar (MLflow's own ``log_param`` does the same),
    compact JSON of a list or dict."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str)
    return str(value)


def cut(value: str, limit: int) -> str:
    """``value`` itself if it fits, else its start and a note with its full length and where the rest is."""
    if len(value) <= limit:
        return value
    note = f"... [{len(value)} chars; whole value in {PARAMETERS_ARTEFACT}]"
    return value[: limit - len(note)] + note


class MlflowKeys:
    """Maps bakeoff names to valid, distinct MLflow keys, the same name always to the same key."""

    def __init__(self) -> None:
        self._by_name: dict[str, str] = {}
        self._taken: set[str] = set()

    def key(self, name: str) -> str:
        found = self._by_name.get(name)
        if found is not None:
            return found
        key = _valid(name)
        if key in self._taken:  # two names that differ only in invalid characters: keep both, apart
            key = _shorten(f"{key}_{_digest(name)}")
        self._by_name[name] = key
        self._taken.add(key)
        return key


def _valid(name: str) -> str:
    key = _INVALID.sub("_", name).strip("/") or "_"
    if posixpath.normpath(key) != key or key.startswith(".."):  # MLflow refuses names that resolve elsewhere
        key = "/".join(part if part not in ("", ".", "..") else "_" for part in key.split("/"))
    return _shorten(key)


def _shorten(key: str) -> str:
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return f"{key[: MAX_KEY_LENGTH - 9]}_{_digest(key)}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]
