"""``bakeoff embed``, ``bakeoff index build``, ``bakeoff search``, ``bakeoff embed-eval``: sentence vectors."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from bakeoff.cli._common import console, fmt, friendly_errors, print_json
from bakeoff.config import check_shared

index_app = typer.Typer(help="Build a semantic-search index.", no_args_is_help=True, rich_markup_mode=None)

Pooling = Annotated[str, typer.Option(help="mean, cls or max.")]
TextColumn = Annotated[str | None, typer.Option(help="Column holding the text (default: text, else the first).")]
Precision = Annotated[str, typer.Option(help="fp32, bf16, int8 (PyTorch dynamic int8 Linear layers), onnx or onnx-int8 "
                                             "(the encoder in ONNX Runtime, exported when the command starts; needs "
                                             "'bakeoff[onnx]').")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@friendly_errors
def embed(
    model: Annotated[str, typer.Argument(help="Alias, hub id, model folder, or a trained run (id, project/name).")],
    texts: Annotated[list[str] | None, typer.Argument(help="Texts to embed (or --file).")] = None,
    file: Annotated[Path | None, typer.Option(help="Embed every row of this CSV/TSV/JSONL/Parquet file.")] = None,
    text_column: TextColumn = None,
    id_column: Annotated[str | None, typer.Option(help="Column of ids kept in Parquet output.")] = None,
    out: Annotated[Path, typer.Option(help="vectors.npy, or .parquet (id, text, vector).")] = Path("vectors.npy"),
    pooling: Pooling = "mean",
    normalize: Annotated[bool, typer.Option(help="Unit-length vectors (cosine = dot product).")] = True,
    precision: Precision = "fp32",
    quantize: Annotated[str | None, typer.Option(help="int8 or binary output vectors.")] = None,
    max_length: int | None = None,
    batch_size: int = 64,
    device: Annotated[str, typer.Option(help="auto (a GPU for fp32/bf16 when there is one), cpu, cuda or cuda:N.")]
    = "auto",
) -> None:
    """Sentence vectors for texts or a file's rows, written to .npy or .parquet."""
    from bakeoff.api import Embedder
    from bakeoff.errors import BakeoffError
    from bakeoff.io import check_out

    if bool(texts) == (file is not None):
        raise BakeoffError('give either texts ("..." ...) or --file FILE, not both or neither')
    check_out(out, example="vectors.npy")
    if out.suffix not in (".npy", ".parquet"):
        raise BakeoffError(f"--out {out}: use a .npy or .parquet file name")
    ids, rows = _read_texts(file, text_column, id_column) if file is not None else (None, list(texts or []))
    embedder = Embedder(model, pooling=pooling, normalize=normalize, precision=precision, max_length=max_length,
                        batch_size=batch_size, device=device)
    _check_room(out.parent, embedder.dimension, rows if out.suffix == ".parquet" else [], len(rows),
                f"embedding {len(rows)} texts")
    vectors = embedder.encode(rows, quantize=quantize)
    _write_vectors(out, vectors, rows, ids or [str(i) for i in range(len(rows))])
    console.print(f"wrote {vectors.shape[0]} x {vectors.shape[1]} {vectors.dtype} vectors to {out} "
                  f"({len(rows) / embedder.last_seconds:.0f} texts/s)", highlight=False)


@index_app.command("build")
@friendly_errors
def build(
    model: Annotated[str, typer.Argument(help="Alias, hub id, model folder, or a trained run.")],
    corpus: Annotated[Path, typer.Option(help="CSV/TSV/JSONL/Parquet file of the texts to search.")],
    out: Annotated[Path, typer.Option(help="The index folder to write (must not exist).")],
    text_column: TextColumn = None,
    id_column: Annotated[str | None, typer.Option(help="Column of ids (default: row numbers).")] = None,
    pooling: Pooling = "mean",
    precision: Precision = "fp32",
    max_length: int | None = None,
    batch_size: int = 64,
    ann: Annotated[bool, typer.Option(help="Also build an approximate (HNSW) index: pip install 'bakeoff[ann]'.")]
    = False,
) -> None:
    """Embed a corpus and write an index folder (vectors, texts, model, manifest with sha256)."""
    from bakeoff.api import Embedder, Index
    from bakeoff.errors import BakeoffError
    from bakeoff.io import check_out

    if out.exists():
        raise BakeoffError(f"{out} exists: choose another --out, or remove it first")
    check_out(out, example="docs-index")
    check_shared(batch_size=batch_size, max_length=max_length)
    ids, texts = _read_texts(corpus, text_column, id_column)
    embedder = Embedder(model, pooling=pooling, normalize=True, precision=precision, max_length=max_length,
                        batch_size=batch_size)
    _check_room(out.absolute().parent, embedder.dimension * (2 if ann else 1), texts, len(texts),
                f"an index of {len(texts)} texts")
    index = Index.build(texts, embedder, ids=ids, ann=ann)
    index.save(out)
    console.print(f"indexed {len(index)} texts with {model} ({pooling} pooling) in {out}", highlight=False)


@friendly_errors
def search(
    index: Annotated[Path, typer.Argument(help="An index folder (bakeoff index build).")],
    query: Annotated[str | None, typer.Argument(help="The query text (or --file).")] = None,
    k: Annotated[int, typer.Option("-k", "--k", help="Results per query.")] = 5,
    file: Annotated[Path | None, typer.Option(help="A file of queries (one per row).")] = None,
    text_column: TextColumn = None,
    model: Annotated[str | None, typer.Option(help="Check the index was built with this model.")] = None,
    approximate: Annotated[bool, typer.Option(help="Use the index's approximate (HNSW) index.")] = False,
    as_json: AsJson = False,
) -> None:
    """Rank an index's texts by cosine similarity to a query (or to each query of a file)."""
    from bakeoff.api import Index
    from bakeoff.errors import BakeoffError

    if (query is None) == (file is None):
        raise BakeoffError('give either a query ("...") or --file FILE, not both or neither')
    check_shared(k=k)
    loaded = Index.load(index)
    queries = _read_texts(file, text_column, None)[1] if file is not None else [query or ""]
    results = loaded.search(queries, k=k, model=model, approximate=approximate)
    if as_json:
        print_json([{"query": q, "hits": [h.to_dict() for h in hits]} for q, hits in zip(queries, results)])
        return
    for text, hits in zip(queries, results):
        view = Table(title=f"{text[:80]}")
        for column in ("rank", "score", "id", "text"):
            view.add_column(column, justify="right" if column in ("rank", "score") else "left", overflow="fold")
        for hit in hits:
            view.add_row(str(hit.rank), f"{hit.score:.3f}", hit.id, hit.text)
        console.print(view)


@friendly_errors
def embed_eval(
    model: Annotated[str, typer.Argument(help="Alias, hub id, model folder, or a trained run.")],
    kind: Annotated[str, typer.Option(help="pairs (similarity), probe (logistic regression) or retrieval.")],
    task: Annotated[str | None, typer.Option(help="A task (mrpc for pairs/retrieval, sst2 for probe).")] = None,
    data: Annotated[str | None, typer.Option(help="A folder of split files, or one file.")] = None,
    pooling: Pooling = "mean",
    normalize: bool = True,
    precision: Precision = "fp32",
    text_column: TextColumn = None,
    text_pair_column: Annotated[str | None, typer.Option(help="Second text (pairs) / document (retrieval).")]
    = None,
    label_column: Annotated[str | None, typer.Option(help="Column holding the label.")] = None,
    train_fraction: Annotated[float, typer.Option(help="Share of training rows used (probe, thresholds).")] = 1.0,
    max_length: int | None = None,
    batch_size: int = 64,
    seed: int = 42,
    project: str = "embeddings",
    name: str | None = None,
    as_json: AsJson = False,
) -> None:
    """Evaluate frozen embeddings on a pair-similarity, probe or retrieval task; record the run."""
    from bakeoff.api import evaluate_embeddings

    result = evaluate_embeddings(model, task=task, kind=kind, pooling=pooling, normalize=normalize,
                                 precision=precision, data=data, text_column=text_column,
                                 text_pair_column=text_pair_column, label_column=label_column,
                                 train_fraction=train_fraction, max_length=max_length, batch_size=batch_size,
                                 seed=seed, project=project, name=name)
    if as_json:
        print_json(result.to_dict())
        return
    view = Table(title=f"{model} ({pooling} pooling) on {result.task}: {kind}, {result.split} split")
    for metric in result.metrics:
        view.add_column(metric, justify="right")
    view.add_row(*(fmt(v) for v in result.metrics.values()))
    console.print(view)
    console.print(f"run {result.run.id}  stored in {result.run.path}", highlight=False)


def _read_texts(path: Path, text_column: str | None, id_column: str | None) -> tuple[list[str] | None, list[str]]:
    from bakeoff.data.tables import read_table
    from bakeoff.errors import BakeoffError

    table = read_table(path)
    column = text_column or ("text" if "text" in table.columns else table.columns[0])
    texts = table.texts(column, "--text-column")  # an empty text is refused at its line: row i stays vector i
    if not texts:
        raise BakeoffError(f"{path}: no rows: the file needs at least one text")
    ids = table.column(id_column, "--id-column") if id_column else None
    return ids, texts


def _check_room(folder: Path, dimension: int, texts: list[str], count: int, what: str) -> None:
    """Before the encoding (minutes on a large corpus): room for ``count`` float32 vectors and the ``texts`` kept."""
    from bakeoff.io import check_free_space

    check_free_space(folder, count * dimension * 4 + sum(len(text.encode("utf-8")) for text in texts), what)


def _write_vectors(out: Path, vectors: np.ndarray, texts: list[str], ids: list[str]) -> None:
    """Write to a temporary file beside ``out``, then rename: never a half-written file under its name."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=out.suffix)
    os.close(fd)
    try:
        if out.suffix == ".npy":
            np.save(tmp, vectors, allow_pickle=False)
        else:
            _write_parquet(Path(tmp), vectors, texts, ids)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_parquet(path: Path, vectors: np.ndarray, texts: list[str], ids: list[str]) -> None:
    from bakeoff.errors import BakeoffError

    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise BakeoffError("writing Parquet needs pyarrow: pip install 'bakeoff[parquet]'") from None
    vector_type = pa.list_(pa.from_numpy_dtype(vectors.dtype), vectors.shape[1])
    column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])
    table = pa.table({"id": pa.array(ids, pa.string()), "text": pa.array(texts, pa.string()),
                      "vector": column.cast(vector_type)})
    pq.write_table(table, path)
