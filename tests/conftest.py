from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
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
    the terminal is 80 columns whatever the caller's is."""
    monkeypatch.setenv("COLUMNS", TEST_COLUMNS)
    monkeypatch.setenv("BAKEOFF_STORE", str(tmp_path / "store"))
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
