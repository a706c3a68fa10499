"""Classification metrics for speech emotion recognition, on top of scikit-learn.

SER papers report two accuracies, and so does this module:

* **WA**, *weighted accuracy*: plain accuracy, the share of utterances classified correctly.
  Frequent classes weigh more (EMO-DB has 127 angry but 46 disgust files).
* **UA**, *unweighted accuracy*: unweighted average recall = macro recall = balanced accuracy,
  the mean of the per-class recalls; every class weighs the same.

plus weighted and macro F1. Every function takes ``(y_true, y_pred, labels=None)`` with labels as
strings; ``labels`` fixes the label universe (the model's classes, in model order).

Classes absent from ``y_true``
------------------------------
A recall is undefined for a class without true examples. This happens all the time in subgroup
breakdowns (a RAVDESS speaker subset without "calm", an EMO-DB text never spoken in disgust).
Here **UA and macro F1 average over the classes present in** ``y_true`` (restricted to
``labels``): a class the subset does not contain neither counts as 0 nor as 1. Predictions of such
a class are still errors, and lower the recall of the true class they were made for. On a full
test set containing every class this equals scikit-learn's ``recall_score(average="macro")`` /
``f1_score(average="macro")`` with ``labels=labels``. WA and weighted F1 need no such rule
(absent classes have weight 0). Undefined per-class terms use ``zero_division=0``.

A prediction outside ``labels`` counts as an error; a *true* label outside ``labels`` raises,
because the metric would silently depend on how it is mapped. Empty inputs give ``nan``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    precision_recall_fscore_support,
    recall_score,
)

from ser_core.data.labels import sort_emotions

__all__ = [
    "METRICS",
    "METRIC_NAMES",
    "confusion",
    "macro_f1",
    "per_class_report",
    "resolve_labels",
    "summary_metrics",
    "top_confusions",
    "unweighted_accuracy",
    "weighted_accuracy",
    "weighted_f1",
]

ArrayLike = Sequence[Any] | np.ndarray | pd.Series


def _as_labels(values: ArrayLike, name: str) -> np.ndarray:
    """``values`` as a 1-d object array of ``str``; raises on missing values."""
    arr = np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    missing = pd.isna(arr)
    if missing.any():
        raise ValueError(
            f"{name} holds {int(missing.sum())} missing label(s); drop those rows before scoring"
        )
    return np.array([str(v) for v in arr], dtype=object)


def resolve_labels(
    y_true: ArrayLike, y_pred: ArrayLike, labels: Iterable[str] | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Validate a pair of label arrays and fix the label universe.

    Args:
        y_true: true labels.
        y_pred: predicted labels, same length.
        labels: the classes to score (model order). ``None``: every label seen in either array,
            in canonical emotion order (:func:`ser_core.data.labels.sort_emotions`).

    Returns:
        ``(y_true, y_pred, labels)`` with both arrays as object arrays of ``str``.

    Raises:
        ValueError: lengths differ, a label is missing (NA), ``labels`` has duplicates, or
            ``y_true`` holds a label outside ``labels``.
    """
    yt = _as_labels(y_true, "y_true")
    yp = _as_labels(y_pred, "y_pred")
    if len(yt) != len(yp):
        raise ValueError(f"y_true has {len(yt)} labels but y_pred has {len(yp)}")
    if labels is None:
        label_list = sort_emotions([*yt.tolist(), *yp.tolist()])
    else:
        label_list = [str(label) for label in labels]
        if len(set(label_list)) != len(label_list):
            raise ValueError(f"labels has duplicates: {label_list}")
        unknown = sorted(set(yt.tolist()) - set(label_list))
        if unknown:
            raise ValueError(
                f"y_true holds label(s) {unknown} that are not in labels {label_list}; map them "
                "onto the model's classes or drop those rows before scoring"
            )
    return yt, yp, label_list


def _present(yt: np.ndarray, labels: list[str]) -> list[str]:
    seen = set(yt.tolist())
    return [label for label in labels if label in seen]


def unweighted_accuracy(
    y_true: ArrayLike, y_pred: ArrayLike, labels: Iterable[str] | None = None
) -> float:
    """UA: unweighted average recall (macro recall, balanced accuracy).

    Averaged over the classes of ``labels`` present in ``y_true`` (see the module docstring).

    Returns:
        A float in [0, 1]; ``nan`` for empty input.
    """
    yt, yp, label_list = resolve_labels(y_true, y_pred, labels)
    if len(yt) == 0:
        return float("nan")
    present = _present(yt, label_list)
    return float(recall_score(yt, yp, labels=present, average="macro", zero_division=0))


def weighted_accuracy(
    y_true: ArrayLike, y_pred: ArrayLike, labels: Iterable[str] | None = None
) -> float:
    """WA: accuracy, the share of utterances classified correctly.

    ``labels`` is only used for validation (WA does not depend on it).

    Returns:
        A float in [0, 1]; ``nan`` for empty input.
    """
    yt, yp, _ = resolve_labels(y_true, y_pred, labels)
    if len(yt) == 0:
        return float("nan")
    return float(accuracy_score(yt, yp))


def weighted_f1(y_true: ArrayLike, y_pred: ArrayLike, labels: Iterable[str] | None = None) -> float:
    """Support-weighted mean of per-class F1 (classes absent from ``y_true`` weigh 0).

    Returns:
        A float in [0, 1]; ``nan`` for empty input.
    """
    return _f1(y_true, y_pred, labels, "weighted")


def macro_f1(y_true: ArrayLike, y_pred: ArrayLike, labels: Iterable[str] | None = None) -> float:
    """Unweighted mean of per-class F1 over the classes present in ``y_true``.

    Returns:
        A float in [0, 1]; ``nan`` for empty input.
    """
    return _f1(y_true, y_pred, labels, "macro")


def _f1(y_true: ArrayLike, y_pred: ArrayLike, labels: Iterable[str] | None, average: str) -> float:
    """scikit-learn's F1 over the classes present in ``y_true`` (``nan`` for empty input)."""
    yt, yp, label_list = resolve_labels(y_true, y_pred, labels)
    if len(yt) == 0:
        return float("nan")
    present = _present(yt, label_list)
    return float(f1_score(yt, yp, labels=present, average=average, zero_division=0))


#: Metric name → function ``(y_true, y_pred, labels) -> float``. Names used across reports.
METRICS: dict[str, Callable[..., float]] = {
    "ua": unweighted_accuracy,
    "wa": weighted_accuracy,
    "weighted_f1": weighted_f1,
    "macro_f1": macro_f1,
}
#: The metric names, in report order.
METRIC_NAMES: tuple[str, ...] = tuple(METRICS)


def summary_metrics(
    y_true: ArrayLike, y_pred: ArrayLike, labels: Iterable[str] | None = None
) -> dict[str, float | int]:
    """All headline metrics at once.

    Returns:
        ``{"ua": float, "wa": float, "weighted_f1": float, "macro_f1": float, "n": int}``.
    """
    yt, yp, label_list = resolve_labels(y_true, y_pred, labels)
    out: dict[str, float | int] = {name: fn(yt, yp, label_list) for name, fn in METRICS.items()}
    out["n"] = len(yt)
    return out


def per_class_report(
    y_true: ArrayLike, y_pred: ArrayLike, labels: Iterable[str] | None = None
) -> pd.DataFrame:
    """Precision, recall, F1 and support of every class.

    Unlike the averaged metrics, undefined values are shown as ``NaN`` rather than 0: the
    precision of a class never predicted, the recall of a class without true examples (its
    ``support`` is 0). F1 is ``2·TP / (2·TP + FP + FN)``, so it is 0, not NaN, when only one of
    precision and recall is undefined.

    Returns:
        DataFrame indexed by label (``labels`` order, index name ``"label"``) with columns
        ``precision``, ``recall``, ``f1`` (float) and ``support`` (int).
    """
    yt, yp, label_list = resolve_labels(y_true, y_pred, labels)
    if len(yt) == 0:
        nan = np.full(len(label_list), np.nan)
        precision, recall, f1 = nan, nan.copy(), nan.copy()
        support = np.zeros(len(label_list), dtype=np.int64)
    else:
        precision, recall, f1, support = precision_recall_fscore_support(
            yt, yp, labels=label_list, average=None, zero_division=np.nan
        )
    return pd.DataFrame(
        {
            "precision": np.asarray(precision, dtype=float),
            "recall": np.asarray(recall, dtype=float),
            "f1": np.asarray(f1, dtype=float),
            "support": np.asarray(support, dtype=np.int64),
        },
        index=pd.Index(label_list, name="label", dtype=object),
    )


def confusion(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    labels: Iterable[str] | None = None,
    normalize: Literal["true"] | None = None,
) -> pd.DataFrame:
    """Confusion matrix with true classes as rows and predicted classes as columns.

    Args:
        y_true, y_pred, labels: as for the metrics.
        normalize: ``None`` for counts; ``"true"`` to divide each row by the number of true
            examples of its class (the diagonal is then the per-class recall). A row without true
            examples becomes ``NaN`` (nothing to normalise), not 0. Predictions outside
            ``labels`` have no column but still count in the row total, so such rows sum to < 1.

    Returns:
        ``len(labels) × len(labels)`` DataFrame, index name ``"true"``, columns name
        ``"predicted"``; ``int64`` counts or ``float64`` shares.
    """
    if normalize not in (None, "true"):
        raise ValueError(f"normalize must be None or 'true', got {normalize!r}")
    yt, yp, label_list = resolve_labels(y_true, y_pred, labels)
    k = len(label_list)
    # Counted directly (sklearn's confusion_matrix warns on one-label inputs, common in groups);
    # predictions outside ``labels`` land in an extra column that is dropped.
    index_of = {label: i for i, label in enumerate(label_list)}
    t = np.fromiter((index_of[v] for v in yt), dtype=np.int64, count=len(yt))
    p = np.fromiter((index_of.get(v, k) for v in yp), dtype=np.int64, count=len(yp))
    counts = np.bincount(t * (k + 1) + p, minlength=k * (k + 1)).reshape(k, k + 1)[:, :k]
    index = pd.Index(label_list, name="true", dtype=object)
    columns = pd.Index(label_list, name="predicted", dtype=object)
    if normalize is None:
        return pd.DataFrame(counts, index=index, columns=columns)
    support = np.bincount(t, minlength=k).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts / support[:, None]
    shares[support == 0] = np.nan
    return pd.DataFrame(shares, index=index, columns=columns)


def top_confusions(
    y_true: ArrayLike, y_pred: ArrayLike, labels: Iterable[str] | None = None, k: int = 5
) -> pd.DataFrame:
    """The ``k`` most frequent mistakes (true class → predicted class).

    Sorted by count, then share, then label order; pairs never confused are left out, so fewer
    than ``k`` rows may come back.

    Returns:
        DataFrame with columns ``true``, ``predicted`` (str), ``count`` (int) and ``share``
        (count / number of true examples of ``true``), with a fresh ``RangeIndex``.
    """
    counts = confusion(y_true, y_pred, labels)
    label_list = list(counts.index)
    yt = _as_labels(y_true, "y_true")
    support = np.array([(yt == label).sum() for label in label_list], dtype=np.int64)
    rows = []
    matrix = counts.to_numpy()
    for i, true in enumerate(label_list):
        for j, pred in enumerate(label_list):
            if i != j and matrix[i, j] > 0:
                rows.append((true, pred, int(matrix[i, j]), matrix[i, j] / support[i], i, j))
    frame = pd.DataFrame(rows, columns=["true", "predicted", "count", "share", "_i", "_j"])
    frame = frame.sort_values(
        ["count", "share", "_i", "_j"], ascending=[False, False, True, True], kind="stable"
    )
    frame = frame.drop(columns=["_i", "_j"]).head(max(int(k), 0)).reset_index(drop=True)
    return frame.astype(
        {"true": object, "predicted": object, "count": np.int64, "share": np.float64}
    )
