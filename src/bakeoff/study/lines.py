"""Line numbers for every key of a YAML document, so a study file's mistakes are reported where they are.

``read_yaml`` also refuses what YAML allows but a study file must not hold: a key given twice in one mapping
(YAML keeps the last one silently), and aliases that expand past ``MAX_VALUES`` values (an "alias bomb": 14
lines that expand to billions of values). Both are found on the composed node graph, where an alias is one shared
node, so nothing is expanded to find them."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

from bakeoff.errors import BakeoffError


MAX_VALUES = 100_000  # values a study file may expand to (a large grid is a few hundred)


class StudyError(BakeoffError):
    """A mistake in a study file, with its line."""


def read_yaml(path: Path, text: str) -> tuple[Any, LineMap]:
    """The document and its line map; refuses invalid YAML, duplicate keys and runaway aliases at their line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        raise _yaml_error(path, error) from None
    if node is not None:
        _check_nodes(path, node)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise _yaml_error(path, error) from None
    return doc, LineMap(path, node)


def _yaml_error(path: Path, error: yaml.YAMLError) -> StudyError:
    mark = getattr(error, "problem_mark", None)
    where = f"{path}:{mark.line + 1}" if mark else str(path)
    return StudyError(f"{where}: not valid YAML ({getattr(error, 'problem', None) or error})")


def _check_nodes(path: Path, root: yaml.Node) -> None:
    """Duplicate keys, and the expanded size of every node, each shared (aliased) node counted once per use."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        sizes[id(node)] = 1  # a recursive alias (a node inside itself) counts once, not forever
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in seen:
                        raise StudyError(f"{path}:{key.start_mark.line + 1}: key {key.value!r} appears twice in one "
                                         f"mapping (first at line {seen[key.value]}); YAML would keep this one "
                                         "silently: keep one of them")
                    seen[key.value] = key.start_mark.line + 1
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_VALUES:
                raise StudyError(f"{path}:{node.start_mark.line + 1}: this value expands (through YAML aliases, "
                                 f"*name) to more than {MAX_VALUES:,} values: write the values out, or use fewer "
                                 "aliases")
        sizes[id(node)] = total
        return total

    size(root)


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
