from __future__ import annotations

import numpy as np
import pytest

from bakeoff.data import DataOptions, load_task_data, nested_fraction, stratified_split
from bakeoff.data.dataset import TextDataset
from bakeoff.tasks import get_task
from tests.conftest import sentiment_rows, write_tsv


def test_stratified_split_keeps_class_shares_and_is_seeded():
    labels = np.array([0] * 60 + [1] * 40)
    rest, part = stratified_split(labels, 0.2, seed=3)
    assert np.bincount(labels[part]).tolist() == [12, 8]
    assert sorted(np.concatenate([rest, part]).tolist()) == list(range(100))
    assert np.array_equal(part, stratified_split(labels, 0.2, seed=3)[1])
    assert not np.array_equal(part, stratified_split(labels, 0.2, seed=4)[1])


def test_train_fractions_are_nested_and_stratified():
    labels = np.array([0] * 700 + [1] * 300)
    quarter, half, three_quarters = (set(nested_fraction(labels, f, seed=7).tolist()) for f in (0.25, 0.5, 0.75))
    assert quarter < half < three_quarters
    assert np.bincount(labels[sorted(half)]).tolist() == [350, 150]


def test_single_file_gets_seed_004s_70_10_20_split(tmp_path):
    write_tsv(tmp_path / "all.tsv", sentiment_rows(200))
    data = load_task_data(None, DataOptions(data=tmp_path / "all.tsv", text_column="sentence", seed=42))
    assert data.sizes() == {"train": 140, "validation": 20, "test": 40}
    for split in (data.train, data.validation, data.test):
        assert abs(split.labels.mean() - 0.5) < 0.01
    texts = [set(s.texts) for s in (data.train, data.validation, data.test)]
    assert len(data.train) + len(data.validation) + len(data.test) == 200 and "70/10/20" in data.notes[0]
    again = load_task_data(None, DataOptions(data=tmp_path / "all.tsv", text_column="sentence", seed=42))
    assert again.fingerprints() == data.fingerprints()
    other = load_task_data(None, DataOptions(data=tmp_path / "all.tsv", text_column="sentence", seed=1))
    assert other.fingerprints()["train"] != data.fingerprints()["train"]
    assert texts[0] and texts[1]


def test_fingerprint_changes_with_any_row():
    base = TextDataset(["a", "b"], np.array([0, 1]))
    assert base.fingerprint() == TextDataset(["a", "b"], np.array([0, 1])).fingerprint()
    assert base.fingerprint() != TextDataset(["a", "b"], np.array([1, 1])).fingerprint()
    assert base.fingerprint() != TextDataset(["a", "c"], np.array([0, 1])).fingerprint()
    assert base.fingerprint() != TextDataset(["a", "b"], np.array([0, 1]), pairs=["x", "y"]).fingerprint()


def test_string_labels_any_number_of_classes_and_formats(tmp_path):
    import json

    rows = [{"review": f"text number {i}", "topic": ["sport", "music", "food"][i % 3]} for i in range(30)]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "test.csv").write_text("review,topic\n\"a, quoted text\",food\nplain,music\n")
    data = load_task_data(None, DataOptions(data=tmp_path, text_column="review", label_column="topic"))
    assert data.label_names == ["food", "music", "sport"]
    assert data.test.texts == ["a, quoted text", "plain"] and data.test.labels.tolist() == [0, 1]
    assert "10% of train held out" in data.notes[0]


def test_parquet_and_gzip(tmp_path):
    import gzip

    import pandas as pd

    pd.DataFrame({"text": ["x y", "y z", "z x", "x x"] * 5, "label": [0, 1] * 10}).to_parquet(tmp_path / "train.parquet")
    (tmp_path / "dev.tsv.gz").write_bytes(gzip.compress(b"text\tlabel\nx y\t1\n"))
    data = load_task_data(None, DataOptions(data=tmp_path))
    assert len(data.train) == 20 and data.validation.labels.tolist() == [1]


def test_local_glue_layout_via_env(shared_data, monkeypatch):
    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(shared_data))
    mrpc = load_task_data(get_task("mrpc"), DataOptions())
    assert mrpc.sizes() == {"train": 3668, "validation": 408, "test": 1725}
    assert mrpc.pair and np.bincount(mrpc.validation.labels).tolist() == [129, 279]
    cola = load_task_data(get_task("cola"), DataOptions())
    assert cola.sizes() == {"train": 8551, "validation": 1043}
    assert np.bincount(cola.validation.labels).tolist() == [322, 721]


def test_no_local_copy_and_no_hub_is_one_clear_error(monkeypatch, tmp_path):
    from bakeoff.data import DataError

    monkeypatch.setenv("BAKEOFF_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match=r"no local copy of 'sst2'.*BAKEOFF_DATA_DIR"):
        load_task_data(get_task("sst2"), DataOptions())


@pytest.mark.parametrize("labels,expected", [
    (["pos"] * 6, "a classifier needs at least two classes"),
    (["1", "negative"] * 3, "the labels mix numbers and names"),
    (["0.5", "1.5"] * 3, "numbers with fractions"),
    (["{'a': 1}", "{'b': 2}"] * 3, "lists or mappings"),  # lists are label sets: tests/problems
])
def test_labels_that_cannot_be_classes_are_refused(tmp_path, labels, expected):
    from bakeoff.data import DataOptions, load_task_data
    from bakeoff.errors import BakeoffError

    file = tmp_path / "rows.csv"
    file.write_text("text,label\n" + "".join(f"row {i},\"{label}\"\n" for i, label in enumerate(labels)))
    with pytest.raises(BakeoffError, match=expected):
        load_task_data(None, DataOptions(data=file))
