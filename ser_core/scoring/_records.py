"""JSON-ready records of result frames, shared by :class:`~ser_core.scoring.groups.GroupReport`
and :class:`~ser_core.scoring.groups.HumanAgreement` (their ``to_dict``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _json_value(value: Any) -> Any:
    """A JSON-ready scalar (numpy → Python, NaN → None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows (index reset into columns) as JSON-ready dicts."""
    flat = frame.reset_index()
    return [{str(k): _json_value(v) for k, v in row.items()} for row in flat.to_dict("records")]
