from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def tiny_study(tmp_path, tiny_model_dir, sentiment_dir):
    """Write a study over the tiny BERT and the sentiment fixture; returns a function(extra_yaml) -> path."""

    def write(extra: str = "", name: str = "tiny-study", axes: str = "[{grid: {learning_rate: [3.0e-3, 1.0e-4]}}]",
              seeds: str = "[1, 2]") -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"""# bakeoff run {path}
name: {name}
models: [{tiny_model_dir}]
settings: {{data: {sentiment_dir}, epochs: 6, batch_size: 16, precision: fp32}}
axes: {axes}
seeds: {seeds}
resources: {{cpus: 1}}
{extra}""")
        return path

    return write
