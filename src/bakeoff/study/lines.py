"""Line numbers for every key of a YAML document, so a study file's mistakes are reported where they are."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

from bakeoff.errors import BakeoffError


class StudyError(BakeoffError):
    """A mistake in a study file, with its line."""


class LineMap:
    """Line numbers of every key path in the YAML document, for error messages."""

    def __init__(self, path: Path, node: yaml.Node | None) -> None:
        self.path, self.lines = path, {}
        if node is not None:
            self._walk(node, ())

    def _walk(self, node: yaml.Node, at: tuple[Any, ...]) -> None:
        self.lines[at] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self._walk(value, (*at, key.value))
                self.lines[(*at, key.value)] = key.start_mark.line + 1  # a key's line, not its value's
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, (*at, index))

    def error(self, at: tuple[Any, ...], message: str) -> StudyError:
        while at and at not in self.lines:
            at = at[:-1]
        return StudyError(f"{self.path}:{self.lines.get(at, 1)}: {message}")


def known_keys(doc: dict[str, Any], allowed: tuple[str, ...], at: tuple[Any, ...], lines: LineMap) -> None:
    """Refuse a key that is not in ``allowed``, suggesting the closest one."""
    for key in doc:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(allowed)})"
            raise lines.error((*at, key), f"unknown key {key!r}{hint}")
