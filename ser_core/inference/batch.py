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
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ser_core.audio import AudioClip, AudioLimits, read_audio
from ser_core.data.manifest import AUDIO_EXTENSIONS
from ser_core.errors import AudioInputError, SERError
from ser_core.inference._batch_store import (
    BASE_COLUMNS,
    EXTRA_COLUMNS,
    BatchSummary,
    _finish,
    _flat,
    _indexed,
    _start,
    _write_part,
    parts_dir,
    read_scores,
)

if TYPE_CHECKING:
    from ser_core.inference.predictor import Predictor

__all__ = [
    "BASE_COLUMNS",
    "ENGINES",
    "EXTRA_COLUMNS",
    "MAX_BATCH_SECONDS",
    "BatchSummary",
    "batch_inputs",
    "decode_for",
    "parts_dir",
    "read_scores",
    "score_batch",
    "score_batch_ray",
    "score_clips",
]

#: Longest file scored (windowed): longer ones get an error row.
MAX_BATCH_SECONDS = 4 * 3600.0
ENGINES = ("local", "ray")


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
