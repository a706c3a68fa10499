"""Inference: load a checkpoint, predict signals, files and windows, explain predictions.

>>> from ser_core.inference import load_predictor
>>> predictor = load_predictor("default")            # doctest: +SKIP
>>> predictor.predict_file("clip.wav").probabilities # doctest: +SKIP

Prediction tables share one shape, indexed by :func:`segment_index` (``file``, ``start``,
``end``; :mod:`ser_core.inference.results`). See :mod:`ser_core.inference.predictor` for the
:class:`Predictor` API and :mod:`ser_core.inference.checkpoint` for where named checkpoints are
looked up.

The checkpoint helpers are light; the predictor names import torch on first use (module-level
``__getattr__``), so listing checkpoints (the app's first page) does not wait for torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ser_core.inference.checkpoint import (
    CHECKPOINTS_ENV,
    DEFAULT_CHECKPOINT,
    available_checkpoints,
    checkpoints_dir,
    read_config,
    resolve_checkpoint,
)
from ser_core.inference.results import SEGMENT_LEVELS, segment_index

if TYPE_CHECKING:
    from ser_core.inference.predictor import (
        EXPLANATION_KINDS,
        Analysis,
        Explanation,
        Prediction,
        Predictor,
        Spectrogram,
        load_predictor,
    )

_PREDICTOR_NAMES = frozenset(
    {
        "EXPLANATION_KINDS",
        "Analysis",
        "Explanation",
        "Prediction",
        "Predictor",
        "Spectrogram",
        "load_predictor",
    }
)

__all__ = [
    "CHECKPOINTS_ENV",
    "DEFAULT_CHECKPOINT",
    "EXPLANATION_KINDS",
    "SEGMENT_LEVELS",
    "Analysis",
    "Explanation",
    "Prediction",
    "Predictor",
    "Spectrogram",
    "available_checkpoints",
    "checkpoints_dir",
    "load_predictor",
    "read_config",
    "resolve_checkpoint",
    "segment_index",
]


def __getattr__(name: str) -> Any:
    if name in _PREDICTOR_NAMES:
        from ser_core.inference import predictor

        return getattr(predictor, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
