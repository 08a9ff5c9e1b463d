"""A full disk is said in plain words ("the disk is full"), wherever ENOSPC surfaces, and found before long work.

Two ways to fill a disk: a real 1 MB tmpfs (when this process may mount one: root on Linux), and ENOSPC raised at
the write call as the libraries raise it (always), so the mapping is checked on every machine.
"""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def _tmpfs(folder: Path, size: str):
    """A real file system of ``size`` (tmpfs) at ``folder``, unmounted afterwards whatever happened."""
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True, timeout=30)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): the ENOSPC tests above raise it at the write instead")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MB file system (tmpfs)."""
    with _tmpfs(tmp_path / "small-disk", "1m") as folder:
        yield folder


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


# ---- compress, report and export check room before they start (issue 20, left partly clean) --------------------

def _trained_run(tiny_model_dir, sentiment_dir, project: str = "p") -> str:
    result = runner.invoke(app, ["train", "--model", str(tiny_model_dir), "--data", str(sentiment_dir),
                                 "--max-steps", "1", "--batch-size", "8", "--quiet", "--project", project,
                                 "--name", "r"])
    assert result.exit_code == 0, result.output
    return f"{project}/r"


def test_compress_without_room_is_refused_before_it_loads_or_measures(tiny_model_dir, sentiment_dir, monkeypatch):
    import bakeoff.compression.artefact as artefact
    import bakeoff.io

    run = _trained_run(tiny_model_dir, sentiment_dir)
    monkeypatch.setattr(bakeoff.io, "free_bytes", lambda folder: 50_000)
    monkeypatch.setattr(artefact, "load", lambda *a, **k: pytest.fail("loaded a model on a full disk"))
    result = runner.invoke(app, ["compress", run, "--method", "dynamic-int8"])
    assert result.exit_code == 2
    line = _one_line(result)
    folder = Store().get(run).path / "compressed"
    assert line.startswith(f"error: the disk is full: --method dynamic-int8 of {run} will write about ")
    assert f"into {folder}, and only 0.1 MB are free there: free some space there, or keep the store on a disk " \
           "with room (BAKEOFF_STORE)" in line
    assert not folder.exists()  # not even the folder the staging copy would go in


def test_what_each_method_is_expected_to_write(tiny_model_dir, sentiment_dir):
    """ONNX about the checkpoint's weights, int8 a quarter, bf16 a half; onnx-int8 holds both graphs at its peak;
    the tokenizer and config are copied whole."""
    from bakeoff.compression.artefact import METHODS, disk_bytes

    checkpoint = Store().get(_trained_run(tiny_model_dir, sentiment_dir)).path / "checkpoint"
    weights = (checkpoint / "model.safetensors").stat().st_size
    others = sum(p.stat().st_size for p in checkpoint.iterdir() if p.name != "model.safetensors")
    assert weights > 10_000 and others > 0
    expected = {"onnx": weights, "dynamic-int8": weights // 4, "bf16": weights // 2, "onnx-int8": weights * 1.25}
    for method, size in expected.items():
        assert abs(disk_bytes(checkpoint, METHODS[method]) - (size + others)) <= 1, method
    assert disk_bytes(checkpoint, METHODS["onnx-int8"], quantize_embeddings=False) == 2 * weights + others


def test_report_without_room_is_refused_before_it_is_built(tiny_model_dir, sentiment_dir, tmp_path, monkeypatch):
    import bakeoff.api
    import bakeoff.io

    _trained_run(tiny_model_dir, sentiment_dir)
    monkeypatch.setattr(bakeoff.io, "free_bytes", lambda folder: 300_000)
    monkeypatch.setattr(bakeoff.api, "leaderboard", lambda *a, **k: pytest.fail("built a report on a full disk"))
    out = tmp_path / "out" / "r.html"
    for fmt in ("html", "md"):
        result = runner.invoke(app, ["report", "p", "--out", str(out.with_suffix(f".{fmt}")), "--format", fmt])
        assert result.exit_code == 2
        assert _one_line(result) == (f"error: the disk is full: the report will write about 2.2 MB into {out.parent}, "
                                     "and only 0.3 MB are free there: free some space there, or write the report "
                                     "elsewhere (--out)")
    assert not out.parent.exists()


def test_a_built_report_that_does_not_fit_writes_nothing(tmp_path, monkeypatch):
    """Checked again once built, at its exact size (charts included): no figures folder without its document."""
    import bakeoff.io
    from bakeoff.errors import BakeoffError
    from bakeoff.report.document import save
    from bakeoff.report.sections import Section

    monkeypatch.setattr(bakeoff.io, "free_bytes", lambda folder: 3_000_000)
    chart = "<svg>" + "x" * 2_000_000 + "</svg>"
    with pytest.raises(BakeoffError, match=r"the report .*r\.md will write about 3\.4 MB .* only 3\.0 MB are free"):
        save([Section("A", ["a sentence"], figures=[chart])], "t", [], "md", tmp_path / "r.md")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    save([Section("A", ["a sentence"], figures=["<svg/>"])], "t", [], "md", tmp_path / "r.md")  # a small one fits
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r-figures", "r.md"]


def test_export_without_room_for_its_artefacts_is_refused_before_anything_is_sent(tiny_model_dir, sentiment_dir,
                                                                                   tmp_path, monkeypatch):
    """A local tracking store copies the artefacts onto this machine: their size (checkpoints included with
    --checkpoints) is checked against the room there before the experiment or any run is made."""
    pytest.importorskip("mlflow", reason="MLflow is not installed: pip install 'bakeoff[mlflow]'")
    from mlflow.tracking import MlflowClient

    import bakeoff.io

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow's file store: local, and quick to open
    run = Store().get(_trained_run(tiny_model_dir, sentiment_dir))
    checkpoint = sum(p.stat().st_size for p in (run.path / "checkpoint").iterdir())
    uri = f"file://{tmp_path / 'mlruns'}"
    real_free = bakeoff.io.free_bytes
    # room for the run's small files, not for its checkpoint: refused only when --checkpoints sends it
    monkeypatch.setattr(bakeoff.io, "free_bytes", lambda folder: (1 << 20) + checkpoint // 2)
    result = runner.invoke(app, ["export", "mlflow", "p", "--tracking-uri", uri, "--checkpoints"])
    assert result.exit_code == 2
    line = _one_line(result)
    assert line.startswith(f"error: the disk is full: the export of 1 run(s)' artefacts will write about ")
    assert f"into {tmp_path / 'mlruns'}, and only " in line and "--artifacts-destination" in line
    assert MlflowClient(tracking_uri=uri).get_experiment_by_name("p") is None  # nothing made in MLflow
    result = runner.invoke(app, ["export", "mlflow", "p", "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    monkeypatch.setattr(bakeoff.io, "free_bytes", real_free)
    experiment = MlflowClient(tracking_uri=uri).get_experiment_by_name("p")
    assert experiment is not None and len(MlflowClient(tracking_uri=uri).search_runs([experiment.experiment_id])) == 1


def test_where_mlflow_puts_artefacts():
    from types import SimpleNamespace

    from bakeoff.export.mlflow import local_artifact_folder

    def at(location):
        return local_artifact_folder(None, SimpleNamespace(artifact_location=location))

    assert at("file:///srv/ml%20runs/3") == Path("/srv/ml runs/3")
    assert at("/srv/mlruns/3") == Path("/srv/mlruns/3") and at("mlruns/3") == Path.cwd() / "mlruns" / "3"
    assert at("mlflow-artifacts:/3") is None and at("s3://bucket/3") is None  # a server's or a bucket's disk
    store = SimpleNamespace(_tracking_client=SimpleNamespace(store=SimpleNamespace(artifact_root_uri="/srv/a")))
    assert local_artifact_folder(store, None) == Path("/srv/a")  # a new experiment: the store's default root
    assert local_artifact_folder(SimpleNamespace(), None) is None  # a REST store: the server decides


def test_a_real_nearly_full_disk_refuses_compress_and_report(tmp_path, tiny_model_dir, sentiment_dir, monkeypatch):
    """On a real 4 MB tmpfs holding the store: a run trains, the disk is then filled to 1 MB free, and compress
    and report are refused before they start, from what the file system itself says (statvfs). 1 MB free: less than
    the tiny model's int8 copy and its reserve (check_free_space keeps 1 MiB besides the estimate)."""
    with _tmpfs(tmp_path / "disk", "4m") as disk:
        monkeypatch.setenv("BAKEOFF_STORE", str(disk / "store"))
        run = _trained_run(tiny_model_dir, sentiment_dir)
        import bakeoff.io

        free = bakeoff.io.free_bytes(disk)
        (disk / "filler").write_bytes(b"\0" * (free - 1_000_000))
        result = runner.invoke(app, ["compress", run, "--method", "dynamic-int8"])
        assert _one_line(result).startswith(f"error: the disk is full: --method dynamic-int8 of {run} will write")
        assert result.exit_code == 2 and not (Store().get(run).path / "compressed").exists()
        result = runner.invoke(app, ["report", "p", "--out", str(disk / "r.html")])
        assert _one_line(result).startswith("error: the disk is full: the report will write about 2.2 MB")
        assert result.exit_code == 2
        _no_leftovers(disk)
        assert sorted(p.name for p in disk.iterdir()) == ["filler", "store"]
