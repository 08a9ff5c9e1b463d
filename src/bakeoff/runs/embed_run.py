"""Embedding with any encoder *or a trained run*: the run-aware front of ``bakeoff.embedding``.

``locate_encoder`` turns what a user typed into an ``EncoderSource``: a run (id, unique prefix, ``project/name``,
run folder; through ``bakeoff.runs.locate``, which also checks the checkpoint's recorded sha256), a model folder,
an alias, or a hub id. ``Embedder``, ``Index`` and ``embed`` are ``bakeoff.embedding``'s, resolving their ``model``
this way first. A run's classification head is dropped: its checkpoint is loaded with ``AutoModel``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bakeoff.config.embedding import EncoderConfig
from bakeoff.embedding import encoder, index
from bakeoff.embedding.locate import EncoderSource, model_source
from bakeoff.errors import StoreError
from bakeoff.models import aliases
from bakeoff.runs.locate import Located, locate
from bakeoff.track import Store


def locate_encoder(reference: str | EncoderSource) -> EncoderSource:
    """Resolve ``reference``: a folder first, then an alias, then a run in the store, then a hub id.

    >>> locate_encoder("minilm-l6").origin  # doctest: +SKIP
    'alias+package'
    >>> locate_encoder("bakeoff/my-run").origin  # doctest: +SKIP
    'run'
    """
    if isinstance(reference, EncoderSource):
        return reference
    path = Path(reference).expanduser()
    if path.exists():
        return _from_located(reference, locate(str(path)))
    if reference in aliases():
        return model_source(reference)
    located = _run_in_store(reference)
    return _from_located(reference, located) if located is not None else model_source(reference)


class Embedder(encoder.Embedder):
    """``bakeoff.embedding.Embedder`` whose ``model`` may also be a trained run (see ``locate_encoder``).

    >>> Embedder("bakeoff/my-run").encode(["A delight."]).shape  # doctest: +SKIP
    (1, 384)
    """

    def __init__(self, model: str | EncoderSource = "minilm-l6", config: EncoderConfig | None = None,
                 **options: Any) -> None:
        super().__init__(locate_encoder(model), config, **options)


class Index(index.Index):
    """``bakeoff.embedding.Index`` whose ``model`` may also be a trained run (see ``locate_encoder``).

    >>> Index.build(["Python is a language"], model="minilm-l6").search("programming", k=1)  # doctest: +SKIP
    """

    @classmethod
    def build(cls, texts: list[str], model: str | EncoderSource | encoder.Embedder = "minilm-l6",
              **options: Any) -> Index:
        resolved = model if isinstance(model, encoder.Embedder) else locate_encoder(model)
        return super().build(texts, resolved, **options)  # type: ignore[return-value]

    def embedder(self, model: str | EncoderSource | None = None) -> encoder.Embedder:
        return super().embedder(None if model is None else locate_encoder(model))


def embed(texts: list[str], model: str | EncoderSource = "minilm-l6", **options: Any) -> np.ndarray:
    """Sentence vectors for ``texts`` from any encoder or trained run (options: see ``Embedder``; ``quantize``).

    >>> vectors = bakeoff.embed(["A delight.", "A bore."], "minilm-l6")  # doctest: +SKIP
    >>> float(vectors[0] @ vectors[1])  # cosine: the vectors are normalised  # doctest: +SKIP
    """
    return encoder.embed(texts, locate_encoder(model), **options)


def _from_located(reference: str, located: Located) -> EncoderSource:
    located.verify()
    max_length = located.config.get("max_length")
    origin = "run" if located.run_dir is not None else "path"
    return EncoderSource(reference, str(located.model_dir.resolve()), origin, None,
                         int(max_length) if max_length else None)


def _run_in_store(reference: str) -> Located | None:
    if not Path(Store().root).is_dir():
        return None
    try:
        return locate(reference)
    except StoreError:  # no such run: a hub id, then
        return None
