"""Compressed models on disk: what each method writes, the manifest that vouches for it, and loading it back.

A compressed model is a folder::

    compressed.json     manifest: method, recipe, source, and every file with its size and sha256
    config.json         the Hugging Face config (label names included)
    tokenizer files     as save_pretrained writes them
    model.safetensors   dynamic-int8, bf16: tensors only; the module is rebuilt from config + recipe
    model.onnx          onnx, onnx-int8: an ONNX graph

No method writes or reads a pickle. Loading checks every recorded sha256 first, so an artefact changed on disk
after it was measured is refused rather than silently measured again under the old figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bakeoff._version import __version__
from bakeoff.compression import int8, onnx
from bakeoff.errors import BakeoffError
from bakeoff.io import read_json, sha256, write_json_atomic
from bakeoff.models.checkpoint import (
    WEIGHTS,
    check_checkpoint,
    label_names,
    load_checkpoint,
)
from bakeoff.models.forward import Forward, torch_forward
from bakeoff.problems import SINGLE_LABEL, Problem, problem_of_config, thresholds_of_config
from bakeoff.track.layout import utc_now

MANIFEST = "compressed.json"
ONNX_FILE = "model.onnx"


@dataclass(frozen=True)
class Method:
    name: str
    backend: str  # "torch" or "onnxruntime"
    weights: str  # the file holding the weights
    summary: str
    devices: tuple[str, ...] = ("cpu", "cuda")  # the device types its model runs on


# The int8 methods are CPU methods: their speed comes from CPU int8 kernels (oneDNN VNNI/AMX for torch._int_mm;
# ONNX Runtime's DynamicQuantizeLinear, MatMulInteger CPU kernels), and on a GPU bf16 is the smaller, faster choice.
CPU_ONLY = ("cpu",)
METHODS = {
    "dynamic-int8": Method("dynamic-int8", "torch", WEIGHTS,
                           "int8 weights per channel, int8 activations per token (torch._int_mm); "
                           "embeddings int8 per row", CPU_ONLY),
    "bf16": Method("bf16", "torch", WEIGHTS, "every weight in bfloat16; runs in bf16"),
    "onnx": Method("onnx", "onnxruntime", ONNX_FILE, "fp32 ONNX graph on ONNX Runtime"),
    "onnx-int8": Method("onnx-int8", "onnxruntime", ONNX_FILE,
                        "ONNX Runtime dynamic int8 (weights per channel, activations per tensor)", CPU_ONLY),
}


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise BakeoffError(f"unknown method {name!r}: use one of {', '.join(METHODS)}")
    method = METHODS[name]
    if method.backend == "onnxruntime":
        onnx.require_onnxruntime()
    return method


def check_device(method: Method, device: torch.device) -> None:
    """Refuse, in one line, a method on a device its model does not run on (before anything is loaded).

    >>> check_device(METHODS["bf16"], torch.device("cuda")) is None  # bf16 runs on a GPU
    True
    """
    if device.type not in method.devices:
        raise BakeoffError(f"--method {method.name} is a CPU method (int8 CPU kernels): run it with --device cpu, "
                           "or use --method bf16 on a GPU")
    if method.backend == "onnxruntime" and device.type == "cuda":
        onnx.require_cuda_provider()


def check_folder_device(path: Path, device: torch.device) -> None:
    """``check_device`` for a model folder: a compressed one's method (read from its manifest), else nothing."""
    manifest = read_json(path / MANIFEST, default=None)
    if isinstance(manifest, dict) and manifest.get("method") in METHODS:
        check_device(get_method(manifest["method"]), device)


# What a method writes at its peak, per byte of the fp32 weights: int8 a quarter (embeddings kept in fp32 when they
# are not quantized: then as much as fp32, an upper bound), bf16 a half, an ONNX graph as much as the weights, and
# onnx-int8 its fp32 graph and the int8 one side by side until the first is deleted.
_PEAK_RATIO = {"dynamic-int8": (0.25, 1.0), "bf16": (0.5, 0.5), "onnx": (1.0, 1.0), "onnx-int8": (1.25, 2.0)}


def disk_bytes(checkpoint: Path, method: Method, quantize_embeddings: bool = True) -> int:
    """About the most bytes ``write`` puts on disk for ``method`` (its weights at their new width, and the
    checkpoint's other files copied): what ``bakeoff compress`` checks there is room for before it starts.

    >>> disk_bytes(Path("no-such-checkpoint"), METHODS["onnx"])
    0
    """
    quantized, kept = _PEAK_RATIO[method.name]
    ratio = quantized if quantize_embeddings else kept
    files = [p for p in checkpoint.iterdir() if p.is_file()] if checkpoint.is_dir() else []
    weights = sum(p.stat().st_size for p in files if p.name == WEIGHTS)
    others = sum(p.stat().st_size for p in files if p.name != WEIGHTS)
    return int(weights * ratio) + others


def write(checkpoint: Path, method: Method, target: Path, quantize_embeddings: bool = True) -> dict[str, Any]:
    """Compress the fp32 checkpoint folder into the (new, empty) folder ``target``; returns the manifest."""
    model, tokenizer = load_checkpoint(checkpoint)
    target.mkdir(parents=True)
    recipe: dict[str, Any] = {}
    if method.name == "dynamic-int8":
        head = _classifier_head(model)
        recipe = int8.quantize_model(model, embeddings=quantize_embeddings, skip=head)
        recipe["kept_float"] = list(head)
        _save_tensors(model, target / WEIGHTS)
    elif method.name == "bf16":
        _save_tensors(model.to(torch.bfloat16), target / WEIGHTS)
    elif method.name == "onnx":
        onnx.export(model, tokenizer, target / ONNX_FILE)
    else:
        fp32_graph = target / "fp32.onnx"
        onnx.export(model, tokenizer, fp32_graph)
        onnx.quantize(fp32_graph, target / ONNX_FILE, embeddings=quantize_embeddings)
        fp32_graph.unlink()
    model.config.save_pretrained(target)
    tokenizer.save_pretrained(target)
    files = {p.name: {"bytes": p.stat().st_size, "sha256": sha256(p)} for p in sorted(target.iterdir())}
    manifest = {"schema_version": 1, "method": method.name, "backend": method.backend, "summary": method.summary,
                "quantize_embeddings": quantize_embeddings if "int8" in method.name else None,
                "recipe": recipe, "source": str(checkpoint.resolve()), "weights": method.weights, "files": files,
                "bakeoff_version": __version__, "created_at": utc_now()}
    write_json_atomic(target / MANIFEST, manifest)
    return manifest


@dataclass
class LoadedModel:
    """A model ready to run, whatever its format: ``forward`` maps a batch of tensors to logits."""

    forward: Forward
    tokenizer: Any
    label_names: list[str]
    method: str  # "fp32" for a plain checkpoint
    backend: str
    weights_bytes: int
    path: Path
    reference: Forward | None = None  # fp32 forward of the same weights, when ``forward`` runs in bf16/fp16
    problem: Problem = SINGLE_LABEL  # the problem type its config names (transformers' ``problem_type``)
    thresholds: list[float] | None = None  # a multi-label model's decision thresholds, from its config

    @property
    def num_labels(self) -> int:
        return len(self.label_names)


def load(path: Path, *, precision: str = "fp32", device: torch.device | None = None,
         threads: int | None = None) -> LoadedModel:
    """Load a plain checkpoint folder (run in ``precision``) or a compressed folder (run as compressed)."""
    device = device or torch.device("cpu")
    threads = threads or torch.get_num_threads()
    if not (path / MANIFEST).is_file():
        check_checkpoint(path)
        model, tokenizer = load_checkpoint(path, device)
        weights = sum(p.stat().st_size for p in path.glob("*.safetensors"))
        reference = torch_forward(model, "fp32", device) if precision != "fp32" else None
        return LoadedModel(torch_forward(model, precision, device), tokenizer, label_names(model),
                           "fp32" if precision == "fp32" else f"fp32 ({precision} autocast)", "torch", weights, path,
                           reference, problem_of_config(model.config), thresholds_of_config(model.config))
    check_folder_device(path, device)  # before the sha256 checks: a refusal costs nothing
    manifest = verify(path)
    method = get_method(manifest["method"])
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    names = [config.id2label[i] for i in range(len(config.id2label))]
    weights = manifest["files"][method.weights]["bytes"]
    if method.backend == "onnxruntime":
        forward = onnx.session_forward(path / ONNX_FILE, threads, device=device)
    else:
        model = _rebuild(path, config, manifest)
        forward = torch_forward(model.to(device), "fp32", device)  # weights carry their own dtype
    return LoadedModel(forward, tokenizer, names, method.name, method.backend, weights, path, None,
                       problem_of_config(config), thresholds_of_config(config))


def verify(path: Path) -> dict[str, Any]:
    """The manifest of a compressed folder, after checking every file against its recorded sha256."""
    manifest = read_json(path / MANIFEST, default=None)
    if not isinstance(manifest, dict) or "files" not in manifest or "method" not in manifest:
        raise BakeoffError(f"{path / MANIFEST}: not a bakeoff compression manifest: compress the run again")
    for name, facts in manifest["files"].items():
        file = path / name
        if not file.is_file():
            raise BakeoffError(f"{file}: missing from the compressed model: compress the run again "
                               "(bakeoff compress RUN --method ... --overwrite)")
        if sha256(file) != facts["sha256"]:
            raise BakeoffError(f"{file}: sha256 differs from the one recorded when it was made: the file changed "
                               "after it was measured; compress the run again with --overwrite")
    return manifest


def _rebuild(path: Path, config: Any, manifest: dict[str, Any]) -> nn.Module:
    """The module from config + recipe, then its tensors from safetensors (no pickle anywhere)."""
    from safetensors.torch import load_file
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_config(config)
    if manifest["method"] == "bf16":
        model = model.to(torch.bfloat16)
    else:
        int8.apply_recipe(model, manifest["recipe"])
    try:
        model.load_state_dict(load_file(path / WEIGHTS), strict=True)
    except RuntimeError as error:
        raise BakeoffError(f"{path / WEIGHTS}: its tensors do not fit the recorded recipe "
                           f"({str(error).splitlines()[0][:120]}): compress the run again") from None
    return model.eval()


def _save_tensors(model: nn.Module, path: Path) -> None:
    from safetensors.torch import save_file

    save_file({name: tensor.contiguous() for name, tensor in model.state_dict().items()}, str(path))


def _classifier_head(model: nn.Module) -> tuple[str, ...]:
    """Names of the output head modules (``classifier`` for BERT-likes, ``score`` for some others)."""
    return tuple(name for name, _ in model.named_children() if name in ("classifier", "score"))
