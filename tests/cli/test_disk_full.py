"""A full disk is said in plain words ("the disk is full"), wherever ENOSPC surfaces, and found before long work.

Two ways to fill a disk: a real 1 MB tmpfs (when this process may mount one: root on Linux), and ENOSPC raised at
the write call as the libraries raise it (always), so the mapping is checked on every machine.
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bakeoff.cli import app
from bakeoff.track import Store

runner = CliRunner()
TEXTS = ["a good film", "a bad film", "the plot was fine"]


def _one_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "a bug in bakeoff" not in result.output and "Traceback" not in result.output
    return lines[0]


def _no_leftovers(folder: Path) -> None:
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []


# how each library says it: errno on an OSError, words in safetensors' own error, numpy's short write (no errno)
RAISED = {
    "OSError ENOSPC": lambda: OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
    "numpy short write": lambda: OSError("768000 requested and 524256 written"),
    "quota": lambda: OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)),
}


@pytest.mark.parametrize("how", list(RAISED))
def test_embed_on_a_full_disk_says_so(how, tiny_model_dir, tmp_path, monkeypatch):
    import numpy as np

    def full(*args, **kwargs):
        raise RAISED[how]()

    monkeypatch.setattr(np, "save", full)
    out = tmp_path / "v.npy"
    result = runner.invoke(app, ["embed", str(tiny_model_dir), *TEXTS, "--out", str(out)])
    assert result.exit_code == 2
    assert _one_line(result).startswith("error: the disk is full (")
    assert not out.exists()
    _no_leftovers(tmp_path)


def test_a_checkpoint_that_cannot_be_written_says_the_disk_is_full(tiny_model_dir, sentiment_dir, monkeypatch):
    """safetensors raises its own SafetensorError (not an OSError) with the OS's words inside."""
    from safetensors import SafetensorError

    import bakeoff.runs.train_run as train_run

    def full(*args, **kwargs):
        raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: '
                              '"No space left on device" })')

    monkeypatch.setattr(train_run, "save_checkpoint", full)
    result = runner.invoke(app, ["train", "--model", str(tiny_model_dir), "--data", str(sentiment_dir),
                                 "--max-steps", "1", "--batch-size", "8", "--quiet"])
    assert result.exit_code == 2
    line = _one_line(result)
    assert line.startswith("error: the disk is full (No space left on device)") and "BAKEOFF_STORE" in line


def test_a_disk_without_room_for_the_checkpoint_is_refused_before_training(tiny_model_dir, sentiment_dir,
                                                                           monkeypatch):
    import bakeoff.io

    monkeypatch.setattr(bakeoff.io, "free_bytes", lambda folder: 50_000)
    result = runner.invoke(app, ["train", "--model", str(tiny_model_dir), "--data", str(sentiment_dir),
                                 "--max-steps", "1", "--batch-size", "8", "--quiet"])
    assert result.exit_code == 2
    line = _one_line(result)
    assert f"error: the disk is full: the checkpoint of {tiny_model_dir} will write about" in line
    assert "only 0.1 MB are free there" in line
    assert Store().list() == []  # refused before the run was created: nothing to clean up


@pytest.mark.parametrize("command", ["embed", "index"])
def test_embeddings_without_room_are_refused_before_encoding(command, tiny_model_dir, tmp_path, monkeypatch):
    import bakeoff.embedding.encoder as encoder
    import bakeoff.io

    monkeypatch.setattr(bakeoff.io, "free_bytes", lambda folder: 1000)
    monkeypatch.setattr(encoder.Embedder, "encode", lambda *a, **k: pytest.fail("encoded on a full disk"))
    corpus = tmp_path / "corpus.csv"
    corpus.write_text("text\n" + "\n".join(TEXTS) + "\n")
    args = (["embed", str(tiny_model_dir), "--file", str(corpus), "--out", str(tmp_path / "v.npy")]
            if command == "embed" else
            ["index", "build", str(tiny_model_dir), "--corpus", str(corpus), "--out", str(tmp_path / "ix")])
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert _one_line(result).startswith("error: the disk is full: ")
    assert not (tmp_path / "v.npy").exists() and not (tmp_path / "ix").exists()


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MB file system (tmpfs), unmounted afterwards whatever happened."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True,
                             timeout=30)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): the ENOSPC tests above raise it at the write instead")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


def test_a_real_full_disk(small_disk, tiny_model_dir, sentiment_dir, monkeypatch):
    """On a 1 MB tmpfs nearly filled: training is refused before it starts, and an embedding written past the
    free-space check (the disk filled while encoding) ends with 'the disk is full', no file left behind."""
    (small_disk / "filler").write_bytes(b"\0" * 900_000)
    monkeypatch.setenv("BAKEOFF_STORE", str(small_disk / "store"))
    result = runner.invoke(app, ["train", "--model", str(tiny_model_dir), "--data", str(sentiment_dir),
                                 "--max-steps", "1", "--batch-size", "8", "--quiet"])
    assert result.exit_code == 2 and _one_line(result).startswith("error: the disk is full: the checkpoint of")

    import bakeoff.io

    monkeypatch.setattr(bakeoff.io, "check_free_space", lambda *args: None)  # as if the disk filled meanwhile
    out = small_disk / "v.npy"
    result = runner.invoke(app, ["embed", str(tiny_model_dir), *(TEXTS * 2000), "--out", str(out)])
    assert result.exit_code == 2 and _one_line(result).startswith("error: the disk is full (")
    assert not out.exists()
    _no_leftovers(small_disk)


def test_a_study_trial_on_a_full_disk_says_so(monkeypatch):
    """The study's line for a trial is what its user reads: the same words as the CLI's."""
    import bakeoff.runs
    from bakeoff.study.worker import TrialPayload, run_trial

    def full(**config):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/store/p/run/checkpoint/model.safetensors")

    monkeypatch.setattr(bakeoff.runs, "train", full)
    summary = run_trial(TrialPayload("t1", {"project": "p", "name": "run", "model": "m", "quiet": True}))
    assert summary.error == "the disk is full (No space left on device: /store/p/run/checkpoint/model.safetensors)"
