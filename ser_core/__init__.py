"""ser_core: speech emotion recognition toolkit.

The public API, importable from the package itself::

    import ser_core

    predictor = ser_core.load_predictor("default")          # or a checkpoint folder
    predictor.predict_file("clip.wav").probabilities
    manifest = ser_core.load_corpus("emodb", "/data/emodb")
    result = ser_core.train(ser_core.TrainConfig(model="cnn_lstm", corpora=["emodb"]), "runs/x")
    predictions, report = ser_core.evaluate("runs/x")

Names are imported on first use (module-level ``__getattr__``), so ``import ser_core`` stays light
and does not import torch; ``from ser_core import train`` imports what ``train`` needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ser_core._version import __version__

#: Public name → module that defines it.
_EXPORTS: dict[str, str] = {
    # inference
    "load_predictor": "ser_core.inference",
    "Predictor": "ser_core.inference",
    "Prediction": "ser_core.inference",
    "Explanation": "ser_core.inference",
    # models
    "create_model": "ser_core.models",
    "list_models": "ser_core.models",
    "model_info": "ser_core.models",
    "load_model": "ser_core.models",
    # data
    "load_corpus": "ser_core.data",
    "load_corpora": "ser_core.data",
    "get_split": "ser_core.data",
    "get_splits": "ser_core.data",
    "EMOTIONS": "ser_core.data",
    "SHARED_EMOTIONS": "ser_core.data",
    # audio
    "read_audio": "ser_core.audio",
    "AudioClip": "ser_core.audio",
    # pipeline
    "InputPipeline": "ser_core.pipeline",
    "build_model": "ser_core.pipeline",
    # training
    "train": "ser_core.training",
    "train_folds": "ser_core.training",
    "TrainConfig": "ser_core.training",
    "TrainResult": "ser_core.training",
    # evaluation
    "evaluate": "ser_core.evaluation.runner",
    "evaluate_predictions": "ser_core.evaluation",
    "load_predictions": "ser_core.evaluation",
    "EvaluationReport": "ser_core.evaluation",
    # errors
    "SERError": "ser_core.errors",
    "AudioInputError": "ser_core.errors",
    "CheckpointError": "ser_core.errors",
    "CorpusError": "ser_core.errors",
}

__all__ = [
    "EMOTIONS",
    "SHARED_EMOTIONS",
    "AudioClip",
    "AudioInputError",
    "CheckpointError",
    "CorpusError",
    "EvaluationReport",
    "Explanation",
    "InputPipeline",
    "Prediction",
    "Predictor",
    "SERError",
    "TrainConfig",
    "TrainResult",
    "__version__",
    "build_model",
    "create_model",
    "evaluate",
    "evaluate_predictions",
    "get_split",
    "get_splits",
    "list_models",
    "load_corpora",
    "load_corpus",
    "load_model",
    "load_predictions",
    "load_predictor",
    "model_info",
    "read_audio",
    "train",
    "train_folds",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ser_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # static type checkers and IDEs see the real names
    from ser_core.audio import AudioClip, read_audio
    from ser_core.data import (
        EMOTIONS,
        SHARED_EMOTIONS,
        get_split,
        get_splits,
        load_corpora,
        load_corpus,
    )
    from ser_core.errors import AudioInputError, CheckpointError, CorpusError, SERError
    from ser_core.evaluation import EvaluationReport, evaluate_predictions, load_predictions
    from ser_core.evaluation.runner import evaluate
    from ser_core.inference import Explanation, Prediction, Predictor, load_predictor
    from ser_core.models import create_model, list_models, load_model, model_info
    from ser_core.pipeline import InputPipeline, build_model
    from ser_core.training import TrainConfig, TrainResult, train, train_folds
