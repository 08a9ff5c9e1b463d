from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _store_in_tmp(tmp_path, monkeypatch):
    """Every test writes its runs under its own tmp folder, never into the working tree."""
    monkeypatch.setenv("BAKEOFF_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    return tmp_path / "store"
