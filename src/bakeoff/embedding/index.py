"""``Index``: a folder of sentence vectors and their texts, searched by cosine similarity.

The folder::

    index.json      how the vectors were made (model and its fingerprint, pooling, normalize, max_length,
                    precision), the count and width of the vectors, every other file with its size and sha256,
                    and ``manifest_sha256``: the sha256 of index.json itself (without that field)
    vectors.npy     (n, dim) float32, unit length; loaded with allow_pickle=False
    texts.json      {"ids": [...], "texts": [...]}
    ann.usearch     an approximate (HNSW) index, only when built with ``ann=True`` (``pip install 'bakeoff[ann]'``)

Loading checks every sha256 first (index.json's own too), then that the files agree with each other (as many texts
and ids as vectors, of the recorded width): an index changed after it was built is refused, not searched. A search
refuses a model folder whose files differ from the ones the index was built with (``model_fingerprint``), and says
so plainly when the model's folder (a trained run's checkpoint) is no longer where it was.
Exact search is one matrix product and an ``argpartition``: O(n * dim) per query, fast up to ~10^6 vectors here.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bakeoff.embedding.encoder import Embedder
from bakeoff.embedding.locate import EncoderSource, as_source, model_source
from bakeoff.embedding.pooling import l2_normalize
from bakeoff.errors import BakeoffError
from bakeoff.io import sha256
from bakeoff.models import model_fingerprint

MANIFEST = "index.json"
VECTORS = "vectors.npy"
TEXTS = "texts.json"
ANN = "ann.usearch"
SCHEMA_VERSION = 2  # 2: model_fingerprint, manifest_sha256
SEAL = "manifest_sha256"


@dataclass
class Hit:
    """One search result."""

    rank: int
    id: str
    text: str
    score: float  # cosine similarity

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Index:
    """Vectors + texts + how they were made. Build it from texts, save it, load it, search it.

    >>> index = Index.build(["Python is a language", "The weather is sunny"], model="minilm-l6")  # doctest: +SKIP
    >>> index.search("programming", k=1)[0][0].text  # doctest: +SKIP
    'Python is a language'
    """

    def __init__(self, vectors: np.ndarray, texts: list[str], ids: list[str], settings: dict[str, Any],
                 ann: Any = None) -> None:
        self.vectors, self.texts, self.ids, self.settings, self.ann = vectors, texts, ids, settings, ann
        self._embedder: Embedder | None = None

    def __len__(self) -> int:
        return len(self.texts)

    # -- building -------------------------------------------------------------------------------------------
    @classmethod
    def build(cls, texts: list[str], model: str | EncoderSource | Embedder = "minilm-l6", *,
              ids: list[str] | None = None, pooling: str = "mean", max_length: int | None = None,
              precision: str = "fp32", batch_size: int = 64, ann: bool = False) -> Index:
        """Embed ``texts`` (normalised) with ``model``; ``ids`` default to the row numbers."""
        texts = list(texts)
        if not texts:
            raise BakeoffError("the corpus is empty: give at least one text to index")
        ids = [str(i) for i in ids] if ids is not None else [str(i) for i in range(len(texts))]
        if len(ids) != len(texts):
            raise BakeoffError(f"{len(texts)} texts but {len(ids)} ids: give one id per text")
        embedder = model if isinstance(model, Embedder) else Embedder(
            model, pooling=pooling, normalize=True, precision=precision, max_length=max_length,
            batch_size=batch_size)
        vectors = embedder.encode(texts)
        if not embedder.normalize:
            vectors = l2_normalize(vectors).astype(np.float32)
        settings = {**embedder.describe(), "normalize": True, "count": len(texts),
                    "model_fingerprint": model_fingerprint(embedder.source.location)}
        index = cls(vectors, texts, ids, settings, _build_ann(vectors) if ann else None)
        index._embedder = embedder
        return index

    # -- disk -----------------------------------------------------------------------------------------------
    def save(self, folder: str | Path, overwrite: bool = False) -> Path:
        """Write the index folder; it appears under its name only once complete."""
        folder = Path(folder)
        if folder.exists() and not overwrite:
            raise BakeoffError(f"{folder} exists: choose another --out, or remove it first")
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            np.save(staging / VECTORS, self.vectors, allow_pickle=False)
            (staging / TEXTS).write_text(json.dumps({"ids": self.ids, "texts": self.texts}, ensure_ascii=False))
            if self.ann is not None:
                self.ann.save(str(staging / ANN))
            files = {p.name: {"bytes": p.stat().st_size, "sha256": sha256(p)}
                     for p in sorted(staging.iterdir()) if p.is_file()}
            manifest = {"schema_version": SCHEMA_VERSION, **self.settings, "files": files}
            manifest[SEAL] = _seal(manifest)
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
            if folder.exists():
                shutil.rmtree(folder)
            staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Index:
        """Read an index folder, refusing it if any file's sha256 differs from its manifest."""
        folder = Path(folder)
        manifest = _read_manifest(folder)
        for name, entry in manifest["files"].items():
            path = folder / name
            if not path.is_file():
                raise BakeoffError(f"{folder}: {name} is missing: rebuild the index with `bakeoff index build`")
            if sha256(path) != entry["sha256"]:
                raise BakeoffError(f"{folder}: {name} does not match its sha256 in {MANIFEST} (changed after the "
                                   "index was built): rebuild the index with `bakeoff index build`")
        try:
            vectors = np.load(folder / VECTORS, allow_pickle=False)
        except ValueError as error:
            raise BakeoffError(f"{folder / VECTORS}: not a plain .npy array ({error})") from None
        try:
            stored = json.loads((folder / TEXTS).read_text())
            texts, ids = stored["texts"], stored["ids"]
        except (ValueError, KeyError, TypeError):
            raise BakeoffError(f"{folder / TEXTS}: unreadable (no texts and ids): rebuild the index") from None
        _check_agreement(folder, manifest, vectors, texts, ids)
        ann = _load_ann(folder / ANN, vectors.shape[1]) if ANN in manifest["files"] else None
        settings = {k: v for k, v in manifest.items() if k not in ("files", "schema_version", SEAL)}
        return cls(vectors, texts, ids, settings, ann)

    # -- searching ------------------------------------------------------------------------------------------
    def embedder(self, model: str | EncoderSource | None = None) -> Embedder:
        """The encoder the index was built with; asking for another one is refused."""
        built_with = self.settings["model"]
        if model is not None and _identity(as_source(model)) != _identity(built_with):
            raise BakeoffError(f"the index was built with {built_with['reference']!r} ({built_with['location']}), "
                               f"not {model!r}: search it with its own model, or build a new index")
        if self._embedder is None:
            # a folder (a run's checkpoint too) is reloaded from where it was; an alias or hub id by its name
            recorded = EncoderSource.from_dict(built_with)
            reference = recorded.location if recorded.origin in ("path", "run") else recorded.reference
            if recorded.origin in ("path", "run") and not Path(recorded.location).is_dir():
                what = "the trained run" if recorded.origin == "run" else "the model folder"
                raise BakeoffError(f"the index was built with {what} {recorded.reference!r}, whose model was at "
                                   f"{recorded.location}, which is no longer there: put it back, or rebuild the "
                                   "index with `bakeoff index build`")
            source = recorded if recorded.origin in ("path", "run") else model_source(reference)
            self._check_fingerprint(source.location)
            embedder = Embedder(source, pooling=self.settings["pooling"], normalize=True,
                                precision=self.settings.get("precision", "fp32"),
                                max_length=self.settings["max_length"])
            if _identity(embedder.source) != _identity(built_with):
                raise BakeoffError(f"{reference!r} no longer names the encoder the index was built with "
                                   f"({built_with['location']}): rebuild the index")
            self._embedder = embedder
        return self._embedder

    def _check_fingerprint(self, location: str) -> None:
        """Refuse a model whose files are not the ones the index was built with (same place, other weights)."""
        recorded = self.settings.get("model_fingerprint")
        if recorded is None:
            return
        now = model_fingerprint(location)
        if now is not None and now != recorded:
            raise BakeoffError(f"the model at {location} is not the one the index was built with (its files' "
                               f"fingerprint is {now}, the index recorded {recorded}): search with the original "
                               "model, or rebuild the index")

    def search(self, queries: str | list[str], k: int = 5, *, model: str | EncoderSource | None = None,
               approximate: bool = False) -> list[list[Hit]]:
        """The ``k`` most similar texts for each query, best first (one list per query)."""
        single = isinstance(queries, str)
        queries = [queries] if single else list(queries)
        if not queries:
            raise BakeoffError("no queries: give at least one")
        if k < 1:
            raise BakeoffError(f"-k {k}: give a positive number of results")
        vectors = self.embedder(model).encode(queries)
        return self.search_vectors(vectors, k, approximate=approximate)

    def search_vectors(self, queries: np.ndarray, k: int = 5, approximate: bool = False) -> list[list[Hit]]:
        """Search with query vectors (unit length, as ``Embedder.encode`` gives them)."""
        if approximate:
            if self.ann is None:
                raise BakeoffError("this index has no approximate index: rebuild it with --ann")
            rows, scores = _ann_search(self.ann, queries, min(k, len(self)))
        else:
            rows, scores = top_k(queries, self.vectors, k)
        return [[Hit(rank + 1, self.ids[r], self.texts[r], float(s)) for rank, (r, s) in enumerate(zip(rr, ss))]
                for rr, ss in zip(rows, scores)]


def top_k(queries: np.ndarray, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` by dot product: (rows, scores), each (q, k), best first.

    >>> top_k(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 0.0], [0.6, 0.8]]), 2)[0].tolist()
    [[1, 2]]
    """
    k = min(k, len(vectors))
    scores = queries.astype(np.float32) @ vectors.T  # (q, n)
    if k < scores.shape[1]:
        candidates = np.argpartition(-scores, k - 1, axis=1)[:, :k]  # the k best, unordered: O(n)
    else:
        candidates = np.tile(np.arange(scores.shape[1]), (len(scores), 1))
    chosen = np.take_along_axis(scores, candidates, axis=1)
    order = np.argsort(-chosen, axis=1, kind="stable")
    return np.take_along_axis(candidates, order, axis=1), np.take_along_axis(chosen, order, axis=1)


def _identity(source: Any) -> tuple[str, list[int]]:
    """What makes two encoders the same: where the weights are, and which layers are kept."""
    info = source if isinstance(source, dict) else source.to_dict()
    return info["location"], list(info["layers"] or [])


def _seal(manifest: dict[str, Any]) -> str:
    """sha256 of the manifest's content without the seal itself (keys sorted: formatting does not matter)."""
    content = {k: v for k, v in manifest.items() if k != SEAL}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _check_agreement(folder: Path, manifest: dict[str, Any], vectors: np.ndarray, texts: Any, ids: Any) -> None:
    """The files must describe one index: as many texts and ids as vectors, of the width the manifest records."""
    rebuild = "rebuild the index with `bakeoff index build`"
    if vectors.ndim != 2:
        raise BakeoffError(f"{folder / VECTORS}: {vectors.ndim} dimensions where a table of vectors has 2: {rebuild}")
    if not isinstance(texts, list) or not isinstance(ids, list):
        raise BakeoffError(f"{folder / TEXTS}: texts and ids must be lists: {rebuild}")
    counts = {"vectors": vectors.shape[0], "texts": len(texts), "ids": len(ids), "count in index.json":
              manifest.get("count", vectors.shape[0])}
    if len(set(counts.values())) != 1:
        shown = ", ".join(f"{n} {what}" for what, n in counts.items())
        raise BakeoffError(f"{folder}: the index's files disagree ({shown}): {rebuild}")
    width = manifest.get("dimension")
    if width is not None and vectors.shape[1] != width:
        raise BakeoffError(f"{folder / VECTORS}: vectors of width {vectors.shape[1]}, but the model the index was "
                           f"built with makes {width}: {rebuild}")


def _read_manifest(folder: Path) -> dict[str, Any]:
    if not (folder / MANIFEST).is_file():
        raise BakeoffError(f"{folder}: not an index folder (no {MANIFEST}): build one with `bakeoff index build`")
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        assert isinstance(manifest.get("files"), dict) and "model" in manifest
    except (ValueError, AssertionError):
        raise BakeoffError(f"{folder / MANIFEST}: unreadable manifest: rebuild the index") from None
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise BakeoffError(f"{folder}: index schema {manifest.get('schema_version')} is not {SCHEMA_VERSION}: "
                           "rebuild the index with this bakeoff")
    if manifest.get(SEAL) != _seal(manifest):
        raise BakeoffError(f"{folder / MANIFEST}: does not match its own {SEAL} (edited after the index was built; "
                           "it says which model embeds the queries): rebuild the index with `bakeoff index build`")
    return manifest




def _require_usearch() -> Any:
    try:
        from usearch import index as usearch_index
    except ImportError:
        raise BakeoffError("usearch is not installed: pip install 'bakeoff[ann]'") from None
    return usearch_index


def _build_ann(vectors: np.ndarray) -> Any:
    usearch_index = _require_usearch()
    ann = usearch_index.Index(ndim=vectors.shape[1], metric="cos", dtype="f32")
    ann.add(np.arange(len(vectors)), vectors)
    return ann


def _load_ann(path: Path, dimension: int) -> Any:
    usearch_index = _require_usearch()
    ann = usearch_index.Index(ndim=dimension, metric="cos", dtype="f32")
    ann.load(str(path))
    return ann


def _ann_search(ann: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    matches = ann.search(queries.astype(np.float32), k)
    keys = np.asarray(matches.keys).reshape(len(queries), -1)
    distances = np.asarray(matches.distances).reshape(len(queries), -1)
    return keys.astype(np.int64), 1.0 - distances  # usearch's cosine distance is 1 - cosine
