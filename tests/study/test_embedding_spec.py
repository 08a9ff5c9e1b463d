"""Embedding studies in study files: ``embedding: KIND``, a pooling axis checked at its line, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from bakeoff.study import load_study
from tests.study.conftest import assert_refused_at_line, write_study

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


_study = write_study


def test_a_pooling_axis_expands_into_one_embedding_trial_per_pooling(tmp_path):
    study = load_study(_study(tmp_path, "models: [minilm-l6]\ntasks: [mrpc]\nembedding: {kind: pairs}\n"
                                        "settings: {max_length: 64, normalize: false}\n"
                                        "axes:\n  - grid: {pooling: [mean, cls, max]}\n"))
    assert [t.config["pooling"] for t in study.trials] == ["mean", "cls", "max"]
    assert all(t.embedding and t.config["kind"] == "pairs" for t in study.trials)
    assert {(t.config["max_length"], t.config["normalize"]) for t in study.trials} == {(64, False)}
    assert "epochs" not in study.trials[0].config  # an EmbeddingConfig's options, not a training run's
    assert len({t.id for t in study.trials}) == 3
    first = study.trials[0]
    assert first.run_name == f"mrpc-minilm-l6-pairs-{first.id}"


def test_the_kind_is_part_of_the_trial_identity_and_sweeps_declare_their_own(tmp_path):
    study = load_study(_study(tmp_path, "models: [minilm-l6]\naxes: [{grid: {pooling: [mean, max]}}]\nsweeps:\n"
                                        "  - {name: pairs, tasks: [mrpc], embedding: pairs}\n"
                                        "  - {name: retrieval, tasks: [mrpc], embedding: retrieval}\n"
                                        "  - {name: probe, tasks: [sst2], embedding: probe,"
                                        " settings: {train_fraction: 0.1}}\n"
                                        "  - {name: trained, tasks: [sst2], settings: {epochs: 1}, axes: []}\n"))
    kinds = [(t.sweep, t.config.get("kind"), t.config.get("pooling")) for t in study.trials]
    assert kinds[:6] == [("pairs", "pairs", "mean"), ("pairs", "pairs", "max"), ("retrieval", "retrieval", "mean"),
                         ("retrieval", "retrieval", "max"), ("probe", "probe", "mean"), ("probe", "probe", "max")]
    assert len({t.id for t in study.trials[:4]}) == 4  # same task and pooling, another kind: another trial
    trained = [t for t in study.trials if t.sweep == "trained"]
    assert trained and not any(t.embedding for t in trained) and trained[0].config["epochs"] == 1.0


def test_the_pooling_example_loads_and_starts_with_its_command():
    path = EXAMPLES / "pooling.yaml"
    assert path.read_text().splitlines()[0].endswith("bakeoff run examples/pooling.yaml && "
                                                     "bakeoff report examples/pooling.yaml")
    study = load_study(path)
    assert {(t.config["task"], t.config["kind"]) for t in study.trials} == {
        ("mrpc", "pairs"), ("sst2", "probe"), ("mrpc", "retrieval")}
    assert sorted({t.config["pooling"] for t in study.trials}) == ["cls", "max", "mean"]
    assert len(study.trials) == 3 + 9 + 3  # the probe over three seeds (three training subsets)


@pytest.mark.parametrize(("body", "line", "message"), [
    ("models: [minilm-l6]\ntasks: [mrpc]\nembedding: pairs\naxes:\n  - grid:\n      pooling:\n        - mean\n"
     "        - avg\n", 8, "setting 'pooling' 'avg' is not one of mean, cls, max"),
    ("models: [minilm-l6]\ntasks: [mrpc]\nembedding: pairs\nsettings:\n  pooling: sum\n", 5,
     "setting 'pooling' 'sum' is not one of mean, cls, max"),
    ("models: [minilm-l6]\ntasks: [mrpc]\nembedding:\n  kind: pair\n", 4,
     "embedding kind 'pair': use one of pairs, probe, retrieval, sts (did you mean 'pairs'?)"),
    ("models: [minilm-l6]\ntasks: [mrpc]\nembedding: {knd: pairs}\n", 3, "unknown key 'knd'"),
    ("models: [minilm-l6]\ntasks: [mrpc]\nembedding: pairs\nsettings:\n  epochs: 2\n", 5,
     "unknown embedding setting 'epochs'"),
    ("models: [minilm-l6]\ntasks: [mrpc]\nembedding: pairs\nsettings: {kind: probe}\n", 4,
     "'kind' is set by the study itself"),
    ("models: [minilm-l6]\ntasks: [mrpc]\nembedding: pairs\ncompress: [dynamic-int8]\n", 4,
     "compress applies to trained models"),
    ("models: [minilm-l6]\ntasks: [mrpc]\nembedding: pairs\nschedule: asha\n", 4,
     "an embedding study trains nothing"),
    ("models: [minilm-l6]\ntasks:\n  - sst2\nembedding: pairs\n", 3,
     "embedding kind pairs needs a task of text pairs (e.g. mrpc); sst2 has single texts"),
    ("models: [minilm-l6]\nsweeps:\n  - {name: p, tasks: [mrpc], embedding: probe}\n", 3,
     "embedding kind probe needs a task of single texts"),
    ("models: [minilm-l6]\ntasks: [mrpc]\nfallback_task: demo\nembedding: pairs\n", 3,
     "embedding kind pairs needs a task of text pairs (e.g. mrpc); demo has single texts"),
    ("models: [minilm-l6]\ntasks: [mrpc]\nembedding: pairs\naxes:\n  - grid: {pooling: [mean], learning_rate: [1]}\n",
     5, "unknown embedding setting 'learning_rate'"),
])
def test_embedding_mistakes_name_their_line(tmp_path, body, line, message):
    assert_refused_at_line(_study(tmp_path, body), line, message)
