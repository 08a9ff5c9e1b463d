"""The real MiniLM-L6 on a sample of real MRPC: a pooling study whose rows rank with paired verdicts."""

from __future__ import annotations

import pytest

import bakeoff

pytestmark = pytest.mark.slow


def _sample(source, target, rows):
    """The header and the first ``rows`` pairs of each MRPC split file, in GLUE's layout (a test-local copy)."""
    target.mkdir(parents=True)
    for name in ("train.tsv", "dev.tsv"):
        lines = (source / name).read_text(encoding="utf-8").splitlines()
        (target / name).write_text("\n".join(lines[: rows + 1]) + "\n", encoding="utf-8")
    return target


def test_minilm_pooling_study_on_an_mrpc_sample_ranks_mean_first_with_verdicts(shared_data, tmp_path):
    data = _sample(shared_data / "mrpc", tmp_path / "mrpc", 150)
    path = tmp_path / "pooling-mrpc.yaml"
    path.write_text(f"""# bakeoff run {path}
name: pooling-mrpc
models: [minilm-l6]
tasks: [mrpc]
settings: {{data: {data}, max_length: 128}}
axes: [{{grid: {{pooling: [mean, cls]}}}}]
sweeps:
  - {{name: pairs, embedding: pairs}}
  - {{name: retrieval, embedding: retrieval}}
""")
    outcome = bakeoff.run_study(path)
    assert outcome.count("COMPLETED") == 4, [(o.trial.run_name, o.error) for o in outcome.outcomes]
    board = bakeoff.leaderboard(path)
    by_kind = {ranking.kind: ranking for ranking in board.rankings}
    assert set(by_kind) == {"pairs", "retrieval"}
    pairs, retrieval = by_kind["pairs"], by_kind["retrieval"]
    positives = sum(pairs.rows[0].scores[42][1]) / 150  # average precision of a random ranking
    for ranking in (pairs, retrieval):
        leader, other = ranking.rows
        assert leader.low < leader.mean < leader.high and leader.mean > 0.5
        assert other.verdict.split()[0] in ("better", "worse", "equivalent", "undecided") and other.p_value is not None
    assert pairs.rows[0].mean > positives + 0.1
    # all-MiniLM-L6-v2 was trained through mean pooling: its own pooling retrieves paraphrases best
    assert retrieval.rows[0].config["pooling"] == "mean"
