"""What :meth:`Predictor.analyse <ser_core.inference.predictor.Predictor.analyse>` and
:meth:`~ser_core.inference.predictor.Predictor.explain` return: the explanation, the display
spectrogram and the analysis of one clip (re-exported by :mod:`ser_core.inference.predictor`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ser_core.audio import AudioClip
from ser_core.features import LogMelConfig, extract, frame_times
from ser_core.inference.results import Prediction

__all__ = ["EXPLANATION_KINDS", "Analysis", "Explanation", "Spectrogram", "display_spectrogram"]

#: What the axes of an :class:`Explanation` map mean.
EXPLANATION_KINDS = ("time", "time-frequency", "image", "feature")


@dataclass(frozen=True, eq=False)
class Explanation:
    """What drove a prediction, on axes the app can align with the waveform.

    Attributes:
        map: non-negative float32 array, max 1: ``(T,)`` for ``"time"``, ``(F, T)`` for
            ``"time-frequency"``, ``(H, W)`` for ``"image"`` (time along W), ``(D,)`` for
            ``"feature"``.
        kind: one of :data:`EXPLANATION_KINDS`.
        times: seconds of each step along the map's last axis (None for ``"feature"``).
        label: the class explained.
        method: the model's explanation method (``"attention"``, ``"gradcam"``, ``"saliency"``,
            ``"occlusion"``).
        duration: length of the audio in seconds.
        feature_names: names of the ``"feature"`` entries (eGeMAPS names, ...), when known.
        prediction: the prediction of the same signal.
    """

    map: np.ndarray
    kind: str
    times: np.ndarray | None
    label: str
    method: str
    duration: float
    feature_names: list[str] | None = None
    prediction: Prediction | None = field(default=None)


@dataclass(frozen=True, eq=False)
class Spectrogram:
    """A log-mel spectrogram of the clip for display (the app draws it and lays explanation
    maps over it), whatever features the model itself takes.

    Attributes:
        values: ``(n_mels, frames)`` log-mel in dB.
        times: ``(frames,)`` seconds of each frame.
    """

    values: np.ndarray
    times: np.ndarray


@dataclass(frozen=True, eq=False)
class Analysis:
    """Everything one :meth:`Predictor.analyse` call gives for one clip.

    Attributes:
        clip: the decoded, validated clip at the model's sample rate.
        prediction: the clip's prediction; its probabilities come from the same model pass
            (and runtime) as the explanation.
        explanation: the explanation of ``prediction.label`` (None when not asked for).
        windows: one row per window (:meth:`Predictor.predict_windows`'s table: indexed by
            ``(file, start, end)``, ``file`` being the clip's path or upload name, ``""`` for
            an array; a probability column per label, ``label``) when asked for, and always
            for clips longer than ``long_audio_seconds`` (their prediction is the windows'
            weighted average); else None.
        spectrogram: the display log-mel (None when not asked for).
    """

    clip: AudioClip
    prediction: Prediction
    explanation: Explanation | None = None
    windows: pd.DataFrame | None = None
    spectrogram: Spectrogram | None = None


def display_spectrogram(signal: np.ndarray, sample_rate: int) -> Spectrogram:
    """The display log-mel (default :class:`LogMelConfig`), so pages import no features."""
    config = LogMelConfig()
    values = extract(config, signal, sample_rate)
    return Spectrogram(values=values, times=np.asarray(frame_times(config, values.shape[1])))
