"""One call from a predictions table to everything the benchmark report and the app show.

:func:`evaluate_predictions` computes the headline metrics with bootstrap intervals (utterance
and speaker-cluster), the per-class table, the confusion matrix (counts and row-normalised), the
most frequent confusions, breakdowns by every informative manifest column, and, for EMO-DB,
agreement with human listeners. :class:`EvaluationReport` turns that into JSON
(``metrics.json``) with :meth:`~EvaluationReport.to_dict` and into Markdown (model cards, the
benchmark page) with :meth:`~EvaluationReport.to_markdown`.

Markdown tables are written by a small helper (:func:`markdown_table`, in
:mod:`~ser_core.scoring._report_markdown` with the other Markdown pieces) rather than
``DataFrame.to_markdown``, which needs the optional ``tabulate`` package; pipe tables are simple
enough not to add a dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ser_core.scoring._report_markdown import (
    METRIC_TITLES,
    _breakdown_markdown,
    _ci_text,
    _human_markdown,
    _pct,
    markdown_table,
)
from ser_core.scoring.bootstrap import MIN_CLUSTERS, BootstrapCI, bootstrap_cis
from ser_core.scoring.groups import (
    DEFAULT_GROUP_COLUMNS,
    HUMAN_COLUMN,
    GroupReport,
    HumanAgreement,
    breakdown,
    human_agreement,
)
from ser_core.scoring.metrics import (
    METRIC_NAMES,
    confusion,
    per_class_report,
    resolve_labels,
    summary_metrics,
    top_confusions,
)
from ser_core.scoring.predictions import (
    PredictionsError,
    prediction_labels,
    validate_predictions,
)

__all__ = ["EvaluationReport", "evaluate_predictions", "markdown_table"]


def _json(value: Any) -> Any:
    """Recursively make ``value`` JSON-ready (numpy scalars → Python, NaN/NA → None)."""
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_json(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is pd.NA:
        return None
    return value


@dataclass
class EvaluationReport:
    """Everything known about one model's predictions on one test set.

    Attributes:
        labels: the model's classes, in model order.
        metrics: :func:`~ser_core.scoring.metrics.summary_metrics` (``ua``, ``wa``,
            ``weighted_f1``, ``macro_f1``, ``n``).
        ci: metric → utterance-level bootstrap interval.
        speaker_ci: metric → speaker-cluster bootstrap interval (empty without a ``speaker``
            column or with fewer than :data:`~ser_core.scoring.bootstrap.MIN_CLUSTERS`
            speakers).
        per_class: precision / recall / f1 / support per label.
        confusion: counts, rows true, columns predicted.
        confusion_normalized: ``confusion`` divided by row totals (recall on the diagonal).
        top_confusions: the most frequent (true, predicted) mistakes.
        breakdowns: column name → :class:`~ser_core.scoring.groups.GroupReport`.
        human_agreement: EMO-DB listener comparison, or None without ratings.
        settings: ``n_boot``, ``seed``, ``alpha``, ``n_speakers`` and, when the frame names
            them, ``model``, ``protocol``, ``split`` and ``n_folds``.
    """

    labels: list[str]
    metrics: dict[str, float | int]
    ci: dict[str, BootstrapCI]
    speaker_ci: dict[str, BootstrapCI]
    per_class: pd.DataFrame
    confusion: pd.DataFrame
    confusion_normalized: pd.DataFrame
    top_confusions: pd.DataFrame
    breakdowns: dict[str, GroupReport] = field(default_factory=dict)
    human_agreement: HumanAgreement | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (``json.dumps(..., allow_nan=False)`` works).

        Keys: ``labels``, ``metrics``, ``ci`` and ``speaker_ci`` (metric → interval dict),
        ``per_class`` (label → precision/recall/f1/support), ``confusion`` (``labels``,
        ``counts``, ``normalized`` as nested lists, rows true), ``top_confusions`` (records),
        ``breakdowns`` (column → :meth:`GroupReport.to_dict`), ``human_agreement`` (or None),
        ``settings``.
        """
        per_class = {
            str(label): {k: _json(v) for k, v in row.items()}
            for label, row in self.per_class.to_dict("index").items()
        }
        return _json(
            {
                "labels": list(self.labels),
                "metrics": dict(self.metrics),
                "ci": {m: ci.to_dict() for m, ci in self.ci.items()},
                "speaker_ci": {m: ci.to_dict() for m, ci in self.speaker_ci.items()},
                "per_class": per_class,
                "confusion": {
                    "labels": list(self.labels),
                    "counts": self.confusion.to_numpy().tolist(),
                    "normalized": self.confusion_normalized.to_numpy().tolist(),
                },
                "top_confusions": self.top_confusions.to_dict("records"),
                "breakdowns": {k: g.to_dict() for k, g in self.breakdowns.items()},
                "human_agreement": (
                    None if self.human_agreement is None else self.human_agreement.to_dict()
                ),
                "settings": dict(self.settings),
            }
        )

    def to_markdown(self, max_group_rows: int = 40) -> str:
        """The report as Markdown: percentages with one decimal, 95 % intervals as ``low–high``.

        Args:
            max_group_rows: rows shown per breakdown table (the rest are counted in a note).
        """
        level = round(100 * (1 - float(self.settings.get("alpha", 0.05))))
        out: list[str] = ["# Evaluation report", ""]
        n, n_speakers = self.metrics["n"], self.settings.get("n_speakers")
        facts = [f"{n} utterance{'s' * (n != 1)}"]
        if n_speakers:
            facts.append(f"{n_speakers} speaker{'s' * (n_speakers != 1)}")
        for key in ("model", "protocol", "split"):
            if self.settings.get(key):
                facts.append(f"{key} {self.settings[key]}")
        out += [
            ", ".join(facts) + f"; classes: {', '.join(self.labels)}.",
            "",
            "## Summary",
            "",
            f"Values in %. {level} % percentile bootstrap intervals "
            f"({self.settings.get('n_boot')} resamples): over utterances, and over speakers "
            "(whole speakers resampled; the honest one for unseen speakers; not given for fewer "
            f"than {MIN_CLUSTERS} speakers).",
            "",
        ]
        rows = []
        for m in METRIC_NAMES:
            if m not in self.metrics:
                continue
            ci, sci = self.ci.get(m), self.speaker_ci.get(m)
            rows.append(
                [
                    METRIC_TITLES[m],
                    _pct(self.metrics[m]),
                    _ci_text(ci.low, ci.high) if ci else "–",
                    _ci_text(sci.low, sci.high) if sci else "–",
                ]
            )
        out += [
            markdown_table(["metric", "value", "CI (utterances)", "CI (speakers)"], rows),
            "",
        ]

        out += ["## Per class", ""]
        rows = [
            [label, _pct(r["precision"]), _pct(r["recall"]), _pct(r["f1"]), int(r["support"])]
            for label, r in self.per_class.iterrows()
        ]
        out += [markdown_table(["class", "precision", "recall", "F1", "support"], rows), ""]

        out += [
            "## Confusion matrix",
            "",
            "Counts; rows are true classes, columns predictions.",
            "",
        ]
        header = ["true \\ predicted", *self.labels]
        rows = [
            [label, *map(int, r)]
            for label, r in zip(self.labels, self.confusion.to_numpy(), strict=True)
        ]
        out += [markdown_table(header, rows), "", "Row-normalised (% of the true class):", ""]
        rows = [
            [label, *(_pct(v) for v in r)]
            for label, r in zip(self.labels, self.confusion_normalized.to_numpy(), strict=True)
        ]
        out += [markdown_table(header, rows), ""]

        out += ["## Most frequent confusions", ""]
        if len(self.top_confusions):
            rows = [
                [r["true"], r["predicted"], int(r["count"]), _pct(r["share"])]
                for _, r in self.top_confusions.iterrows()
            ]
            out += [markdown_table(["true", "predicted", "count", "% of true class"], rows), ""]
        else:
            out += ["No confusions.", ""]

        for name, report in self.breakdowns.items():
            out += _breakdown_markdown(name, report, max_group_rows)

        if self.human_agreement is not None:
            out += _human_markdown(self.human_agreement)
        return "\n".join(out).rstrip() + "\n"


def _single_value(predictions: pd.DataFrame, column: str) -> Any:
    if column not in predictions.columns:
        return None
    values = predictions[column].dropna().unique()
    if len(values) == 1:
        return _json(values[0])
    return None if len(values) == 0 else [_json(v) for v in values]


def evaluate_predictions(
    predictions: pd.DataFrame,
    labels: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    by: Sequence[str] | None = None,
    breakdown_metrics: Sequence[str] = ("ua", "wa", "weighted_f1"),
    top_k: int = 5,
) -> EvaluationReport:
    """Evaluate one model's per-utterance predictions.

    Args:
        predictions: a predictions frame (see :mod:`ser_core.scoring.predictions`). Rows of
            several folds are pooled; rows of several models are refused.
        labels: the model's classes; default from the ``prob_*`` columns, else every label seen.
        n_boot: bootstrap resamples for every interval (0: no intervals).
        seed: seed of every bootstrap; the same seed gives the same report.
        alpha: 1 - confidence level.
        by: columns to break down by; default those of
            :data:`~ser_core.scoring.groups.DEFAULT_GROUP_COLUMNS` that exist and hold at
            least two distinct values.
        breakdown_metrics: metrics computed per group.
        top_k: number of top confusions.

    Returns:
        An :class:`EvaluationReport`.

    Raises:
        PredictionsError: invalid predictions, or several models mixed in one frame.
    """
    validate_predictions(predictions)
    if "model" in predictions.columns and predictions["model"].nunique(dropna=True) > 1:
        models = sorted(map(str, predictions["model"].dropna().unique()))
        raise PredictionsError(
            f"predictions mix {len(models)} models ({', '.join(models)}); evaluate one at a "
            "time, e.g. predictions[predictions['model'] == name]"
        )
    label_list = list(labels) if labels is not None else prediction_labels(predictions)
    yt, yp, label_list = resolve_labels(predictions["true"], predictions["predicted"], label_list)

    metrics = summary_metrics(yt, yp, label_list)
    names = list(METRIC_NAMES)
    ci: dict[str, BootstrapCI] = {}
    speaker_ci: dict[str, BootstrapCI] = {}
    speakers = predictions["speaker"] if "speaker" in predictions.columns else None
    n_speakers = int(speakers.nunique(dropna=True)) if speakers is not None else 0
    if n_boot > 0 and len(yt):
        ci = bootstrap_cis(yt, yp, names, label_list, n_boot=n_boot, alpha=alpha, seed=seed)
        if speakers is not None and n_speakers >= MIN_CLUSTERS:
            clusters = speakers.astype(object).where(speakers.notna(), "unknown").astype(str)
            speaker_ci = bootstrap_cis(
                yt, yp, names, label_list, n_boot=n_boot, alpha=alpha, seed=seed, groups=clusters
            )

    if by is None:
        columns = [
            c
            for c in DEFAULT_GROUP_COLUMNS
            if c in predictions.columns and predictions[c].nunique(dropna=True) >= 2
        ]
    else:
        columns = list(by)
    breakdowns = {
        c: breakdown(
            predictions,
            c,
            metrics=breakdown_metrics,
            n_boot=n_boot,
            seed=seed,
            alpha=alpha,
            labels=label_list,
        )
        for c in columns
    }

    agreement = None
    if HUMAN_COLUMN in predictions.columns and predictions[HUMAN_COLUMN].notna().any():
        agreement = human_agreement(predictions)

    settings: dict[str, Any] = {
        "n_boot": n_boot,
        "seed": seed,
        "alpha": alpha,
        "n_speakers": n_speakers,
    }
    for key in ("model", "protocol", "split"):
        value = _single_value(predictions, key)
        if value is not None:
            settings[key] = value
    if "fold" in predictions.columns:
        settings["n_folds"] = int(predictions["fold"].nunique(dropna=True))

    return EvaluationReport(
        labels=label_list,
        metrics=metrics,
        ci=ci,
        speaker_ci=speaker_ci,
        per_class=per_class_report(yt, yp, label_list),
        confusion=confusion(yt, yp, label_list),
        confusion_normalized=confusion(yt, yp, label_list, normalize="true"),
        top_confusions=top_confusions(yt, yp, label_list, k=top_k),
        breakdowns=breakdowns,
        human_agreement=agreement,
        settings=settings,
    )
