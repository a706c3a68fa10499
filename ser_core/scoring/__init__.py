"""Scoring a model's predictions: the predictions table, its Parquet file and the summary metrics.

The lowest layer of evaluation, shared by training (early stopping on validation UA, the test
predictions it writes), inference and :mod:`ser_core.evaluation` (bootstrap intervals, group
breakdowns, reports, the benchmark), so that training never imports evaluation.

Modules: :mod:`~ser_core.scoring.metrics` (UA, WA, F1, confusion) and
:mod:`~ser_core.scoring.predictions` (the predictions table and its Parquet file).
"""

from __future__ import annotations

from ser_core.scoring.metrics import (
    METRIC_NAMES,
    METRICS,
    confusion,
    macro_f1,
    per_class_report,
    summary_metrics,
    top_confusions,
    unweighted_accuracy,
    weighted_accuracy,
    weighted_f1,
)
from ser_core.scoring.predictions import (
    PROB_PREFIX,
    REQUIRED_COLUMNS,
    PredictionsError,
    load_predictions,
    prediction_labels,
    prob_columns,
    restrict_to_classes,
    save_predictions,
    validate_predictions,
)

__all__ = [
    "METRICS",
    "METRIC_NAMES",
    "PROB_PREFIX",
    "REQUIRED_COLUMNS",
    "PredictionsError",
    "confusion",
    "load_predictions",
    "macro_f1",
    "per_class_report",
    "prediction_labels",
    "prob_columns",
    "restrict_to_classes",
    "save_predictions",
    "summary_metrics",
    "top_confusions",
    "unweighted_accuracy",
    "validate_predictions",
    "weighted_accuracy",
    "weighted_f1",
]
