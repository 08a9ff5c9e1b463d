"""MiniLM-L6's frozen-embedding STS-B dev Spearman: bakeoff's ``embed-eval --kind sts`` beside sentence-transformers'
own ``SentenceTransformer.encode`` on the same 1,500 dev pairs (cosine of the two sentences vs the gold score).

    BAKEOFF_DATA_DIR=../shared/data .venv/bin/python benchmarks/sts_minilm.py      # needs sentence-transformers

The model card of all-MiniLM-L6-v2 reports an average over sentence-embedding benchmarks, not STS-B dev alone, so
the peer figure here is measured, on the same rows, with the peer's own encode (mean pooling, normalised).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from bakeoff.api import Embedder, evaluate_embeddings
from bakeoff.hardware import describe
from bakeoff.problems.regression import spearman

DATA = Path(os.environ.get("BAKEOFF_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data") / "stsb"


def dev_pairs() -> tuple[list[str], list[str], np.ndarray]:
    rows = [line.split("\t") for line in (DATA / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    return [r[7] for r in rows], [r[8] for r in rows], np.array([float(r[9]) for r in rows])


def main() -> None:
    from sentence_transformers import SentenceTransformer

    first, second, gold = dev_pairs()
    start = time.perf_counter()
    ours = evaluate_embeddings("minilm-l6", "stsb", "sts", project="sts-benchmark")
    our_seconds = time.perf_counter() - start
    peer = SentenceTransformer(Embedder("minilm-l6").source.location, device="cpu")
    start = time.perf_counter()
    a = peer.encode(first, batch_size=64, normalize_embeddings=True)
    b = peer.encode(second, batch_size=64, normalize_embeddings=True)
    peer_seconds = time.perf_counter() - start
    peer_spearman = spearman((a * b).sum(axis=1), gold)
    print(f"rows: {len(gold)} STS-B dev pairs; {describe().get('cpu')}; load {os.getloadavg()[0]:.1f}")
    print("| encoder | Spearman x100 | Pearson x100 | seconds |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| bakeoff embed-eval --kind sts (minilm-l6, mean pooling) | {ours.metrics['spearman'] * 100:.2f} | "
          f"{ours.metrics['pearson'] * 100:.2f} | {our_seconds:.1f} |")
    print(f"| sentence-transformers encode (same model folder) | {peer_spearman * 100:.2f} | - | {peer_seconds:.1f} |")


if __name__ == "__main__":
    main()
