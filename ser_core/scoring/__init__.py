"""Scoring a model's predictions: the predictions table and its Parquet file, metrics (UA, WA,
F1, confusion), bootstrap intervals, bias breakdowns and one report per predictions table.

Pure functions of a predictions table (no model, no torch): the layer that training (early
stopping on validation UA, the test predictions and the model card it writes), inference and
:mod:`ser_core.evaluation` (evaluating checkpoints, the benchmark pages) all build on, so that
training never imports evaluation. Typical use::

    from ser_core.scoring import evaluate_predictions, load_predictions

    predictions = load_predictions("checkpoints/cnn-emodb/predictions.parquet")
    report = evaluate_predictions(predictions, n_boot=1000, seed=0)
    report.metrics["ua"], report.ci["ua"].low, report.speaker_ci["ua"].high
    report.breakdowns["gender"].difference()
    print(report.to_markdown())

Modules: :mod:`~ser_core.scoring.metrics`, :mod:`~ser_core.scoring.predictions`,
:mod:`~ser_core.scoring.bootstrap` (utterance and speaker-cluster intervals),
:mod:`~ser_core.scoring.groups` (breakdowns, human agreement),
:mod:`~ser_core.scoring.report` (one report from one predictions table).
"""

from __future__ import annotations

from ser_core.scoring.bootstrap import MIN_CLUSTERS, BootstrapCI, bootstrap_ci, bootstrap_cis
from ser_core.scoring.groups import (
    DEFAULT_GROUP_COLUMNS,
    HUMAN_COLUMN,
    UNKNOWN,
    GroupReport,
    HumanAgreement,
    breakdown,
    human_agreement,
)
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
from ser_core.scoring.report import EvaluationReport, evaluate_predictions, markdown_table

__all__ = [
    "DEFAULT_GROUP_COLUMNS",
    "HUMAN_COLUMN",
    "METRICS",
    "METRIC_NAMES",
    "MIN_CLUSTERS",
    "PROB_PREFIX",
    "REQUIRED_COLUMNS",
    "UNKNOWN",
    "BootstrapCI",
    "EvaluationReport",
    "GroupReport",
    "HumanAgreement",
    "PredictionsError",
    "bootstrap_ci",
    "bootstrap_cis",
    "breakdown",
    "confusion",
    "evaluate_predictions",
    "human_agreement",
    "load_predictions",
    "macro_f1",
    "markdown_table",
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
