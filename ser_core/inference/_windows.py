"""Prediction tables of the :class:`~ser_core.inference.predictor.Predictor`: the windows of a
long recording, their weighted average, and the batched per-file loop of ``predict_files``.

The helpers take the predictor's parts (pipeline, labels, a ``predict`` function) rather than
the predictor, so they stay below it in the import graph.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ser_core.audio import audio_info, read_audio
from ser_core.features import FeatureCache
from ser_core.inference.results import segment_bounds, segment_index
from ser_core.pipeline import InputPipeline

__all__ = [
    "MAX_WINDOWED_SECONDS",
    "ProgressCallback",
    "file_probabilities",
    "probability_table",
    "window_average",
    "window_probabilities",
]

#: Longest recording :meth:`Predictor.predict_windows` accepts (one hour).
MAX_WINDOWED_SECONDS = 3600.0

ProgressCallback = Callable[[int, int], None]

#: Probabilities (N, C) of a batch of featurised inputs.
PredictFeatures = Callable[[Sequence[np.ndarray]], np.ndarray]


def probability_table(proba: np.ndarray, labels: list[str], index: pd.MultiIndex) -> pd.DataFrame:
    """Probabilities ``(rows, labels)`` as a prediction table: columns labels, ``label``."""
    frame = pd.DataFrame(proba, columns=labels, index=index)
    frame["label"] = [labels[i] for i in proba.argmax(axis=1)] if len(frame) else []
    return frame


def window_average(frame: pd.DataFrame, labels: list[str]) -> np.ndarray:
    """Window probabilities averaged, weighted by the audio each window covers."""
    starts, ends = segment_bounds(frame)
    return np.average(frame[labels].to_numpy(), axis=0, weights=ends - starts)


def window_probabilities(
    pipeline: InputPipeline,
    predict: PredictFeatures,
    labels: list[str],
    signal: np.ndarray,
    win_dur: float,
    hop_dur: float,
    *,
    batch_size: int,
    progress: ProgressCallback | None = None,
    file: str = "",
) -> pd.DataFrame:
    """The window table of ``signal`` (at the pipeline's rate): one row per window of
    ``win_dur`` seconds every ``hop_dur``, predicted ``batch_size`` windows at a time."""
    windows = pipeline.windows(signal, win_dur, hop_dur)
    proba = np.zeros((len(windows), len(labels)))
    for start in range(0, len(windows), batch_size):
        chunk = windows[start : start + batch_size]
        feats = [pipeline.featurize(w.signal) for w in chunk]
        proba[start : start + len(chunk)] = predict(feats)
        if progress is not None:
            progress(start + len(chunk), len(windows))
    index = segment_index(file, [w.start for w in windows], [w.end for w in windows])
    return probability_table(proba, labels, index)


def file_probabilities(
    pipeline: InputPipeline,
    predict: PredictFeatures,
    predict_long: Callable[[str], list[float]],
    names: Sequence[str],
    n_labels: int,
    *,
    long_audio_seconds: float,
    batch_size: int,
    store: FeatureCache | None = None,
    progress: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities ``(files, labels)`` and durations of ``names``, in order.

    Files up to ``long_audio_seconds`` are featurised (through ``store`` when given) and
    predicted ``batch_size`` at a time; longer ones go through ``predict_long`` (window by
    window). ``progress``, when given, is the description of a tqdm progress bar.
    """
    proba = np.zeros((len(names), n_labels))
    durations = np.zeros(len(names))
    bar = None
    if progress is not None:
        from tqdm.auto import tqdm  # only when a bar is asked for

        bar = tqdm(total=len(names), desc=progress, unit="file")
    for start in range(0, len(names), batch_size):
        chunk = list(range(start, min(start + batch_size, len(names))))
        feats: list[np.ndarray] = []
        whole: list[int] = []
        for i in chunk:
            durations[i] = audio_info(names[i]).duration
            if durations[i] > long_audio_seconds:
                proba[i] = predict_long(names[i])
                continue
            if store is not None:
                feats.append(pipeline.featurize_files([names[i]], cache=store)[0])
            else:
                clip = read_audio(names[i], target_rate=pipeline.sample_rate)
                feats.append(pipeline.featurize(clip.signal, clip.sample_rate))
            whole.append(i)
        if whole:
            proba[whole] = predict(feats)
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    return proba, durations
