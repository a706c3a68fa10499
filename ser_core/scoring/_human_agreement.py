"""Human agreement: does the model fail on the files EMO-DB's listeners found hard?

:func:`human_agreement` compares the model with the 20 listeners of EMO-DB's perception test,
file by file, and returns a :class:`HumanAgreement`. Import these names from
:mod:`ser_core.scoring.groups` (or :mod:`ser_core.scoring`), which re-exports them.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ser_core.scoring._records import _json_value, _records
from ser_core.scoring.predictions import PROB_PREFIX, PredictionsError, validate_predictions

__all__ = ["DEFAULT_HUMAN_BINS", "HUMAN_COLUMN", "HumanAgreement", "human_agreement"]

#: EMO-DB's listener recognition rate (0-100 %), a manifest extra.
HUMAN_COLUMN = "human_recognized_pct"

#: Default bins of the listener recognition rate, in percent: [80, 90), [90, 95), [95, 100].
DEFAULT_HUMAN_BINS: tuple[float, ...] = (80.0, 90.0, 95.0, 100.0)


@dataclass
class HumanAgreement:
    """How the model's errors line up with the listeners' (EMO-DB perception test).

    Attributes:
        per_file: one row per file with ``path``, ``speaker`` (when present), ``true``,
            ``predicted``, ``correct`` (bool), ``p_true`` (model probability of the true class,
            NaN without ``prob_*`` columns), ``human_recognized_pct`` and ``bin``.
        by_bin: indexed by recognition-rate bin (``"80-90"``: 80 ≤ x < 90; the last bin is
            closed; values below the first edge go to ``"<80"``) with ``n``, ``model_accuracy``,
            ``mean_p_true`` and ``mean_human_pct``.
        summary: ``n``, ``model_accuracy``, ``human_mean_pct``, ``spearman_rho`` and
            ``spearman_p`` (recognition rate vs ``p_true``), ``spearman_rho_correct`` and
            ``spearman_p_correct`` (recognition rate vs correct as 0/1),
            ``human_pct_when_correct`` and ``human_pct_when_wrong`` (mean recognition rate of
            the files the model got right / wrong). A positive rho, and a lower rate on the
            model's errors, mean the model fails where listeners fail.
    """

    per_file: pd.DataFrame
    by_bin: pd.DataFrame
    summary: dict[str, float | int | None]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready ``{"summary": {...}, "by_bin": [records]}`` (per-file rows left out)."""
        return {
            "summary": {k: _json_value(v) for k, v in self.summary.items()},
            "by_bin": _records(self.by_bin),
        }


def _bin_labels(edges: Sequence[float]) -> list[str]:
    def fmt(x: float) -> str:
        return f"{x:g}"

    return [f"{fmt(a)}-{fmt(b)}" for a, b in itertools.pairwise(edges)]


def _spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.spearmanr(x[ok], y[ok])
    return float(result.statistic), float(result.pvalue)


def human_agreement(
    predictions: pd.DataFrame,
    bins: Sequence[float] = DEFAULT_HUMAN_BINS,
    column: str = HUMAN_COLUMN,
) -> HumanAgreement:
    """Compare the model with human listeners, file by file (EMO-DB).

    Rows without a recognition rate (other corpora in a multi-corpus frame) are left out.

    Args:
        predictions: a predictions frame with ``column`` (0-100 %) and, for ``p_true``, the
            ``prob_<label>`` columns.
        bins: increasing bin edges in percent.
        column: the recognition-rate column.

    Returns:
        A :class:`HumanAgreement`.

    Raises:
        PredictionsError: ``column`` is missing or holds no value.
        ValueError: ``bins`` is not increasing with at least two edges.
    """
    validate_predictions(predictions)
    if column not in predictions.columns:
        raise PredictionsError(
            f"no {column!r} column: human agreement needs EMO-DB's listener ratings "
            "(emodb/human_ratings.tsv next to wav/ when the manifest is prepared)"
        )
    edges = [float(b) for b in bins]
    if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError(f"bins must be at least two increasing edges, got {list(bins)}")
    human = pd.to_numeric(predictions[column], errors="coerce")
    frame = predictions[human.notna().to_numpy()]
    human = human[human.notna()].to_numpy(dtype=float)
    if len(frame) == 0:
        raise PredictionsError(f"column {column!r} holds no value; no rated files to compare")
    true = frame["true"].astype(str).to_numpy(dtype=object)
    predicted = frame["predicted"].astype(str).to_numpy(dtype=object)
    correct = true == predicted
    p_true = np.full(len(frame), np.nan)
    for label in set(true.tolist()):
        col = f"{PROB_PREFIX}{label}"
        if col in frame.columns:
            rows = true == label
            p_true[rows] = frame[col].to_numpy(dtype=float)[rows]

    names = _bin_labels(edges)
    below, above = f"<{edges[0]:g}", f">{edges[-1]:g}"
    position = np.searchsorted(edges, human, side="right") - 1
    position[human == edges[-1]] = len(names) - 1  # the last bin is closed
    bin_of = np.array(
        [below if p < 0 else above if p >= len(names) else names[p] for p in position],
        dtype=object,
    )
    per_file = pd.DataFrame(
        {
            "path": frame["path"].to_numpy(dtype=object),
            **({"speaker": frame["speaker"].to_numpy(dtype=object)} if "speaker" in frame else {}),
            "true": true,
            "predicted": predicted,
            "correct": correct,
            "p_true": p_true,
            column: human,
            "bin": bin_of,
        }
    )
    order = [below] * bool((bin_of == below).any()) + names
    order += [above] * bool((bin_of == above).any())
    rows = []
    for name in order:
        mask = bin_of == name
        n = int(mask.sum())
        has_p = bool(n) and bool(np.isfinite(p_true[mask]).any())
        rows.append(
            {
                "bin": name,
                "n": n,
                "model_accuracy": float(correct[mask].mean()) if n else np.nan,
                "mean_p_true": float(np.nanmean(p_true[mask])) if has_p else np.nan,
                "mean_human_pct": float(human[mask].mean()) if n else np.nan,
            }
        )
    by_bin = pd.DataFrame(rows).set_index("bin")
    rho, p = _spearman(human, p_true)
    rho_c, p_c = _spearman(human, correct.astype(float))
    summary: dict[str, float | int | None] = {
        "n": len(frame),
        "model_accuracy": float(correct.mean()),
        "human_mean_pct": float(human.mean()),
        "spearman_rho": rho,
        "spearman_p": p,
        "spearman_rho_correct": rho_c,
        "spearman_p_correct": p_c,
        "human_pct_when_correct": float(human[correct].mean()) if correct.any() else np.nan,
        "human_pct_when_wrong": float(human[~correct].mean()) if (~correct).any() else np.nan,
    }
    return HumanAgreement(per_file=per_file, by_bin=by_bin, summary=summary)
