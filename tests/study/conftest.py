from __future__ import annotations

from pathlib import Path

import pytest

from bakeoff.study import StudyError, load_study


def write_study(tmp_path: Path, text: str) -> Path:
    """A study file with ``text``, for the spec tests."""
    path = tmp_path / "study.yaml"
    path.write_text(text)
    return path


def assert_refused_at_line(path: Path, line: int, message: str) -> None:
    """Loading ``path`` fails with one error that starts with the file and line, and says ``message``."""
    with pytest.raises(StudyError) as caught:
        load_study(path)
    text = str(caught.value)
    assert text.startswith(f"{path}:{line}: "), text
    assert message in text


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
