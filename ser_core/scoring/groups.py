"""Bias breakdowns: metrics per group of utterances, shaped like fairlearn's ``MetricFrame``.

:func:`breakdown` scores a predictions frame (see :mod:`ser_core.scoring.predictions`) per
value of one or more manifest columns (``corpus``, ``gender``, ``intensity``, ``text``,
``speaker``, ``language``, ``fold``, ...) and returns a :class:`GroupReport` with

* ``.by_group``: one row per group: ``n``, ``n_speakers``, every metric and its bootstrap
  interval (``<metric>_low`` / ``<metric>_high``),
* ``.overall``: the same for all rows together,
* ``.difference()``: the largest gap between groups (max − min) and which groups those are.

Rows whose group value is missing are not dropped silently: they form a group called
``"unknown"``, which is shown but left out of :meth:`GroupReport.difference`. With
``within="corpus"``, rows of a corpus that does not define a column at all (EMO-DB and TESS have
no ``intensity``) are left out of that column's breakdown instead (see :func:`defined_rows`):
"unknown" then only holds rows whose corpus defines the column but not for them.

:func:`human_agreement` compares the model with EMO-DB's listeners: does the model fail on the
files the 20 listeners of the perception test found hard?
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# Human agreement and the JSON helpers live in private siblings; every name stays importable here.
from ser_core.scoring._human_agreement import (
    DEFAULT_HUMAN_BINS,
    HUMAN_COLUMN,
    HumanAgreement,
    human_agreement,
)
from ser_core.scoring._records import _json_value, _records
from ser_core.scoring.bootstrap import bootstrap_cis
from ser_core.scoring.metrics import METRICS
from ser_core.scoring.predictions import (
    PredictionsError,
    prediction_labels,
    validate_predictions,
)

__all__ = [
    "DEFAULT_GROUP_COLUMNS",
    "DEFAULT_HUMAN_BINS",
    "HUMAN_COLUMN",
    "UNKNOWN",
    "GroupReport",
    "HumanAgreement",
    "breakdown",
    "defined_rows",
    "human_agreement",
]

#: Name of the group holding rows whose group value is missing.
UNKNOWN = "unknown"
#: Manifest columns a full evaluation breaks results down by (when present and informative).
DEFAULT_GROUP_COLUMNS: tuple[str, ...] = (
    "corpus",
    "gender",
    "intensity",
    "text",
    "speaker",
    "language",
    "fold",
)


def _group_name(key: Any) -> str:
    if isinstance(key, tuple):
        return " / ".join(str(k) for k in key)
    return str(key)


def _natural_key(text: str) -> tuple[tuple[int, Any], ...]:
    """Sort key putting ``"s2"`` before ``"s10"``."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", text) if p)


def _sorted_values(values: Iterable[Any]) -> list[Any]:
    """Distinct values sorted naturally (strings), numerically (numbers) or by ``str``."""
    distinct = list(dict.fromkeys(values))
    if all(isinstance(v, str) for v in distinct):
        return sorted(distinct, key=_natural_key)
    try:
        return sorted(distinct)
    except TypeError:
        return sorted(distinct, key=str)


def _group_codes(column: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Codes into a sorted list of the column's values, ``UNKNOWN`` (missing) last."""
    missing = column.isna().to_numpy()
    known = _sorted_values(v.item() if isinstance(v, np.generic) else v for v in column[~missing])
    values = known + ([UNKNOWN] if missing.any() else [])
    lookup = {v: i for i, v in enumerate(known)}
    codes = np.array(
        [
            len(known) if m else lookup[v.item() if isinstance(v, np.generic) else v]
            for v, m in zip(column.tolist(), missing, strict=True)
        ],
        dtype=np.int64,
    )
    return codes, values


@dataclass
class GroupReport:
    """Metrics per group, in the spirit of ``fairlearn.metrics.MetricFrame``.

    Attributes:
        by: the grouping column(s).
        metrics: metric names (keys of :data:`~ser_core.scoring.metrics.METRICS`).
        by_group: one row per group (index: the group value, a ``MultiIndex`` for several
            columns; ``"unknown"`` for missing values, last) with columns ``n``,
            ``n_speakers`` (when there is a ``speaker`` column), then per metric ``<m>``,
            ``<m>_low``, ``<m>_high``.
        overall: the same quantities over all rows, as a Series (``object`` dtype, so ``n``
            stays an int).
        alpha, n_boot: bootstrap settings; ``resample``: ``"utterance"`` or ``"cluster:<col>"``.
    """

    by: tuple[str, ...]
    metrics: tuple[str, ...]
    by_group: pd.DataFrame
    overall: pd.Series
    alpha: float = 0.05
    n_boot: int = 1000
    resample: str = "utterance"
    labels: list[str] = field(default_factory=list)

    def difference(self, min_n: int = 1, include_unknown: bool = False) -> pd.DataFrame:
        """Largest gap between groups for every metric.

        Args:
            min_n: ignore groups with fewer rows (tiny groups make any gap look large).
            include_unknown: also compare the ``"unknown"`` group.

        Returns:
            DataFrame indexed by metric with columns ``difference`` (max − min), ``max_group``,
            ``max``, ``min_group``, ``min`` and ``n_groups`` (groups compared). With fewer than
            two groups, ``difference`` is NaN and the group names are None.
        """
        rows = []
        for metric in self.metrics:
            frame = self.by_group[self.by_group["n"] >= min_n]
            if not include_unknown:
                known = np.array([UNKNOWN not in _as_tuple(k) for k in frame.index], dtype=bool)
                frame = frame.loc[known]
            values = frame[metric].dropna()
            if len(values) < 2:
                rows.append((metric, np.nan, None, np.nan, None, np.nan, len(values)))
                continue
            hi, lo = values.idxmax(), values.idxmin()
            rows.append(
                (
                    metric,
                    float(values[hi] - values[lo]),
                    _group_name(hi),
                    float(values[hi]),
                    _group_name(lo),
                    float(values[lo]),
                    len(values),
                )
            )
        columns = ["metric", "difference", "max_group", "max", "min_group", "min", "n_groups"]
        out = pd.DataFrame(rows, columns=columns).set_index("metric")
        return out.astype({"max_group": object, "min_group": object, "n_groups": np.int64})

    def to_dict(self, min_n: int = 1) -> dict[str, Any]:
        """JSON-ready dict: ``by``, ``metrics``, ``groups`` (records), ``overall``,
        ``difference`` (metric → record) and the bootstrap settings."""
        groups = _records(self.by_group)
        for record, key in zip(groups, self.by_group.index, strict=True):
            record["group"] = _group_name(key)
        diff = self.difference(min_n=min_n)
        return {
            "by": list(self.by),
            "metrics": list(self.metrics),
            "groups": groups,
            "overall": {str(k): _json_value(v) for k, v in self.overall.items()},
            "difference": {
                m: {str(k): _json_value(v) for k, v in row.items()}
                for m, row in diff.to_dict("index").items()
            },
            "alpha": self.alpha,
            "n_boot": self.n_boot,
            "resample": self.resample,
        }


def _as_tuple(key: Any) -> tuple[Any, ...]:
    return key if isinstance(key, tuple) else (key,)


def _score(
    yt: np.ndarray,
    yp: np.ndarray,
    clusters: np.ndarray | None,
    metrics: Sequence[str],
    labels: list[str],
    n_boot: int,
    alpha: float,
    seed: Sequence[int],
) -> dict[str, float]:
    out: dict[str, float] = {}
    if n_boot > 0:
        cis = bootstrap_cis(
            yt, yp, metrics, labels, n_boot=n_boot, alpha=alpha, seed=seed, groups=clusters
        )
        for m in metrics:
            out[m], out[f"{m}_low"], out[f"{m}_high"] = cis[m].estimate, cis[m].low, cis[m].high
    else:
        for m in metrics:
            out[m] = METRICS[m](yt, yp, labels)
            out[f"{m}_low"] = out[f"{m}_high"] = float("nan")
    return out


def defined_rows(
    predictions: pd.DataFrame, by: str | Sequence[str], within: str = "corpus"
) -> pd.Series:
    """Which rows belong to a ``within`` group (a corpus) that defines every ``by`` column.

    A corpus defines a column when at least one of its rows holds a value there; a corpus
    without intensity labels has the column all missing, and its rows say nothing about
    intensity. Rows whose ``within`` value is itself missing count as one group.

    Returns:
        A boolean Series aligned with ``predictions`` (all True when ``within`` is no column).
    """
    by_cols = [by] if isinstance(by, str) else list(by)
    keep = pd.Series(True, index=predictions.index)
    if within not in predictions.columns:
        return keep
    owner = predictions[within].astype(object).where(predictions[within].notna(), UNKNOWN)
    owner = owner.astype(str).to_numpy()  # (positions, not labels: the index may repeat)
    for column in by_cols:
        if column == within or column not in predictions.columns:
            continue
        defines = predictions[column].notna().groupby(owner).transform("any")
        keep &= defines.astype(bool)
    return keep


def breakdown(
    predictions: pd.DataFrame,
    by: str | Sequence[str],
    metrics: Sequence[str] = ("ua", "wa", "weighted_f1"),
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    labels: Sequence[str] | None = None,
    cluster: str | None = None,
    within: str | None = None,
) -> GroupReport:
    """Score ``predictions`` per group of ``by``.

    Args:
        predictions: a predictions frame (``true``, ``predicted`` and the ``by`` columns).
        by: one column name or several (groups are then their combinations).
        metrics: names from :data:`~ser_core.scoring.metrics.METRICS`.
        n_boot: bootstrap resamples per group (0 skips intervals: ``*_low`` / ``*_high`` NaN).
        seed: base seed; each group's resamples are seeded from ``seed`` and the group's name,
            so a group's interval does not change when other groups come or go.
        alpha: 1 - confidence level of the intervals.
        labels: the model's classes; default from the ``prob_*`` columns
            (:func:`~ser_core.scoring.predictions.prediction_labels`). UA and macro F1 of a
            group average over the classes present in that group.
        cluster: ``None`` for utterance-level bootstrap; a column such as ``"speaker"`` to
            resample whole speakers (wider, honest intervals for speaker-independent claims; a
            group with fewer than :data:`~ser_core.scoring.bootstrap.MIN_CLUSTERS` speakers
            then gets no interval).
        within: ``None`` keeps every row (missing values form ``"unknown"``); a column such
            as ``"corpus"`` first leaves out the rows of each corpus that does not define a
            ``by`` column at all (:func:`defined_rows`), so they are not pooled as "unknown".

    Returns:
        A :class:`GroupReport`.

    Raises:
        PredictionsError: a ``by`` or ``cluster`` column is missing, the frame is invalid, or
            (with ``within``) no row is left.
    """
    validate_predictions(predictions)
    by_cols = (by,) if isinstance(by, str) else tuple(by)
    if not by_cols:
        raise ValueError("by must name at least one column")
    needed = [*by_cols, *([cluster] if cluster else [])]
    missing = [c for c in needed if c not in predictions.columns]
    if missing:
        raise PredictionsError(
            f"cannot break down by {', '.join(missing)}: no such column; available: "
            f"{', '.join(map(str, predictions.columns))}"
        )
    if within is not None:
        if labels is None:  # (the classes of every row, before some are left out)
            labels = prediction_labels(predictions)
        predictions = predictions[defined_rows(predictions, by_cols, within).to_numpy()]
        if predictions.empty:
            raise PredictionsError(
                f"no {within} here records {', '.join(by_cols)}: nothing to break down"
            )
    unknown_metrics = [m for m in metrics if m not in METRICS]
    if unknown_metrics:
        raise ValueError(f"unknown metric(s) {unknown_metrics}; choose from {', '.join(METRICS)}")
    label_list = list(labels) if labels is not None else prediction_labels(predictions)
    metrics = tuple(metrics)
    yt = predictions["true"].astype(str).to_numpy(dtype=object)
    yp = predictions["predicted"].astype(str).to_numpy(dtype=object)
    clusters: np.ndarray | None = None
    if cluster:
        ids = predictions[cluster]
        clusters = np.array([UNKNOWN if pd.isna(v) else str(v) for v in ids.tolist()], dtype=object)
    speakers = predictions["speaker"] if "speaker" in predictions.columns else None
    with_speakers = speakers is not None and "speaker" not in by_cols

    per_col = [_group_codes(predictions[c]) for c in by_cols]
    codes = np.stack([c for c, _ in per_col], axis=1)
    combos, inverse = np.unique(codes, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)

    def row_for(mask: np.ndarray, name: str) -> dict[str, Any]:
        row: dict[str, Any] = {"n": int(mask.sum())}
        if with_speakers:
            row["n_speakers"] = int(speakers[mask].nunique(dropna=True))
        seed_seq = [int(seed), zlib.crc32(name.encode())]
        row.update(
            _score(
                yt[mask],
                yp[mask],
                None if clusters is None else clusters[mask],
                metrics,
                label_list,
                n_boot,
                alpha,
                seed_seq,
            )
        )
        return row

    keys: list[Any] = []
    rows = []
    for i, combo in enumerate(combos):
        key = tuple(per_col[j][1][code] for j, code in enumerate(combo))
        key = key[0] if len(by_cols) == 1 else key
        keys.append(key)
        rows.append(row_for(inverse == i, _group_name(key)))
    if len(by_cols) == 1:
        index: pd.Index = pd.Index(keys, name=by_cols[0], dtype=object)
    else:
        index = pd.MultiIndex.from_tuples(keys, names=list(by_cols))
    columns = ["n", *(["n_speakers"] if with_speakers else [])]
    for m in metrics:
        columns += [m, f"{m}_low", f"{m}_high"]
    by_group = pd.DataFrame(rows, index=index, columns=columns)
    overall = pd.Series(row_for(np.ones(len(yt), dtype=bool), "__overall__"), dtype=object)
    if "n_speakers" not in overall and speakers is not None:
        overall["n_speakers"] = int(speakers.nunique(dropna=True))
    return GroupReport(
        by=by_cols,
        metrics=metrics,
        by_group=by_group,
        overall=overall,
        alpha=alpha,
        n_boot=n_boot,
        resample="utterance" if cluster is None else f"cluster:{cluster}",
        labels=label_list,
    )
