"""Aliases: ``mpnet-base`` resolves to the local copy its environment variable names, else to its hub id."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bakeoff.cli import app
from bakeoff.errors import BakeoffError
from bakeoff.models import resolve_model


def test_mpnet_base_is_its_hub_id_unless_the_environment_names_a_local_copy(tiny_model_dir, monkeypatch):
    monkeypatch.delenv("BAKEOFF_MPNET_BASE", raising=False)
    hub = resolve_model("mpnet-base")
    assert (hub.location, hub.origin) == ("sentence-transformers/all-mpnet-base-v2", "alias+hub")
    monkeypatch.setenv("BAKEOFF_MPNET_BASE", str(tiny_model_dir))
    local = resolve_model("mpnet-base")
    assert (local.location, local.origin) == (str(tiny_model_dir.resolve()), "alias+env")


def test_a_local_copy_that_is_not_a_model_folder_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("BAKEOFF_MPNET_BASE", str(tmp_path))
    with pytest.raises(BakeoffError, match=r"BAKEOFF_MPNET_BASE=.* is not a model folder \(no config.json\)"):
        resolve_model("mpnet-base")
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(BakeoffError, match="pickle"):  # a local copy is checked like any local folder
        resolve_model("mpnet-base")


def test_models_lists_mpnet_base_with_its_origin(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("BAKEOFF_MPNET_BASE", str(tiny_model_dir))
    rows = {row["alias"]: row for row in json.loads(CliRunner().invoke(app, ["models", "--json"]).output)}
    assert rows["mpnet-base"]["origin"] == "alias+env"
    assert rows["mpnet-base"]["resolves_to"] == str(tiny_model_dir.resolve())
    assert "MPNet" in rows["mpnet-base"]["about"]
