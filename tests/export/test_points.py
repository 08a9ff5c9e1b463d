"""Store points to MLflow values, MLflow's batch limits, and keys/values MLflow accepts (no server needed)."""

from __future__ import annotations

import pytest

from bakeoff.errors import BakeoffError
from bakeoff.export.fields import MAX_KEY_LENGTH, MlflowKeys, cut, param_value
from bakeoff.export.points import (
    MAX_ENTITIES_PER_BATCH,
    MAX_METRICS_PER_BATCH,
    MAX_TAGS_PER_BATCH,
    pack,
    timestamp_ms,
    to_mlflow_points,
)

TIME = "2026-11-23T14:00:00.123999Z"


def _record(index, **fields):
    return {"index": index, "data": fields, "createdAt": TIME}


def test_step_comes_from_step_then_whole_epoch_then_index_and_each_numeric_field_is_a_metric():
    values = to_mlflow_points("val", [_record(0, value=0.5, step=7, epoch=1), _record(1, value=0.6, epoch=2),
                                      _record(2, value=0.7, epoch=2.5), _record(3, loss=0.1, accuracy=0.9,
                                                                                note="text", flag=True)])
    ms = timestamp_ms(TIME)
    assert values == [[("val", 0.5, ms, 7)], [("val", 0.6, ms, 2)], [("val", 0.7, ms, 2)],
                      [("val/loss", 0.1, ms, 3), ("val/accuracy", 0.9, ms, 3), ("val/flag", 1.0, ms, 3)]]
    assert ms % 1000 == 123  # milliseconds cut, never rounded up past the point's time


def test_pack_keeps_every_call_within_mlflows_limits_and_counts_whole_records():
    point = [("m", 1.0, 0, 0)]
    pending = [(f"bakeoff.points.m{i}", 5, [point] * 30) for i in range(150)]  # 150 metrics: past 100 tags a call
    pending.append(("bakeoff.points.big", 0, [point * 3] * 2000))  # 3 values a record: records stay whole
    batches = pack(pending)
    for batch in batches:
        assert len(batch.metrics) <= MAX_METRICS_PER_BATCH and len(batch.counters) <= MAX_TAGS_PER_BATCH
        assert len(batch.metrics) + len(batch.counters) <= MAX_ENTITIES_PER_BATCH
    assert sum(len(b.metrics) for b in batches) == 150 * 30 + 2000 * 3
    final = {key: count for batch in batches for key, count in batch.counters.items()}  # the last count wins
    assert final == {**{f"bakeoff.points.m{i}": 35 for i in range(150)}, "bakeoff.points.big": 2000}
    big = [b for b in batches if "bakeoff.points.big" in b.counters]
    assert all(len(b.metrics) % 3 == 0 for b in big[1:])  # a record never split over two calls


def test_a_point_with_more_fields_than_one_call_takes_is_refused():
    with pytest.raises(BakeoffError, match="split it into several metrics"):
        pack([("bakeoff.points.wide", 0, [[("m", 1.0, 0, 0)] * 1000])])


def test_keys_are_valid_distinct_and_stable():
    keys = MlflowKeys()
    assert keys.key("train/loss") == "train/loss" and keys.key("acc@1") == "acc_1"
    assert keys.key("acc#1") != "acc_1" and keys.key("acc#1") == keys.key("acc#1")  # apart, and the same each time
    assert keys.key("a//b/../c") == "a/_/b/_/c"  # MLflow refuses names that resolve to another path
    long = keys.key("x" * 400)
    assert len(long) <= MAX_KEY_LENGTH and long != keys.key("x" * 399)


def test_long_values_are_cut_with_a_note():
    assert param_value({"a": [1, 2]}) == '{"a": [1, 2]}' and param_value(True) == "True"
    assert cut("short", 10) == "short"
    long = cut("y" * 7000, 6000)
    assert len(long) == 6000 and long.startswith("y" * 5000) and "7000 chars" in long
