"""An embedding study end to end on the tiny BERT: a pooling axis over pairs, probe and retrieval trials, run,
resumed, ranked with paired verdicts, and reported with a pooling panel."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import bakeoff
from bakeoff.cli import app
from bakeoff.embedding.metrics import PER_EXAMPLE
from bakeoff.report.verdict import SCOPE_FIXED, compare_scores
from bakeoff.runs.results import EmbeddingEvalResult
from bakeoff.study import load_study
from bakeoff.track import Store
from tests.conftest import sentiment_rows

runner = CliRunner()


def _pair_folder(folder, seeds=(1, 2)):
    """MRPC's TSV layout: half the pairs a sentence and itself plus a word (label 1), half unrelated (label 0)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, seed in zip(("train.tsv", "dev.tsv"), seeds, strict=True):
        texts = [text for text, _ in sentiment_rows(40, seed=seed)]
        others = [text for text, _ in sentiment_rows(40, seed=seed + 100)]
        lines = ["Quality\t#1 ID\t#2 ID\t#1 String\t#2 String"]
        lines += [f"{i % 2}\t{i}\t{i}\t{texts[i]}\t{texts[i] + ' very' if i % 2 else others[i]}" for i in range(40)]
        (folder / name).write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def pooling_study(tmp_path, tiny_model_dir, sentiment_dir):
    pairs = _pair_folder(tmp_path / "pairs")
    path = tmp_path / "pooling-tiny.yaml"
    path.write_text(f"""# bakeoff run {path}
name: pooling-tiny
models: [{tiny_model_dir}]
axes: [{{grid: {{pooling: [mean, cls, max]}}}}]
resources: {{cpus: 1}}
sweeps:
  - {{name: pairs, tasks: [mrpc], embedding: pairs, settings: {{data: {pairs}}}}}
  - {{name: retrieval, tasks: [mrpc], embedding: retrieval, settings: {{data: {pairs}}}}}
  - {{name: probe, embedding: {{kind: probe}}, settings: {{data: {sentiment_dir}}}}}
""")
    return path


def test_a_pooling_study_runs_resumes_and_ranks_with_verdicts(pooling_study, tmp_path):
    study = load_study(pooling_study)
    outcome = bakeoff.run_study(pooling_study)
    assert outcome.count("COMPLETED") == 9, [(o.trial.run_name, o.error) for o in outcome.outcomes]
    assert {o.metric_name for o in outcome.outcomes} == {"average_precision", "ndcg@10", "accuracy"}
    stored = {run.name: run.status for run in Store().list("pooling-tiny")}
    assert stored == {trial.run_name: "COMPLETED" for trial in study.trials}

    again = bakeoff.run_study(pooling_study)  # every trial found finished in the store: nothing runs again
    assert all(o.resumed and o.status == "COMPLETED" for o in again.outcomes)
    assert [o.metric for o in again.outcomes] == [o.metric for o in outcome.outcomes]
    assert len(Store().list("pooling-tiny")) == 9

    board = bakeoff.leaderboard(pooling_study)
    by_kind = {ranking.kind: ranking for ranking in board.rankings}
    assert set(by_kind) == {"pairs", "probe", "retrieval"}
    assert [by_kind[k].metric for k in ("pairs", "probe", "retrieval")] == ["average_precision", "accuracy",
                                                                            "ndcg@10"]
    for kind, ranking in by_kind.items():
        frozen = [row for row in ranking.rows if not row.baseline]
        assert sorted(row.config["pooling"] for row in frozen) == ["cls", "max", "mean"], kind
        assert {row.method for row in frozen} == {"frozen"} and ranking.name.endswith(kind)
        assert all(row.label.split()[-1].startswith("pooling=") for row in frozen)
        assert ranking.rows[0].verdict.startswith("leader")
        for row in ranking.rows[1:]:  # every row paired with the leader on the same examples
            assert row.verdict.split()[0] in ("better", "worse", "equivalent", "undecided", "failed"), \
                (kind, row.label, row.verdict)
            assert row.p_value is not None and row.difference is not None
        for row in frozen:  # one seed, yet an interval: the examples' (jackknife)
            assert row.low is not None and row.low <= row.mean <= row.high
        assert ranking.minimum_detectable_effect is not None and "Minimum detectable effect" in ranking.caption
    # the probe's predictions pair with the same baselines as a trained run's
    assert {row.model for row in by_kind["probe"].rows if row.baseline} == {"majority class", "tf-idf + logreg"}

    # the verdict is the paired test on the stored per-example values (per pair scores), nothing else
    pairs = by_kind["pairs"]
    leader, other = pairs.rows[0], pairs.rows[1]
    first = EmbeddingEvalResult.load(leader.run_paths[0])
    second = EmbeddingEvalResult.load(other.run_paths[0])
    how = PER_EXAMPLE["average_precision"]
    direct = compare_scores(np.array(first.per_example["score"]), np.array(second.per_example["score"]),
                            how.statistic, labels=np.array(first.per_example["label"]), first_fixed=True,
                            second_fixed=True)
    assert other.difference == pytest.approx(direct.difference)
    assert other.verdict_scope == SCOPE_FIXED  # every training row used: no seed can change a frozen row

    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(pooling_study), "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    for title in ("Leaderboard: mrpc pairs, validation", "Leaderboard: mrpc retrieval, validation",
                  "Leaderboard: custom probe, validation", "Setting: pooling (mrpc pairs, validation)",
                  "Setting: pooling (mrpc retrieval, validation)", "Errors (custom probe, validation)", "Provenance"):
        assert f"<h2>{title}" in html, title
    assert "cls -&gt; max: " in html  # the pooling panel's step sentences

    printed = runner.invoke(app, ["leaderboard", str(pooling_study), "--json"])
    assert printed.exit_code == 0
    kinds = {r["kind"] for r in json.loads(printed.output)["rankings"]}
    assert kinds == {"pairs", "probe", "retrieval"}


def test_a_fine_tuned_run_and_its_base_model_compare_as_rows_of_one_embedding_ranking(tmp_path, tiny_model_dir,
                                                                                       sentiment_dir):
    tuned = bakeoff.train(model=str(tiny_model_dir), data=str(sentiment_dir), epochs=3, batch_size=16,
                          learning_rate=3e-3, precision="fp32", quiet=True, project="tuning", name="tuned")
    path = tmp_path / "base-vs-tuned.yaml"
    path.write_text(f"""# bakeoff run {path}
name: base-vs-tuned
models: [{tiny_model_dir}, tuning/tuned]
embedding: probe
settings: {{data: {sentiment_dir}, pooling: mean}}
resources: {{cpus: 1}}
""")
    outcome = bakeoff.run_study(path)
    assert outcome.count("COMPLETED") == 2, [(o.trial.run_name, o.error) for o in outcome.outcomes]
    ranking, = bakeoff.leaderboard(path).rankings
    frozen = {row.model: row for row in ranking.rows if not row.baseline}
    assert set(frozen) == {tiny_model_dir.name, "tuning/tuned"}
    result = EmbeddingEvalResult.load(frozen["tuning/tuned"].run_paths[0])
    assert result.model["origin"] == "run" and result.model["location"] == tuned.checkpoint
    # the fine-tuned encoder's vectors separate the classes its head learned: its probe beats the random base's
    assert frozen["tuning/tuned"].mean > frozen[tiny_model_dir.name].mean
    assert all(row.verdict for row in ranking.rows)


def test_a_failing_embedding_trial_is_recorded_and_kept_on_rerun(tmp_path, tiny_model_dir):
    path = tmp_path / "broken-embedding.yaml"
    path.write_text(f"""# bakeoff run {path}
name: broken-embedding
models: [{tiny_model_dir}]
tasks: [mrpc]
embedding: pairs
settings: {{data: {tmp_path / "no-such-folder"}}}
resources: {{cpus: 1}}
""")
    outcome = bakeoff.run_study(path)
    failed, = outcome.outcomes
    assert failed.status == "FAILED" and "no-such-folder" in failed.error
    run, = Store().list("broken-embedding")
    assert run.status == "FAILED" and run.name == failed.trial.run_name
    again, = bakeoff.run_study(path).outcomes
    assert again.resumed and again.status == "FAILED"  # kept, not retried, unless --retry-failed
