"""The on-disk side of a batch run: the parquet layout, resumable parts, merging, the summary.

Rows are stored flat (:data:`BASE_COLUMNS` then the labels, as earlier versions wrote them) in
``<out>.parts/`` until every file is scored, then merged into ``out``; in memory they are indexed
by ``(file, start, end)``. Split from :mod:`ser_core.inference.batch`, which re-exports the
public names and runs the engines.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ser_core.errors import SERError
from ser_core.inference.results import SEGMENT_LEVELS, segment_index

if TYPE_CHECKING:
    from ser_core.inference.predictor import Predictor

#: Columns of the parquet on disk before the per-label probabilities, in order.
BASE_COLUMNS = ("file", "window", "start", "end", "duration", "label", "model", "error", "reason")
#: Columns of the scored table after the probabilities and ``label``, in order.
EXTRA_COLUMNS = ("window", "duration", "model", "error", "reason")


@dataclass
class BatchSummary:
    """What a batch run did.

    Attributes:
        out: the parquet table written.
        files: files asked for.
        skipped: files already scored by an earlier run (resumed).
        scored: files scored by this run (errors included).
        errors: files of this run that could not be used.
        rows: rows in ``out`` (all runs).
        seconds: wall time of this run.
    """

    out: Path
    files: int
    skipped: int
    scored: int
    errors: int
    rows: int
    seconds: float


def _indexed(frame: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Flat rows (on-disk layout) as the scored table: ``(file, start, end)`` index, labels,
    ``label``, :data:`EXTRA_COLUMNS`."""
    flat = _typed(frame, labels)
    index = segment_index(flat["file"], flat["start"], flat["end"])
    return flat[[*labels, "label", *EXTRA_COLUMNS]].set_axis(index, axis=0)


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """A table indexed by ``(file, start, end)`` back to flat columns (others: unchanged)."""
    if list(frame.index.names) == list(SEGMENT_LEVELS):
        return frame.reset_index()
    return frame


def read_scores(out: str | os.PathLike[str]) -> pd.DataFrame:
    """The table a batch run wrote (by this version or an earlier one), in the shape of
    :func:`~ser_core.inference.batch.score_clips`: indexed by ``(file, start, end)``."""
    table = _flat(pd.read_parquet(out))
    labels = [c for c in table.columns if c not in BASE_COLUMNS]
    return _indexed(table, labels)


def _typed(frame: pd.DataFrame, labels: Sequence[str]) -> pd.DataFrame:
    """Flat on-disk columns and fixed dtypes, so parts written by different runs concatenate."""
    frame = _flat(frame)
    columns = [*BASE_COLUMNS, *labels]
    frame = frame.reindex(columns=columns)
    for column in ("start", "end", "duration", *labels):
        frame[column] = frame[column].astype("float64")
    frame["window"] = frame["window"].astype("int64")
    for column in ("file", "label", "model", "error", "reason"):
        frame[column] = frame[column].astype("string")
    return frame


# --------------------------------------------------------------------------------- resuming
def parts_dir(out: str | os.PathLike[str]) -> Path:
    """Where a run's partial results live until they are merged into ``out``."""
    out = Path(out)
    return out.with_name(out.name + ".parts")


def _read_scored(out: Path) -> pd.DataFrame | None:
    tables = []
    if out.is_file():
        tables.append(_flat(pd.read_parquet(out)))
    parts = parts_dir(out)
    if parts.is_dir():
        tables += [_flat(pd.read_parquet(p)) for p in sorted(parts.glob("*.parquet"))]
    if not tables:
        return None
    return pd.concat(tables, ignore_index=True)


def _check_same_model(scored: pd.DataFrame, predictor: Predictor, out: Path) -> None:
    models = set(scored["model"].dropna().astype(str))
    if models and models != {predictor.name}:
        raise SERError(
            f"{out} already holds predictions of {', '.join(sorted(models))}, not "
            f"{predictor.name}: choose another --out, or pass --restart to score it again"
        )
    missing = [label for label in predictor.labels if label not in scored.columns]
    if missing:
        raise SERError(
            f"{out} was scored with other labels (no column {', '.join(missing)}): choose "
            "another --out, or pass --restart"
        )


def _write_part(frame: pd.DataFrame, out: Path, labels: Sequence[str]) -> int:
    """Store scored rows (indexed or flat) as one flat part of ``out``; returns how many of
    their files were unusable."""
    frame = _typed(frame, labels)
    parts = parts_dir(out)
    parts.mkdir(parents=True, exist_ok=True)
    # Write then rename: a part is either complete or absent, even if the run is killed.
    name = f"part-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
    tmp = parts / f".{name}.tmp"
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, parts / name)
    return int(frame.drop_duplicates("file")["error"].notna().sum())


def _merge(out: Path, files: Sequence[str], labels: Sequence[str]) -> int:
    scored = _read_scored(out)
    if scored is None:
        scored = _typed(pd.DataFrame(), labels)
    order = {f: i for i, f in enumerate(files)}
    scored = scored.drop_duplicates(subset=["file", "window"], keep="last")
    scored = scored.assign(_order=scored["file"].map(order).fillna(len(order)))
    scored = scored.sort_values(["_order", "file", "window"], kind="stable").drop(columns="_order")
    tmp = out.with_name(f".{out.name}.tmp")
    scored.reset_index(drop=True).to_parquet(tmp, index=False)
    os.replace(tmp, out)
    shutil.rmtree(parts_dir(out), ignore_errors=True)
    return len(scored)


def _start(
    predictor: Predictor, files: Sequence[str], out: str | os.PathLike[str], restart: bool
) -> tuple[Path, list[str], int]:
    """``(out, files still to score, files already scored)`` for a run, resuming or not."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if restart:
        out.unlink(missing_ok=True)
        shutil.rmtree(parts_dir(out), ignore_errors=True)
    scored = _read_scored(out)
    done: set[str] = set()
    if scored is not None and len(scored):
        _check_same_model(scored, predictor, out)
        done = set(scored["file"].astype(str))
    unique = list(dict.fromkeys(files))
    pending = [f for f in unique if f not in done]
    return out, pending, len(unique) - len(pending)


def _finish(
    out: Path,
    files: Sequence[str],
    labels: Sequence[str],
    scored: int,
    skipped: int,
    errors: int,
    started: float,
) -> BatchSummary:
    rows = _merge(out, files, labels)
    return BatchSummary(
        out=out,
        files=scored + skipped,
        skipped=skipped,
        scored=scored,
        errors=errors,
        rows=rows,
        seconds=time.perf_counter() - started,
    )
