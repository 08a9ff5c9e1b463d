from __future__ import annotations

from tests.study.conftest import tiny_study  # noqa: F401  the same tiny study files as the study tests
