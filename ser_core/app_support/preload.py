"""Load a checkpoint in a background thread while the app draws its first page.

Why: on a cold start the default model's load is mostly torch's import (about 2 s on this CPU,
longer while the browser loads the page). Two loads run one after the other, started on the app
script's first line:

1. the checkpoint's exported pipeline (:class:`~ser_core.inference.exported.ExportedPredictor`,
   no torch, under a second), when it has one: Detect's first label needs only this;
2. the torch :class:`~ser_core.inference.Predictor` (explanations, windows, enrolment), which
   then exports the pipeline for the next start if it was missing.

This module imports only the standard library and the checkpoint helpers, so starting the loads
costs nothing (``cache`` itself imports pandas).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from ser_core.inference.checkpoint import DEFAULT_CHECKPOINT, checkpoints_dir

if TYPE_CHECKING:
    from ser_core.inference import Predictor
    from ser_core.inference.exported import ExportedPredictor

__all__ = ["preload", "preloaded", "preloaded_exported"]

# One background load of each kind per (checkpoint folder, name) and process.
_futures: dict[tuple[str, str], Future[Predictor | None]] = {}
_exported: dict[tuple[str, str], Future[ExportedPredictor | None]] = {}
_lock = threading.Lock()
_loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ser-preload")


def _key(name: str) -> tuple[str, str]:
    return (str(checkpoints_dir()), name)


def _load_exported(name: str) -> ExportedPredictor | None:
    from ser_core.errors import CheckpointError
    from ser_core.inference.exported import ExportedPredictor

    try:
        return ExportedPredictor.from_checkpoint(name)
    except CheckpointError:  # not exportable, or not exported yet: the torch predictor serves
        return None


def _load_unless_exported(
    name: str, exported: Future[ExportedPredictor | None]
) -> Predictor | None:
    """The torch predictor, unless the exported pipeline loaded: then torch waits until a page
    asks for it (:func:`preloaded`), so its import does not slow the first page and label."""
    return None if exported.result() is not None else _load(name)


def _load(name: str) -> Predictor:
    from ser_core.errors import CheckpointError
    from ser_core.inference import load_predictor
    from ser_core.inference.exported import export_head, exportable

    predictor = load_predictor(name)  # (it predicts once itself: the first click pays no warm-up)
    if exportable(predictor.config) is None:
        try:
            export_head(predictor)  # (a no-op when the export is up to date)
        except (CheckpointError, OSError, RuntimeError) as error:  # torch still serves
            import warnings

            warnings.warn(f"{name}: no exported pipeline ({error})", RuntimeWarning, stacklevel=1)
    return predictor


def preload(name: str = DEFAULT_CHECKPOINT) -> Future[Predictor | None] | None:
    """Start loading a checkpoint in the background, once per process and checkpoint folder.

    Returns:
        The load's future, or None when there is no such checkpoint.
    """
    key = _key(name)
    with _lock:
        future = _futures.get(key)
        if future is None:
            if not (checkpoints_dir() / name / "config.json").is_file():
                return None
            _exported[key] = _loader.submit(_load_exported, name)
            future = _futures[key] = _loader.submit(_load_unless_exported, name, _exported[key])
    return future


def preloaded_exported(name: str) -> ExportedPredictor | None:
    """The exported pipeline :func:`preload` found for ``name`` (waiting for it), or None when
    it has none or no preload was started."""
    with _lock:
        future = _exported.get(_key(name))
    return None if future is None else future.result()


def preloaded(name: str) -> Predictor | None:
    """The predictor :func:`preload` started for ``name`` (waiting for it), or None if none was.

    Raises:
        CheckpointError: and any error of the load. A failed load is forgotten, so the next
            :func:`preload` tries again.
    """
    key = _key(name)
    with _lock:
        future = _futures.get(key)
    if future is None:
        return None
    try:
        predictor = future.result()
        if predictor is None:  # deferred while the exported pipeline served: load it now, once
            with _lock:
                if _futures.get(key) is future:
                    _futures[key] = _loader.submit(_load, name)
                future = _futures[key]
            predictor = future.result()
        return predictor
    except BaseException:
        with _lock:
            if _futures.get(key) is future:
                del _futures[key]
        raise
