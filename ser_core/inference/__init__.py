"""Inference: load a checkpoint, predict signals, files and windows, explain predictions.

>>> from ser_core.inference import load_predictor
>>> predictor = load_predictor("default")            # doctest: +SKIP
>>> predictor.predict_file("clip.wav").probabilities # doctest: +SKIP

See :mod:`ser_core.inference.predictor` for the :class:`Predictor` API and
:mod:`ser_core.inference.checkpoint` for where named checkpoints are looked up.
"""

from ser_core.inference.checkpoint import (
    CHECKPOINTS_ENV,
    DEFAULT_CHECKPOINT,
    available_checkpoints,
    checkpoints_dir,
    read_config,
    resolve_checkpoint,
)
from ser_core.inference.predictor import (
    EXPLANATION_KINDS,
    Explanation,
    Prediction,
    Predictor,
    load_predictor,
)

__all__ = [
    "CHECKPOINTS_ENV",
    "DEFAULT_CHECKPOINT",
    "EXPLANATION_KINDS",
    "Explanation",
    "Prediction",
    "Predictor",
    "available_checkpoints",
    "checkpoints_dir",
    "load_predictor",
    "read_config",
    "resolve_checkpoint",
]
