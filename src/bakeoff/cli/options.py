"""Command-line flags made from a config's declared options, so each option is declared once (``config/``).

Every flag arrives as text (or a bool for switches) and is coerced and range-checked by the config itself, so
the command line, the Python API and study files accept the same spellings ("off" where off is a choice).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from bakeoff.config import Spec, specs


def _help(spec: Spec, default: Any) -> str:
    parts = [spec.help]
    if spec.choices:
        parts.append(f"One of: {', '.join(spec.choices)}.")
    if default is not None and spec.kind is not bool and default != []:
        shown = ",".join(map(str, default)) if isinstance(default, list) else default
        parts.append(f"Default {shown}.")
    if spec.off:
        parts.append(f"(off = {spec.off})")
    return " ".join(parts)


def config_parameters(config_type: type, skip: tuple[str, ...] = ()) -> list[inspect.Parameter]:
    """One keyword parameter per CLI option of ``config_type``, for a typer command's signature."""
    defaults = {name: value for name, value in vars(config_type()).items()}
    parameters = []
    for name, spec in specs(config_type).items():
        if not spec.cli or name in skip:
            continue
        flag = "--" + name.replace("_", "-")
        if spec.kind is bool:
            switch = f"{flag}/--no-{name.replace('_', '-')}"
            annotation: Any = Annotated[bool | None, typer.Option(switch, help=_help(spec, defaults[name]),
                                                                  show_default=False)]
        else:
            annotation = Annotated[str | None, typer.Option(flag, help=_help(spec, defaults[name]),
                                                            show_default=False, metavar=_metavar(spec))]
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                            annotation=annotation))
    return parameters


def with_config_options(config_type: type, skip: tuple[str, ...] = ()) -> Callable[[Callable], Callable]:
    """Give a command ``**options`` the config's flags: its own parameters first, then one per option.

    The command receives only the options the user gave (``None`` left out), as text, for the config to check.
    """

    def decorate(command: Callable) -> Callable:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.kind != p.VAR_KEYWORD]
        names = {p.name for p in own}
        generated = [p for p in config_parameters(config_type, skip) if p.name not in names]

        def wrapper(**values: Any) -> Any:
            options = {k: v for k, v in values.items() if k not in names and v is not None}
            return command(**{k: values[k] for k in names}, **options)

        wrapper.__signature__ = inspect.Signature([*own, *generated])  # type: ignore[attr-defined]
        wrapper.__name__, wrapper.__doc__ = command.__name__, command.__doc__
        return wrapper

    return decorate


def _metavar(spec: Spec) -> str:
    if spec.choices:
        return "|".join(spec.choices) if len("|".join(spec.choices)) <= 24 else "NAME"
    return {int: "INT", float: "NUMBER", str: "TEXT", "ints": "INTS", "strs": "TEXTS"}[spec.kind]
