"""A study's settings and axes: each value checked against the option it sets (``config``), axes expanded into
points (grid: every combination; zip: paired lists; random: draws from lists or ranges).

``config_type`` is the config the settings belong to: ``TrainConfig`` for training trials, ``EmbeddingConfig``
for an embedding study's (``pooling: [mean, cls, max]`` is checked against its choices at its line)."""

from __future__ import annotations

import difflib
import itertools
import math
import random
from typing import Any

from bakeoff.config import OptionError, TrainConfig, coerce_option, specs
from bakeoff.study.lines import LineMap, known_keys

SETTINGS = tuple(name for name, spec in specs(TrainConfig).items() if spec.study)
STUDY_OWNED = tuple(name for name, spec in specs(TrainConfig).items() if not spec.study)


def check_setting(key: Any, value: Any, at: tuple[Any, ...], lines: LineMap, config_type: type = TrainConfig) -> Any:
    """``value`` as the option ``key`` takes it (coerced: YAML 1.1 reads ``1e-4`` as text), or the error at its
    line. ``value`` None checks only the key."""
    declared = specs(config_type)
    if key in declared and not declared[key].study:
        raise lines.error(at, f"{key!r} is set by the study itself: use models:, tasks:, seeds:, resources: "
                              "or embedding:")
    settings = [name for name, spec in declared.items() if spec.study]
    if key not in settings:
        close = difflib.get_close_matches(str(key), settings, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        what = "embedding setting" if config_type is not TrainConfig else "setting"
        raise lines.error(at, f"unknown {what} {key!r}{hint}")
    if value is None:
        return None
    try:
        return coerce_option(config_type, key, value)
    except OptionError as error:
        raise lines.error(at, f"setting {key!r} {error.problem}") from None


def check_settings(settings: Any, at: tuple[Any, ...], lines: LineMap,
                   config_type: type = TrainConfig) -> dict[str, Any]:
    if not isinstance(settings, dict):
        raise lines.error(at, "settings is a mapping of `bakeoff train` settings, e.g. {epochs: 3}")
    return {key: check_setting(key, value, (*at, key), lines, config_type) for key, value in settings.items()}


def expand_axis(axis: Any, at: tuple[Any, ...], lines: LineMap, rng: random.Random,
                config_type: type = TrainConfig) -> list[dict[str, Any]]:
    kinds = [k for k in ("grid", "zip", "random") if isinstance(axis, dict) and k in axis]
    if len(kinds) != 1:
        raise lines.error(at, "each axis is one of {grid: {...}}, {zip: {...}} or {random: {...}, trials: N}")
    kind = kinds[0]
    known_keys(axis, (kind, "trials") if kind == "random" else (kind,), at, lines)
    values = axis[kind]
    if not isinstance(values, dict) or not values:
        raise lines.error((*at, kind), f"{kind} needs at least one setting with a list of values")
    values = dict(values)
    for key, options in values.items():
        check_setting(key, None, (*at, kind, key), lines, config_type)
        if kind == "random" and isinstance(options, dict):
            continue
        if not isinstance(options, list) or not options:
            raise lines.error((*at, kind, key), f"axis {key!r} is empty: give a non-empty list of values")
        values[key] = [check_setting(key, option, (*at, kind, key, index), lines, config_type)
                       for index, option in enumerate(options)]
    if kind == "grid":
        keys = list(values)
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values.values())]
    if kind == "zip":
        sizes = {key: len(options) for key, options in values.items()}
        if len(set(sizes.values())) > 1:
            raise lines.error((*at, kind), f"zip lists must have equal lengths, got {sizes}")
        return [dict(zip(values, combo, strict=True)) for combo in zip(*values.values(), strict=True)]
    count = axis.get("trials")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise lines.error(at, "a random axis needs trials: N (how many samples to draw)")
    drawn = [{key: _sample(key, options, (*at, kind, key), lines, rng) for key, options in values.items()}
             for _ in range(count)]
    return [{key: check_setting(key, value, (*at, kind, key), lines, config_type) for key, value in point.items()}
            for point in drawn]


def _sample(key: str, options: Any, at: tuple[Any, ...], lines: LineMap, rng: random.Random) -> Any:
    if isinstance(options, list):
        return rng.choice(options)
    if len(options) == 1 and next(iter(options)) in ("uniform", "log_uniform", "int_uniform"):
        (how, bounds), = options.items()
        if isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, (int, float)) for b in bounds):
            low, high = float(bounds[0]), float(bounds[1])
            if how == "int_uniform":
                return rng.randint(int(low), int(high))
            if how == "log_uniform" and low > 0 and high > 0:
                return float(f"{math.exp(rng.uniform(math.log(low), math.log(high))):.3g}")
            if how == "uniform":
                return float(f"{rng.uniform(low, high):.4g}")
    raise lines.error(at, f"random {key!r}: give a list of choices, or one of {{uniform: [low, high]}}, "
                          "{log_uniform: [low, high]} (both > 0), {int_uniform: [low, high]}")
