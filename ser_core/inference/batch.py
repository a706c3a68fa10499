"""Batch scoring of many files into one parquet table, resumable, on one machine or on Ray.

>>> from ser_core.inference import load_predictor
>>> from ser_core.inference.batch import batch_inputs, score_batch
>>> files = batch_inputs("calls/")                                  # doctest: +SKIP
>>> score_batch(load_predictor("default"), files, "scores.parquet")  # doctest: +SKIP

Output: one row per file, or one row per window for files longer than the predictor's
``long_audio_seconds``. A file that cannot be used gets one row with ``error`` (the message) and
``reason`` (the :class:`~ser_core.errors.AudioInputError` code), NaN ``start`` / ``end`` and no
probabilities, so one bad file never stops a run of thousands.

In memory (:func:`score_clips`, :func:`read_scores`) the rows have the shape of every prediction
table (:mod:`ser_core.inference.results`): indexed by ``(file, start, end)``, one probability
column per label, ``label``, then :data:`EXTRA_COLUMNS`. On disk the parquet keeps flat columns,
:data:`BASE_COLUMNS` then the labels, as earlier versions wrote it, so their runs resume.

Resuming: scored rows are written every ``chunk_files`` files to ``<out>.parts/``; a run that
is stopped (Ctrl-C, a crash, a lost node) is picked up by running the same command again: files
already in ``out`` or its parts are skipped (errors included). When every file is scored the
parts are merged into ``out``.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ser_core.audio import AudioClip, AudioLimits, read_audio
from ser_core.data.manifest import AUDIO_EXTENSIONS
from ser_core.errors import AudioInputError, SERError
from ser_core.inference.results import SEGMENT_LEVELS, segment_index

if TYPE_CHECKING:
    from ser_core.inference.predictor import Predictor

#: Columns of the parquet on disk before the per-label probabilities, in order.
BASE_COLUMNS = ("file", "window", "start", "end", "duration", "label", "model", "error", "reason")
#: Columns of the scored table after the probabilities and ``label``, in order.
EXTRA_COLUMNS = ("window", "duration", "model", "error", "reason")
#: Longest file scored (windowed): longer ones get an error row.
MAX_BATCH_SECONDS = 4 * 3600.0
ENGINES = ("local", "ray")


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


# --------------------------------------------------------------------------------- inputs
def batch_inputs(source: str | os.PathLike[str]) -> list[str]:
    """The audio files to score: every audio file below a folder (sorted), or the ``path``
    column of a manifest (``.csv`` / ``.parquet``; relative paths are relative to it).

    Raises:
        SERError: the source does not exist, holds no audio, or the manifest has no ``path``.
    """
    root = Path(source)
    if root.is_dir():
        files = sorted(
            str(p) for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS
        )
        if not files:
            raise SERError(f"{root} holds no audio files ({', '.join(sorted(AUDIO_EXTENSIONS))})")
        return files
    if not root.is_file():
        raise SERError(f"{root} does not exist: give a folder of audio files or a manifest")
    suffix = root.suffix.lower()
    if suffix == ".parquet":
        table = pd.read_parquet(root)
    elif suffix == ".csv":
        table = pd.read_csv(root)
    else:
        raise SERError(
            f"{root} is neither a folder nor a manifest (.csv or .parquet with a 'path' column)"
        )
    if "path" not in table.columns:
        raise SERError(f"the manifest {root} has no 'path' column (it has {list(table.columns)})")
    paths = [str(p) for p in table["path"].dropna().astype(str)]
    return [p if os.path.isabs(p) else str(root.parent / p) for p in paths]


# --------------------------------------------------------------------------------- one file
def decode_for(predictor: Predictor, path: str) -> AudioClip | AudioInputError:
    """Decode ``path`` at the predictor's rate (up to :data:`MAX_BATCH_SECONDS`), or the error."""
    try:
        return read_audio(
            path,
            target_rate=predictor.pipeline.sample_rate,
            limits=AudioLimits(max_duration=MAX_BATCH_SECONDS),
        )
    except AudioInputError as error:
        return error


def _error_row(path: str, error: AudioInputError, model: str) -> dict[str, Any]:
    return {
        "file": path,
        "window": 0,
        "start": np.nan,
        "end": np.nan,
        "duration": np.nan,
        "label": None,
        "model": model,
        "error": str(error),
        "reason": error.reason,
    }


def score_clips(
    predictor: Predictor, decoded: Sequence[tuple[str, AudioClip | AudioInputError]]
) -> pd.DataFrame:
    """Scored rows of decoded files (the unit both engines run): short clips are featurised
    and predicted as one batch, long ones window by window.

    Returns:
        Indexed by ``(file, start, end)``: one probability column per label, ``label``, then
        :data:`EXTRA_COLUMNS` (see the module doc).
    """
    rows: list[dict[str, Any]] = []
    short: list[tuple[str, AudioClip]] = []
    for path, clip in decoded:
        if isinstance(clip, AudioInputError):
            rows.append(_error_row(path, clip, predictor.name))
        elif clip.duration > predictor.long_audio_seconds:
            windows = predictor.predict_windows(clip.signal, clip.sample_rate, file=path)
            windows = windows.reset_index().assign(
                window=range(len(windows)),
                duration=clip.duration,
                model=predictor.name,
                error=None,
                reason=None,
            )
            rows += windows.to_dict("records")
        else:
            short.append((path, clip))
    if short:
        features = [predictor.pipeline.featurize(clip.signal) for _, clip in short]
        proba = predictor.predict_features(features)
        for (path, clip), p in zip(short, proba, strict=True):
            rows.append(
                {
                    "file": path,
                    "window": 0,
                    "start": 0.0,
                    "end": clip.duration,
                    "duration": clip.duration,
                    "label": predictor.labels[int(np.argmax(p))],
                    "model": predictor.name,
                    "error": None,
                    "reason": None,
                    **dict(zip(predictor.labels, map(float, p), strict=True)),
                }
            )
    return _indexed(pd.DataFrame(rows), predictor.labels)


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
    :func:`score_clips`: indexed by ``(file, start, end)``."""
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


# --------------------------------------------------------------------------------- engines
def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _decoded_ahead(
    decode: Callable[[str], AudioClip | AudioInputError],
    files: Iterable[str],
    workers: int,
    ahead: int,
) -> Iterator[tuple[str, AudioClip | AudioInputError]]:
    """``(file, clip)`` in order, decoded by ``workers`` threads up to ``ahead`` files early
    (libsndfile and the resampler release the GIL, so decoding overlaps the model)."""
    if workers <= 0:
        for path in files:
            yield path, decode(path)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ser-decode") as pool:
        queue: deque[tuple[str, Future[AudioClip | AudioInputError]]] = deque()
        for path in files:
            queue.append((path, pool.submit(decode, path)))
            if len(queue) > ahead:
                head, future = queue.popleft()
                yield head, future.result()
        while queue:
            head, future = queue.popleft()
            yield head, future.result()


def score_batch(
    predictor: Predictor,
    files: Sequence[str],
    out: str | os.PathLike[str],
    *,
    workers: int = 2,
    chunk_files: int = 64,
    restart: bool = False,
    progress: bool = False,
) -> BatchSummary:
    """Score ``files`` into the parquet table ``out`` on this machine (see the module doc).

    Args:
        predictor: the model.
        files: audio paths (:func:`batch_inputs` lists a folder or manifest).
        out: the ``.parquet`` table to write.
        workers: decoding threads (0: decode in the calling thread).
        chunk_files: files per partial result written (what a stopped run can lose at most).
        restart: forget earlier results in ``out`` and score everything again.
        progress: show a progress bar.

    Raises:
        SERError: ``out`` holds another model's predictions (and ``restart`` is false).
    """
    started = time.perf_counter()
    out, pending, skipped = _start(predictor, files, out, restart)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(pending) + skipped, initial=skipped, desc="scoring", unit="file")
    decoded = _decoded_ahead(
        lambda path: decode_for(predictor, path), pending, workers, ahead=max(4 * workers, 8)
    )
    errors = 0
    batch: list[tuple[str, AudioClip | AudioInputError]] = []
    frames: list[pd.DataFrame] = []
    try:
        for count, item in enumerate(decoded, start=1):
            batch.append(item)
            part_done = count % chunk_files == 0 or count == len(pending)
            if len(batch) == predictor.batch_size or part_done:
                frames.append(score_clips(predictor, batch))
                if bar is not None:
                    bar.update(len(batch))
                batch = []
            if part_done:
                errors += _write_part(pd.concat(frames), out, predictor.labels)
                frames = []
    finally:
        if bar is not None:
            bar.close()
    return _finish(out, files, predictor.labels, len(pending), skipped, errors, started)


class _RayScorer:
    """A Ray Data actor: loads the model once, scores batches of ``{"file": [...]}``."""

    def __init__(self, checkpoint: str, threads: int) -> None:
        import torch

        from ser_core.inference.predictor import load_predictor

        torch.set_num_threads(max(1, threads))
        self.predictor = load_predictor(checkpoint)

    def __call__(self, batch: dict[str, Any]) -> pd.DataFrame:
        files = [str(f) for f in batch["file"]]
        decoded = [(f, decode_for(self.predictor, f)) for f in files]
        return _flat(score_clips(self.predictor, decoded))  # Ray batches carry no index


def score_batch_ray(
    predictor: Predictor,
    files: Sequence[str],
    out: str | os.PathLike[str],
    *,
    actors: int = 2,
    threads_per_actor: int = 1,
    files_per_task: int = 16,
    restart: bool = False,
    address: str | None = None,
) -> BatchSummary:
    """Score ``files`` with Ray Data: ``actors`` model replicas on the Ray cluster.

    ``address`` is handed to ``ray.init``: ``None`` joins the cluster named by the
    ``RAY_ADDRESS`` environment variable or starts a local one; ``"ray://head:10001"`` joins a
    remote cluster (whose workers must see the same file paths and ``ser_core``). The same
    resumable parts as :func:`score_batch` are written, so either engine can resume the other.

    Raises:
        SERError: Ray is not installed, the predictor has no checkpoint folder, or ``out``
            holds another model's predictions.
    """
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise SERError('--engine ray needs Ray Data: pip install "ray[data]"') from exc
    if predictor.folder is None:
        raise SERError("the Ray engine loads the model on every worker: it needs a checkpoint")
    started = time.perf_counter()
    out, pending, skipped = _start(predictor, files, out, restart)
    errors = 0
    if pending:
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        dataset = ray.data.from_items([{"file": f} for f in pending])
        scored = dataset.map_batches(
            _RayScorer,
            fn_constructor_kwargs={
                "checkpoint": str(predictor.folder),
                "threads": threads_per_actor,
            },
            batch_size=files_per_task,
            batch_format="numpy",
            concurrency=actors,
            num_cpus=threads_per_actor,
        )
        for frame in scored.iter_batches(batch_format="pandas", batch_size=None):
            errors += _write_part(frame, out, predictor.labels)
    return _finish(out, files, predictor.labels, len(pending), skipped, errors, started)
