"""Load a checkpoint in a background thread while the app draws its first page.

Why: on a cold start the default model's load is mostly torch's import (about 2 s on this CPU,
longer while the browser loads the page). Started on the app script's first line, it overlaps
with the browser rendering and the user choosing a clip. This module imports only the standard
library and the checkpoint helpers, so starting the load costs nothing (``cache`` itself
imports pandas).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from ser_core.inference.checkpoint import DEFAULT_CHECKPOINT, checkpoints_dir

if TYPE_CHECKING:
    from ser_core.inference import Predictor

__all__ = ["preload", "preloaded"]

# One background load per (checkpoint folder, name) and process.
_futures: dict[tuple[str, str], Future[Predictor]] = {}
_lock = threading.Lock()
_loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ser-preload")


def _key(name: str) -> tuple[str, str]:
    return (str(checkpoints_dir()), name)


def _load(name: str) -> Predictor:
    from ser_core.inference import load_predictor

    return load_predictor(name)  # (it predicts once itself: the first click pays no warm-up)


def preload(name: str = DEFAULT_CHECKPOINT) -> Future[Predictor] | None:
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
            future = _futures[key] = _loader.submit(_load, name)
    return future


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
        return future.result()
    except BaseException:
        with _lock:
            if _futures.get(key) is future:
                del _futures[key]
        raise
