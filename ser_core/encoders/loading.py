"""Loading encoders by name (``whisper_base``, ``whisper_tiny``, ``hf:<name-or-path>``)."""

from __future__ import annotations

import torch

from ser_core.encoders.base import SpeechEncoder
from ser_core.encoders.whisper import WHISPER_SOURCES, load_whisper_encoder
from ser_core.errors import CheckpointError

__all__ = ["HF_PREFIX", "available_encoders", "load_encoder"]

#: Prefix naming a ``transformers`` checkpoint (hub id or folder) instead of a packaged encoder.
HF_PREFIX = "hf:"


def available_encoders() -> dict[str, str]:
    """Packaged encoder names and a one-line description of each."""
    return {name: source.description for name, source in WHISPER_SOURCES.items()}


def load_encoder(
    name: str,
    device: str | torch.device = "cpu",
    allow_download: bool = False,
    runtime: str = "torch",
) -> SpeechEncoder:
    """Load an encoder by name: ``whisper_base``, ``whisper_tiny`` or ``hf:<name-or-path>``.

    Args:
        name: the encoder.
        device: where the torch encoder goes.
        allow_download: only matters for ``hf:`` names (packaged encoders never download).
        runtime: ``"torch"`` (trainable) or ``"onnx"`` (packaged encoders, CPU inference only;
            exported on first use; ``hf:`` encoders always run on torch).

    Raises:
        CheckpointError: unknown name, or weights that are not available locally.
    """
    if runtime not in ("torch", "onnx"):
        raise ValueError(f"runtime must be 'torch' or 'onnx', not {runtime!r}")
    if name.startswith(HF_PREFIX):
        from ser_core.encoders.hf import load_hf_encoder

        return load_hf_encoder(name[len(HF_PREFIX) :], device=device, allow_download=allow_download)
    if name in WHISPER_SOURCES:
        if runtime == "onnx":
            from ser_core.encoders.onnx_whisper import load_onnx_whisper_encoder

            return load_onnx_whisper_encoder(name)
        return load_whisper_encoder(name, device=device)
    raise CheckpointError(
        f"unknown encoder {name!r}: use one of {', '.join(WHISPER_SOURCES)} or hf:<name-or-path>"
    )
