"""Options declared once: each field of a config carries its help, type, allowed values and range.

The CLI builds its flags from these declarations, study files are checked against them, and ``check`` is the
one place a value is judged. Values may arrive as text (a command line, or YAML 1.1 reading ``1e-4`` as a
string) and are coerced here, so every entry point accepts the same spellings.

>>> from dataclasses import dataclass
>>> @dataclass
... class Demo:
...     rate: float = option(0.1, "A rate.", kind=float, above=0)
>>> coerce_option(Demo, "rate", "1e-4")
0.0001
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from bakeoff.errors import BakeoffError

OFF_WORDS = ("off", "none")  # how a user says "not set" where off is a real choice


@dataclass(frozen=True)
class Spec:
    """What one option accepts. ``kind``: int, float, str, bool, or list[int] / list[str] as ``"ints"`` /
    ``"strs"``. ``off``: what leaving it unset (None) means, or "" when None is not allowed."""

    help: str
    kind: Any
    choices: tuple[str, ...] | None = None
    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    below: float | None = None
    off: str = ""
    cli: bool = True  # exposed as a `bakeoff train` flag
    identity: bool = True  # part of what a run computes (False: how it runs, e.g. threads, project, quiet)
    study: bool = True  # may be set in a study file's settings/axes
    # an option added after runs were recorded without it: left out of a run's identity while at its default, so
    # older runs (whose configs lack it) and newer ones at the default stay one experiment, one trial id
    omit_default: bool = False


def option(default: Any, help: str, **spec: Any) -> Any:
    """A dataclass field with its ``Spec`` in the field's metadata."""
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata={"spec": Spec(help, **spec)})
    return dataclasses.field(default=default, metadata={"spec": Spec(help, **spec)})


def specs(config_type: type) -> dict[str, Spec]:
    """Every option of a config dataclass, in declaration order."""
    return {f.name: f.metadata["spec"] for f in dataclasses.fields(config_type)}


def from_mapping(config_type: type, values: dict[str, Any], what: str = "setting") -> Any:
    """``config_type(**values)``, refusing an unknown key with the closest known one as a hint."""
    known = set(specs(config_type))
    unknown = sorted(set(values) - known)
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise BakeoffError(f"unknown {what} {unknown[0]!r}{hint}")
    return config_type(**values)


def coerce_option(config_type: type, name: str, value: Any) -> Any:
    """``value`` as the option's type and inside its range; raises ``BakeoffError`` with ``problem`` text."""
    problem, coerced = _judge(specs(config_type)[name], value)
    if problem:
        raise OptionError(name, problem)
    return coerced


class OptionError(BakeoffError):
    """One option's value is wrong; ``problem`` reads after the option's name ("must be > 0, got -1")."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"--{name.replace('_', '-')} {problem}")
        self.name, self.problem = name, problem


def describe_kind(spec: Spec) -> str:
    kinds = {int: "a whole number", float: "a number", str: "a text", bool: "true or false",
             "ints": "a list of whole numbers", "strs": "a list of texts"}
    return kinds[spec.kind]


def _judge(spec: Spec, value: Any) -> tuple[str, Any]:
    if value is None or (isinstance(value, str) and value.strip().lower() in OFF_WORDS and spec.off):
        return ("", None) if spec.off else (f"must be set: give {describe_kind(spec)}", None)
    try:
        value = _as_kind(spec.kind, value)
    except (TypeError, ValueError):
        off = f", or off ({spec.off})" if spec.off else ""
        return f"must be {describe_kind(spec)}{off}, got {value!r}", None
    if spec.choices is not None and value not in spec.choices:
        return f"{value!r} is not one of {', '.join(spec.choices)}", None
    for number in value if isinstance(value, list) else [value]:
        bound = _bound_problem(spec, number) if isinstance(number, (int, float)) and not isinstance(number, bool) else ""
        if bound:
            off = f" (or off: {spec.off})" if spec.off else ""
            return f"{bound}{off}, got {value!r}", None
    return "", value


def _as_kind(kind: Any, value: Any) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.strip().lower() in ("true", "yes", "1")
        raise ValueError(value)
    if kind is int:
        if isinstance(value, bool):
            raise TypeError(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            return int(value.strip())
        if isinstance(value, int):
            return value
        raise TypeError(value)
    if kind is float:
        if isinstance(value, bool):
            raise TypeError(value)
        number = float(value.strip()) if isinstance(value, str) else value
        if not isinstance(number, (int, float)) or not math.isfinite(number):
            raise ValueError(value)
        return float(number)
    if kind is str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"{value:g}" if isinstance(value, float) else str(value)  # YAML's `threshold: 0.3` = "0.3"
        if not isinstance(value, str):
            raise TypeError(value)
        return value
    item = int if kind == "ints" else str
    if isinstance(value, str):  # a command line's "0,2,4" or "a,b"
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        raise TypeError(value)
    return [_as_kind(item, v) for v in value]


def _bound_problem(spec: Spec, value: float) -> str:
    if spec.at_least is not None and value < spec.at_least:
        return f"must be >= {spec.at_least:g}"
    if spec.above is not None and not value > spec.above:
        return f"must be > {spec.above:g}"
    if spec.at_most is not None and value > spec.at_most:
        return f"must be <= {spec.at_most:g}"
    if spec.below is not None and not value < spec.below:
        return f"must be < {spec.below:g}"
    return ""


# Options that many commands take as plain flags (predict, evaluate, embed, index build, search, embed-eval):
# declared once here, so each command judges them the same way before any model or data is loaded.
SHARED = {
    "batch_size": Spec("Rows per forward pass.", int, at_least=1),
    "max_length": Spec("Tokens per text; longer ones are cut.", int, at_least=4, at_most=8192,
                       off="the model's own"),
    "k": Spec("Results per query.", int, at_least=1),
}


def check_shared(**values: Any) -> dict[str, Any]:
    """Each of ``values`` (by its name in ``SHARED``) coerced and range-checked; ``OptionError`` for the first bad one.

    >>> check_shared(batch_size=8, max_length=None)
    {'batch_size': 8, 'max_length': None}
    >>> try:
    ...     check_shared(batch_size=0)
    ... except OptionError as error:
    ...     print(error)
    --batch-size must be >= 1, got 0
    """
    checked = {}
    for name, value in values.items():
        problem, checked[name] = _judge(SHARED[name], value)
        if problem:
            raise OptionError(name, problem)
    return checked
