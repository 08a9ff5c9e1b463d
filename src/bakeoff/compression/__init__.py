"""Compression: dynamic int8, bf16, ONNX and ONNX int8 artefacts in safe formats, and loading them back."""

from bakeoff.compression.artefact import (
    METHODS,
    LoadedModel,
    get_method,
    load,
    verify,
    write,
)

__all__ = ["METHODS", "LoadedModel", "get_method", "load", "verify", "write"]
