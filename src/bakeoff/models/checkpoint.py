"""Checkpoints as plain Hugging Face folders: safetensors weights, config (with label names), tokenizer.

Nothing here reads or writes a pickle: weights load with ``use_safetensors=True``, so a folder that only
has ``pytorch_model.bin`` is refused rather than unpickled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from bakeoff.errors import BakeoffError

WEIGHTS = "model.safetensors"


def save_checkpoint(model: nn.Module, tokenizer: Any, path: Path) -> dict[str, Any]:
    """Write ``path`` (fp32 safetensors + config + tokenizer); returns the files and their sizes."""
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    if not (path / WEIGHTS).is_file() and not list(path.glob("model-*.safetensors")):
        raise BakeoffError(f"{path}: transformers did not write safetensors weights; refusing a pickled checkpoint")
    files = {p.name: p.stat().st_size for p in sorted(path.iterdir()) if p.is_file()}
    return {"path": str(path), "files": files, "bytes": sum(files.values())}


def check_checkpoint(path: Path) -> None:
    """One clear error for a folder that is not a loadable checkpoint."""
    if not path.is_dir():
        raise BakeoffError(f"{path}: no such checkpoint folder")
    if not (path / "config.json").is_file():
        raise BakeoffError(f"{path}: not a model folder (no config.json)")
    if not (path / WEIGHTS).is_file() and not list(path.glob("model-*.safetensors")):
        pickled = [p.name for p in path.glob("*.bin")]
        extra = f" ({', '.join(pickled)} is a pickle, which bakeoff does not load)" if pickled else ""
        raise BakeoffError(f"{path}: no safetensors weights{extra}: save the model with save_pretrained()")


def load_checkpoint(path: Path, device: torch.device | None = None) -> tuple[nn.Module, Any]:
    """(model, tokenizer) from a checkpoint folder, in eval mode."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    check_checkpoint(path)
    hf_logging.disable_progress_bar()
    try:
        model = AutoModelForSequenceClassification.from_pretrained(path, use_safetensors=True, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as error:
        raise BakeoffError(f"{path}: cannot load the checkpoint ({str(error).splitlines()[0][:160]})") from None
    return model.to(device or torch.device("cpu")).eval(), tokenizer


def label_names(model: nn.Module) -> list[str]:
    id2label = model.config.id2label
    return [id2label[i] for i in range(len(id2label))]
