"""Training: ``TrainConfig`` → ``train`` → a checkpoint folder (``ser train`` on the command line).

>>> from ser_core.training import TrainConfig, train
>>> config = TrainConfig(model="cnn_lstm", corpora=["emodb"], epochs=20)   # doctest: +SKIP
>>> result = train(config, "runs/cnn_lstm-emodb")                         # doctest: +SKIP
>>> result.metrics["test"]["ua"]                                           # doctest: +SKIP

Cross-validation (``loso`` / ``kfold-speaker``): :func:`train_folds` trains one model per fold and
pools the out-of-fold predictions into one ``predictions.parquet`` with a ``fold`` column.
"""

from ser_core.training.config import (
    BALANCE_CHOICES,
    LABEL_POLICIES,
    OPTIMIZERS,
    SCHEDULERS,
    TrainConfig,
    TrainConfigError,
)
from ser_core.training.loop import LOG_COLUMNS
from ser_core.training.trainer import CrossValidationResult, TrainResult, train, train_folds
from ser_core.training.writer import predictions_frame

__all__ = [
    "BALANCE_CHOICES",
    "LABEL_POLICIES",
    "LOG_COLUMNS",
    "OPTIMIZERS",
    "SCHEDULERS",
    "CrossValidationResult",
    "TrainConfig",
    "TrainConfigError",
    "TrainResult",
    "predictions_frame",
    "train",
    "train_folds",
]
