"""Per-utterance prediction tables: the columns they hold, validation and Parquet storage.

A predictions frame is the corpus manifest (``path, corpus, speaker, gender, age, emotion,
intensity, text, language, duration`` and extras such as EMO-DB's ``human_recognized_pct``) plus

* ``true`` and ``predicted``: label strings,
* ``prob_<label>``: one probability column per class, in the model's label order,
* optional ``fold``, ``model``, ``split`` / ``protocol`` columns.

Checkpoints ship it as ``predictions.parquet``; the app's bias pages and the benchmark report read
it back with :func:`load_predictions`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ser_core.data.labels import sort_emotions
from ser_core.errors import SERError

__all__ = [
    "PROB_PREFIX",
    "REQUIRED_COLUMNS",
    "PredictionsError",
    "load_predictions",
    "prediction_labels",
    "prob_columns",
    "restrict_to_classes",
    "save_predictions",
    "validate_predictions",
]

#: Prefix of the per-class probability columns (``prob_angry``, ...).
PROB_PREFIX = "prob_"
#: Columns every predictions frame must have.
REQUIRED_COLUMNS: tuple[str, ...] = ("path", "true", "predicted")
# Key of this module's entry in the Parquet schema metadata.
_META_KEY = b"ser_core.predictions"
_FORMAT_VERSION = 1


class PredictionsError(SERError, ValueError):
    """A predictions table lacks required columns or holds values that cannot be scored."""


def prob_columns(predictions: pd.DataFrame) -> list[str]:
    """The ``prob_<label>`` columns, in frame (= model label) order."""
    return [c for c in predictions.columns if isinstance(c, str) and c.startswith(PROB_PREFIX)]


def prediction_labels(predictions: pd.DataFrame) -> list[str]:
    """The label universe of a predictions frame.

    Taken from the ``prob_<label>`` columns (model order) when there are any, else every label
    in ``true`` / ``predicted`` in canonical emotion order.
    """
    probs = prob_columns(predictions)
    if probs:
        return [c[len(PROB_PREFIX) :] for c in probs]
    values = pd.concat([predictions["true"], predictions["predicted"]]).dropna()
    return sort_emotions(str(v) for v in values)


def restrict_to_classes(predictions: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Score a model over a test corpus's own classes: ``predicted`` becomes the most probable
    of ``classes`` (the argmax restricted to them) and rows whose true label is not among them
    are dropped. The probability columns are kept as they are (the model's full output).

    Leave-one-corpus-out uses it: a corpus with five emotions is scored as a five-way task
    (chance 20 %), whatever other classes the model knows.

    Raises:
        PredictionsError: a class without its ``prob_<class>`` column, or no class at all.
    """
    if not classes:
        raise PredictionsError("restrict_to_classes needs at least one class")
    columns = [f"{PROB_PREFIX}{c}" for c in classes]
    missing = [c for c in columns if c not in predictions.columns]
    if missing:
        raise PredictionsError(f"no probability column for {', '.join(missing)}")
    kept = predictions[predictions["true"].astype(str).isin(classes)].copy()
    probs = kept[columns].to_numpy(dtype=np.float64)
    kept["predicted"] = np.asarray(classes, dtype=object)[probs.argmax(axis=1)]
    return kept


def validate_predictions(predictions: pd.DataFrame) -> pd.DataFrame:
    """Check a predictions frame; return it unchanged.

    Rules: :data:`REQUIRED_COLUMNS` present; ``true`` and ``predicted`` without missing values;
    ``prob_*`` columns numeric, within [0, 1] and summing to 1 (± 0.01) per row; every
    ``predicted`` label has a ``prob_`` column when there are any.

    Raises:
        PredictionsError: naming every rule broken and what to do.
    """
    if not isinstance(predictions, pd.DataFrame):
        raise PredictionsError(
            f"predictions must be a pandas DataFrame, got {type(predictions).__name__}"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in predictions.columns]
    if missing:
        raise PredictionsError(
            f"predictions lack required column(s) {', '.join(missing)}; a predictions table needs "
            f"{', '.join(REQUIRED_COLUMNS)} (the manifest's path, the true and the predicted "
            f"label) plus optional {PROB_PREFIX}<label> columns. Columns found: "
            f"{', '.join(map(str, predictions.columns))}"
        )
    problems: list[str] = []
    for col in ("true", "predicted"):
        n_missing = int(predictions[col].isna().sum())
        if n_missing:
            problems.append(f"{n_missing} row(s) without a {col!r} label")
    probs = prob_columns(predictions)
    if probs:
        block = predictions[probs]
        non_numeric = [c for c in probs if not pd.api.types.is_numeric_dtype(block[c])]
        if non_numeric:
            problems.append(f"non-numeric probability column(s) {', '.join(non_numeric)}")
        else:
            values = block.to_numpy(dtype=float)
            if not np.isfinite(values).all() or (values < 0).any() or (values > 1).any():
                problems.append("probabilities outside [0, 1] or not finite")
            elif len(values) and not np.allclose(values.sum(axis=1), 1.0, atol=0.01):
                problems.append(f"{PROB_PREFIX}* columns that do not sum to 1 per row")
        known = {c[len(PROB_PREFIX) :] for c in probs}
        stray = sorted(set(predictions["predicted"].dropna().astype(str)) - known)
        if stray:
            problems.append(f"predicted label(s) {stray} without a {PROB_PREFIX} column")
    if problems:
        raise PredictionsError("invalid predictions: " + "; ".join(problems))
    return predictions


def save_predictions(predictions: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Validate ``predictions`` and write them to a Parquet file.

    Column order, the index and dtypes survive :func:`load_predictions`, including ``object``
    string columns with ``pd.NA`` (the manifest convention), which plain ``pd.read_parquet``
    would turn into pandas' ``str`` dtype.

    Returns:
        The path written (parent folders are created).

    Raises:
        PredictionsError: see :func:`validate_predictions`.
    """
    validate_predictions(predictions)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(predictions, preserve_index=None)
    meta = {
        "version": _FORMAT_VERSION,
        "columns": [str(c) for c in predictions.columns],
        "dtypes": {str(c): str(t) for c, t in predictions.dtypes.items()},
    }
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), _META_KEY: json.dumps(meta).encode()}
    )
    pq.write_table(table, out)
    return out


def load_predictions(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a predictions Parquet file written by :func:`save_predictions` and validate it.

    Files written by other tools are accepted too (then pandas' own dtype mapping applies).

    Raises:
        FileNotFoundError: no such file.
        PredictionsError: the table lacks required columns or has invalid values.
    """
    src = Path(path)
    if not src.is_file():
        raise FileNotFoundError(f"no predictions file at {src}; run an evaluation to create it")
    table = pq.read_table(src)
    df = table.to_pandas()
    raw = (table.schema.metadata or {}).get(_META_KEY)
    if raw is not None:
        meta: dict[str, Any] = json.loads(raw)
        for col, dtype in meta.get("dtypes", {}).items():
            if col in df.columns and dtype == "object" and _all_strings_or_missing(df[col]):
                df[col] = _object_strings(df[col])
        order = [c for c in meta.get("columns", []) if c in df.columns]
        if len(order) == len(df.columns):
            df = df[order]
    return validate_predictions(df)


def _all_strings_or_missing(values: pd.Series) -> bool:
    """True for a string column, or an object column of ``str`` / missing values only."""
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        return True
    if values.dtype != object:
        return False
    return all(isinstance(v, str) or v is None or v is pd.NA or v != v for v in values.tolist())


def _object_strings(values: pd.Series) -> pd.Series:
    """``values`` as an ``object`` Series of ``str`` with ``pd.NA`` for missing entries."""
    items = [pd.NA if pd.isna(v) else str(v) for v in values.tolist()]
    return pd.Series(items, index=values.index, dtype=object, name=values.name)
