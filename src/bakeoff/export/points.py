"""A store metric's points as MLflow metric values: ``(key, value, timestamp_ms, step)``, one per numeric field.

A bakeoff point is ``{"index", "data": {fields}, "createdAt"}``; its fields are free (ml-dash's API):
``value`` becomes the metric itself, any other numeric field ``<metric>/<field>``. MLflow wants an integer step:
the point's ``step``, else a whole ``epoch``, else its index in the metric. When a point has a step, its ``epoch``
says nothing the step does not, so it is not exported as a metric of its own.

>>> to_mlflow_points("train/loss", [{"index": 0, "data": {"value": 0.5, "step": 10, "epoch": 1},
...                                   "createdAt": "2026-01-01T00:00:00.250000Z"}])
[[('train/loss', 0.5, 1767225600250, 10)]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from bakeoff.errors import BakeoffError

STEP_FIELDS = ("step", "epoch")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MetricValue = tuple[str, float, int, int]  # key, value, timestamp in ms since the epoch, step


def to_mlflow_points(name: str, records: list[dict[str, Any]], key_of: Any = None) -> list[list[MetricValue]]:
    """One list of MLflow values per store record, in order (a record may carry several numeric fields).

    Args:
        name: the store metric's name (``train/loss``).
        records: its records as ``layout.read_metric`` returns them.
        key_of: maps a wanted MLflow key to a valid one (``fields.MlflowKeys.key``); identity by default.
    """
    key_of = key_of or (lambda key: key)
    out = []
    for record in records:
        fields = record.get("data") or {}
        timestamp = timestamp_ms(record.get("createdAt"))
        step = _step(fields, record.get("index", 0))
        values = []
        for field_name, value in fields.items():
            if field_name in STEP_FIELDS or not isinstance(value, (int, float)):  # bools count: 0/1
                continue
            key = name if field_name == "value" else f"{name}/{field_name}"
            values.append((key_of(key), float(value), timestamp, step))
        out.append(values)
    return out


def timestamp_ms(created_at: str | None) -> int:
    """ISO-8601 time (``...Z``) to integer milliseconds since the epoch, as MLflow stores time."""
    if not created_at:
        raise BakeoffError("a metric point has no createdAt time: the store is damaged (`bakeoff runs show RUN`)")
    moment = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - EPOCH) // timedelta(milliseconds=1)  # exact integers: float seconds would round some points


def _step(fields: dict[str, Any], index: int) -> int:
    for field_name in STEP_FIELDS:
        value = fields.get(field_name)
        if _is_number(value) and math.isfinite(value) and float(value).is_integer():
            return int(value)
    return int(index)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# MLflow's log_batch limits (mlflow.utils.validation): a call holding more is refused.
MAX_METRICS_PER_BATCH = 1000
MAX_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000  # metrics + params + tags together


@dataclass
class Batch:
    """One ``log_batch`` call: metric values, and for each store metric in it how many of its records are
    exported once the call succeeds (a tag, sent in the same call, so the count never runs ahead of the points)."""

    metrics: list[MetricValue] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)


def pack(pending: list[tuple[str, int, list[list[MetricValue]]]]) -> list[Batch]:
    """Whole records into as few calls as MLflow's limits allow.

    Args:
        pending: per store metric, ``(counter tag key, records exported before, the new records' values)``.

    >>> point = [("loss", 0.5, 0, 1)]
    >>> [(len(b.metrics), b.counters) for b in pack([("bakeoff.points.loss", 0, [point] * 1500)])]
    [(999, {'bakeoff.points.loss': 999}), (501, {'bakeoff.points.loss': 1500})]
    """
    batches: list[Batch] = []
    current = Batch()
    for counter, exported, records in pending:
        for offset, values in enumerate(records):
            if len(values) + 1 > MAX_ENTITIES_PER_BATCH:
                raise BakeoffError(f"a point of {counter} has {len(values)} numeric fields; MLflow takes at most "
                                   f"{MAX_ENTITIES_PER_BATCH - 1} in one call: split it into several metrics")
            tags = len(current.counters) + (counter not in current.counters)
            size = len(current.metrics) + len(values)
            if current.counters and (size > MAX_METRICS_PER_BATCH or size + tags > MAX_ENTITIES_PER_BATCH
                                     or tags > MAX_TAGS_PER_BATCH):
                batches.append(current)
                current = Batch()
            current.metrics.extend(values)
            current.counters[counter] = exported + offset + 1
    if current.counters:
        batches.append(current)
    return batches
