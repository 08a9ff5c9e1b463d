"""``Embedder``: any encoder -> one vector per text, batched by length, pooled, optionally normalised.

The classification head of a trained run is dropped by loading its checkpoint with ``AutoModel``: the encoder's
weights are the fine-tuned ones, the head's are ignored.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bakeoff.config import check_shared
from bakeoff.config.embedding import EMBEDDING_PRECISIONS
from bakeoff.data.batching import collate, encode, sorted_batches
from bakeoff.data.dataset import TextDataset
from bakeoff.embedding.locate import EncoderSource, as_source
from bakeoff.embedding.pooling import check_pooling, l2_normalize, pool
from bakeoff.embedding.quantize import QUANTIZATIONS, quantize_vectors
from bakeoff.errors import BakeoffError
from bakeoff.models import check_max_length, keep_layers, load_tokenizer, resolve_model
from bakeoff.runtime import autocast, resolve_device

PRECISIONS = EMBEDDING_PRECISIONS  # int8: bakeoff's dynamic int8 Linear layers (compression/int8.py)
DEFAULT_MAX_LENGTH = 512


class Embedder:
    """An encoder that turns texts into sentence vectors.

    Args:
        model: an alias, a hub id, a local model folder, or an ``EncoderSource`` (a trained run, resolved by
            ``bakeoff.Embedder``, which also takes a run's id, ``project/name`` or folder).
        pooling: ``mean``, ``cls`` or ``max``.
        normalize: scale every vector to unit length (a dot product is then the cosine).
        precision: ``fp32``, ``bf16`` (native on CPUs with AVX-512 BF16/AMX), ``int8`` (dynamic int8 Linears),
            ``onnx`` or ``onnx-int8`` (the encoder exported to ONNX Runtime, fp32 or int8 MatMul weights).
        max_length: tokens per text; default the model's own (sentence-transformers' ``max_seq_length``, a run's
            ``max_length``), else 512.
        batch_size: texts per forward pass (batches hold texts of similar length).
        device: ``auto`` (a CUDA GPU when there is one and ``precision`` is fp32 or bf16, else the CPU), ``cpu``,
            ``cuda`` or ``cuda:N``. int8 and onnx-int8 are CPU methods and are refused on a GPU; onnx runs there
            through ONNX Runtime's CUDA provider (``onnxruntime-gpu``), refused in one line where it is missing.

    >>> Embedder("minilm-l6").encode(["A delight."]).shape  # doctest: +SKIP
    (1, 384)
    """

    def __init__(self, model: str | EncoderSource, *, pooling: str = "mean", normalize: bool = True,
                 precision: str = "fp32", max_length: int | None = None, batch_size: int = 64,
                 threads: int | None = None, device: str = "auto") -> None:
        self.pooling = check_pooling(pooling)
        if precision not in PRECISIONS:
            raise BakeoffError(f"--precision {precision!r}: use one of {', '.join(PRECISIONS)}")
        check_shared(batch_size=batch_size, max_length=max_length)
        self.device = embedding_device(device, precision)  # refuses before the model loads
        if threads:
            torch.set_num_threads(threads)
        self.source = as_source(model)
        check_max_length(self.source.location, max_length, self.source.reference)  # before the weights load
        self.normalize, self.precision, self.batch_size = normalize, precision, batch_size
        self.tokenizer = load_tokenizer(resolve_model(self.source.location))
        self.model = _load_encoder(self.source).to(self.device)
        if precision == "int8":
            from bakeoff.compression.int8 import quantize_model

            quantize_model(self.model, embeddings=False)
        self._session = self._onnx_session(threads) if precision.startswith("onnx") else None
        self.max_length = max_length or _default_max_length(self.source, self.tokenizer, self.model.config)
        self.dimension = int(self.model.config.hidden_size)
        self.last_seconds = 0.0

    def describe(self) -> dict[str, Any]:
        """What an index or a result records about how its vectors were made."""
        return {"model": self.source.to_dict(), "pooling": self.pooling, "normalize": self.normalize,
                "precision": self.precision, "max_length": self.max_length, "dimension": self.dimension}

    @torch.inference_mode()
    def encode(self, texts: list[str], quantize: str | None = None) -> np.ndarray:
        """(len(texts), dimension) float32 vectors in input order (int8 / packed uint8 with ``quantize``)."""
        if quantize is not None and quantize not in QUANTIZATIONS:
            raise BakeoffError(f"--quantize {quantize!r}: use one of {', '.join(QUANTIZATIONS)}")
        texts = list(texts)
        if not texts:
            raise BakeoffError("nothing to embed: give at least one text")
        start = time.perf_counter()
        dataset = TextDataset(texts=texts, labels=np.zeros(len(texts), dtype=np.int64))
        encoded = encode(self.tokenizer, dataset, self.max_length)
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        device = self.device
        for rows in sorted_batches(encoded.lengths, self.batch_size):  # longest first: least padding
            batch = collate(encoded, rows)
            batch.pop("labels")
            inputs = dict(batch)
            if self._session is not None:
                hidden = torch.from_numpy(self._session(inputs))
                vectors[rows] = pool(hidden, batch["attention_mask"], self.pooling).numpy()
                continue
            if bool(batch["attention_mask"].all()):
                # length-sorted batches are mostly unpadded; without a mask, attention takes its mask-free kernel
                inputs.pop("attention_mask")
            inputs = {name: tensor.to(device) for name, tensor in inputs.items()}
            with autocast("bf16" if self.precision == "bf16" else "fp32", device):
                hidden = self.model(**inputs).last_hidden_state  # (batch, seq, dim)
            mask = batch["attention_mask"].to(device)
            vectors[rows] = pool(hidden.float(), mask, self.pooling).cpu().numpy()
        if self.normalize:
            vectors = l2_normalize(vectors).astype(np.float32)
        self.last_seconds = time.perf_counter() - start
        return quantize_vectors(vectors, quantize) if quantize else vectors


    def _onnx_session(self, threads: int | None) -> Any:
        """The encoder as an ONNX Runtime session (int8 weights with ``onnx-int8``), built in a temporary folder
        that lives as long as this Embedder."""
        import tempfile

        from bakeoff.compression.onnx import export, quantize, session_forward

        self._folder = tempfile.TemporaryDirectory(prefix="bakeoff-embed-onnx-")
        path = Path(self._folder.name) / "encoder.onnx"
        export(self.model, self.tokenizer, path, output="last_hidden_state")
        if self.precision == "onnx-int8":
            quantized = path.with_name("encoder-int8.onnx")
            quantize(path, quantized, embeddings=False)
            path = quantized
        return session_forward(path, threads or torch.get_num_threads(), output="last_hidden_state",
                               device=self.device)


def embed(texts: list[str], model: str | EncoderSource = "minilm-l6", *, pooling: str = "mean", normalize: bool = True,
          precision: str = "fp32", quantize: str | None = None, max_length: int | None = None,
          batch_size: int = 64, device: str = "auto") -> np.ndarray:
    """Sentence vectors for ``texts`` from any encoder (see ``Embedder`` for the options).

    >>> vectors = bakeoff.embed(["A delight.", "A bore."], "minilm-l6")  # doctest: +SKIP
    >>> float(vectors[0] @ vectors[1])  # cosine: the vectors are normalised  # doctest: +SKIP
    """
    embedder = Embedder(model, pooling=pooling, normalize=normalize, precision=precision, max_length=max_length,
                        batch_size=batch_size, device=device)
    return embedder.encode(texts, quantize=quantize)


CPU_PRECISIONS = ("int8", "onnx-int8")  # int8 CPU kernels (compression/int8.py, ONNX Runtime's int8 ops)


def embedding_device(device: str, precision: str) -> torch.device:
    """Where an Embedder of ``precision`` runs: ``auto`` takes a CUDA GPU for fp32 and bf16 (the PyTorch
    precisions a GPU runs well) and the CPU otherwise; an explicit GPU is refused in one line for the int8
    precisions, and for onnx without ONNX Runtime's CUDA provider.

    >>> embedding_device("auto", "int8").type
    'cpu'
    """
    if device == "auto":
        return resolve_device("auto") if precision in ("fp32", "bf16") else torch.device("cpu")
    resolved = resolve_device(device)
    if resolved.type == "cuda":
        if precision in CPU_PRECISIONS:
            raise BakeoffError(f"--precision {precision} is a CPU method (int8 CPU kernels): use --device cpu, "
                               "or --precision bf16 on a GPU")
        if precision == "onnx":
            from bakeoff.compression.onnx import require_cuda_provider

            require_cuda_provider()
    elif resolved.type != "cpu":
        raise BakeoffError(f"--device {device}: embeddings run on cpu or cuda")
    return resolved


def _load_encoder(source: EncoderSource) -> torch.nn.Module:
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # a run's classifier weights are unused on purpose
    hf_logging.disable_progress_bar()
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    try:
        model = AutoModel.from_pretrained(source.location, dtype=torch.float32, use_safetensors=True)
    except (OSError, ValueError) as error:
        raise BakeoffError(f"cannot load encoder {source.reference!r} from {source.location}: "
                           f"{str(error).splitlines()[0][:160]}") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    if source.layers:
        keep_layers(model, list(source.layers))
    return model.eval()


def _default_max_length(source: EncoderSource, tokenizer: Any, config: Any) -> int:
    if source.run_max_length:
        return int(source.run_max_length)
    sentence_config = Path(source.location) / "sentence_bert_config.json"
    if sentence_config.is_file():
        value = json.loads(sentence_config.read_text()).get("max_seq_length")
        if value:
            return int(value)
    limits = [DEFAULT_MAX_LENGTH, getattr(tokenizer, "model_max_length", None),
              getattr(config, "max_position_embeddings", None)]
    return int(min(v for v in limits if v))
