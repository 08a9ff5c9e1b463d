"""The hub path (datasets.load_dataset) tested through a local stand-in: no network here."""

from __future__ import annotations

import sys
import types

import pytest

from bakeoff.data import DataError, DataOptions, load_task_data
from bakeoff.tasks import get_task


class _FakeSplit(dict):
    """What load_dataset(...)[split] offers bakeoff: column access by name."""


def _fake_datasets(calls):
    module = types.ModuleType("datasets")

    def load_dataset(path, name=None, split=None):
        calls.append((path, name, split))
        if split == "train":
            return _FakeSplit(sentence1=["a b", "c d", "e f", "g h"], sentence2=["b a", "d c", "x y", "z w"],
                              label=[1, 1, 0, 0])
        return _FakeSplit(sentence1=["i j", "k l"], sentence2=["j i", "m n"], label=[1, -1])

    module.load_dataset = load_dataset
    return module


def test_hub_rows_map_through_the_specs_hub_columns(monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, "datasets", _fake_datasets(calls))
    data = load_task_data(get_task("mrpc"), DataOptions())
    assert calls == [("nyu-mll/glue", "mrpc", "train"), ("nyu-mll/glue", "mrpc", "validation")]
    assert data.train.pairs == ["b a", "d c", "x y", "z w"] and data.train.labels.tolist() == [1, 1, 0, 0]
    assert data.validation.texts == ["i j"]  # the row labelled -1 (GLUE's hidden labels) is dropped
    assert data.label_names == ["not_equivalent", "equivalent"]


def test_hub_failure_says_how_to_use_local_files(monkeypatch):
    module = types.ModuleType("datasets")

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'nyu-mll/glue' on the Hub (LocalEntryNotFoundError)")

    module.load_dataset = offline
    monkeypatch.setitem(sys.modules, "datasets", module)
    with pytest.raises(DataError, match=r"no local copy of 'sst2'.*ConnectionError.*set BAKEOFF_DATA_DIR"):
        load_task_data(get_task("sst2"), DataOptions())
