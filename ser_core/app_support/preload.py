"""Load a checkpoint in a background thread while the app draws its first page.

Why: on a cold start the default model's load is mostly torch's import (about 2 s on this CPU,
longer while the browser loads the page); started once the app's first page is drawn (the
import holds the GIL, so started earlier it delayed that page), it overlaps with the user
choosing a clip. Detect's click needs the torch
:class:`~ser_core.inference.Predictor` itself (one :meth:`~ser_core.inference.Predictor.analyse`
pass gives the label and its explanation on one runtime), so it is loaded at once rather than
after a torch-free exported pipeline; the load still refreshes that export for ``ser predict``.

This module imports only the standard library and the checkpoint helpers, so starting the load
costs nothing (``cache`` itself imports pandas).
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
    from ser_core.errors import CheckpointError
    from ser_core.inference import load_predictor
    from ser_core.inference.exported import export_head, exportable

    predictor = load_predictor(name)  # (it predicts once itself: the first click pays no warm-up)
    _warm_analysis(predictor)
    if exportable(predictor.config) is None:
        try:
            export_head(predictor)  # (a no-op when the export is up to date)
        except (CheckpointError, OSError, RuntimeError) as error:  # torch still serves
            import warnings

            warnings.warn(f"{name}: no exported pipeline ({error})", RuntimeWarning, stacklevel=1)
    return predictor


def _warm_analysis(predictor: Predictor) -> None:
    """One Detect click's work on a synthetic clip, in the background: the load's own warm-up
    only predicts, while a click also explains (a Whisper head opens its encoder's attention
    graph, about a second) and draws a log-mel (librosa's first import); paid here, the first
    click does not wait for them."""
    from contextlib import suppress

    from ser_core.app_support.samples import synthetic_vowel
    from ser_core.errors import SERError

    if predictor.speaker_adapted:  # needs an enrolment: its first click pays instead
        return
    with suppress(SERError):  # a warm-up only: the click itself says what is wrong
        predictor.analyse(synthetic_vowel(1.0), 16000)


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
