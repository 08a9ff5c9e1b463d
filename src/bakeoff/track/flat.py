"""Nested parameters as ml-dash stores them: dot keys (``optimizer.lr``) in, nested dicts back out."""

from __future__ import annotations

from typing import Any


def flatten(params: dict[str, Any], parent: str = "") -> dict[str, Any]:
    """Nested dicts to dot keys, as ml-dash stores parameters.

    >>> flatten({"optimizer": {"name": "adam", "lr": 1e-3}, "batch_size": 128})
    {'optimizer.name': 'adam', 'optimizer.lr': 0.001, 'batch_size': 128}
    """
    flat: dict[str, Any] = {}
    for key, value in params.items():
        full = f"{parent}.{key}" if parent else str(key)
        if isinstance(value, dict):
            flat.update(flatten(value, full))
        else:
            flat[full] = value
    return flat


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested
