"""``Predictor.analyse`` and ``Predictor.explain``: the prediction, explanation, window table
and display spectrogram of one clip from one decode, one featurisation and one model pass.

:class:`AnalysisMixin` holds those two public methods (mixed into
:class:`~ser_core.inference.predictor.Predictor`, whose API they are); :func:`explain_clip`
assembles an explanation from the model and its input pipeline alone.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ser_core.audio import DEFAULT_LIMITS, AudioClip, AudioLimits, resample
from ser_core.features import feature_names
from ser_core.inference._outputs import Analysis, Explanation, display_spectrogram
from ser_core.inference._windows import ProgressCallback, window_average
from ser_core.inference.results import Prediction, segment_file
from ser_core.pipeline import InputPipeline, predict_features

__all__ = ["AnalysisMixin", "explain_clip", "explanation_kind"]


def _is_path(source: Any) -> bool:
    return isinstance(source, str | os.PathLike)


class AnalysisMixin:
    """:meth:`analyse` and :meth:`explain` of a :class:`~ser_core.inference.predictor.Predictor`
    (which provides the attributes and methods declared here)."""

    model: Any
    pipeline: InputPipeline
    device: str
    long_audio_seconds: float
    _torch: bool

    if TYPE_CHECKING:  # defined by Predictor

        @property
        def labels(self) -> list[str]: ...

        @property
        def speaker_adapted(self) -> bool: ...

        def predict_features(self, features: Sequence[np.ndarray]) -> np.ndarray: ...

        def _adapt(self, features: Sequence[np.ndarray]) -> list[np.ndarray]: ...

        def _row(self, proba: np.ndarray) -> dict[str, float]: ...

        def _clip(self, signal: Any, sample_rate: int | None, limits: AudioLimits) -> Any: ...

        def _window_probabilities(
            self,
            signal: np.ndarray,
            win_dur: float | None = None,
            hop_dur: float | None = None,
            progress: ProgressCallback | None = None,
            file: str = "",
        ) -> pd.DataFrame: ...

    def analyse(
        self,
        source: Any,
        sample_rate: int | None = None,
        *,
        explain: bool = True,
        windows: bool | None = None,
        spectrogram: bool = True,
        target: str | int | None = None,
        progress: ProgressCallback | None = None,
        limits: AudioLimits = DEFAULT_LIMITS,
        on_prediction: Callable[[Prediction], None] | None = None,
    ) -> Analysis:
        """Prediction, explanation, window table and display spectrogram of one clip, in one
        pass: the audio is decoded and validated once, featurised once and run through the
        model once (the explanation's forward pass gives the probabilities, so the label and
        its explanation come from the same run, on the same runtime).

        Args:
            source: an :class:`~ser_core.audio.AudioClip` from :func:`read_audio` (taken as
                validated: only resampled when its rate differs), a signal (with
                ``sample_rate``), a path, bytes or a file object (an upload).
            sample_rate: rate of an array ``source``.
            explain: compute the explanation of the predicted label (or of ``target``).
            windows: ``True``: also the window table (windows of ``window_seconds`` every
                ``hop_seconds``); ``None`` (default): only for clips longer than
                ``long_audio_seconds``, whose prediction is that table's weighted average;
                ``False``: no table returned.
            spectrogram: compute the display log-mel.
            target: the class to explain (label or index); default: the predicted one.
            progress: called as ``progress(done, total)`` after each batch of windows.
            limits: the validation limits of a source that is not yet an ``AudioClip``.
            on_prediction: called with the prediction as soon as the model has given it, before
                the explanation and the spectrogram are finished (a page shows the label
                first; it is the same prediction the analysis returns).

        Raises:
            AudioInputError: unusable audio; ValueError: an unknown target label.
        """
        started = time.perf_counter()
        clip = self._analysis_clip(source, sample_rate, limits)
        signal, duration = clip.signal, clip.duration
        index = self._target_index(target)
        long = duration > self.long_audio_seconds
        table = None
        if long or windows:
            # One windowing, one window length: the timeline and a long clip's label share it.
            table = self._window_probabilities(
                signal, progress=progress, file=segment_file(clip.source)
            )
        result: Explanation | None = None
        predictions: list[Prediction] = []

        def predicted(proba: np.ndarray) -> None:
            predictions.append(
                Prediction(
                    label=self.labels[int(np.argmax(proba))],
                    probabilities=self._row(proba),
                    latency=time.perf_counter() - started,
                    duration=duration,
                    windows=len(table) if long and table is not None else 1,
                    source=clip.source,
                )
            )
            if on_prediction is not None:
                on_prediction(predictions[0])

        if long:
            assert table is not None
            proba = window_average(table, self.labels)
            predicted(proba)
            if explain:  # the map needs the whole clip: one more pass, explaining that label
                chosen = int(np.argmax(proba)) if index is None else index
                result = self._explain_clip(signal, duration, chosen, classify=False)[1]
        elif explain:
            given, result = self._explain_clip(signal, duration, index, on_probabilities=predicted)
            assert given is not None and predictions
        else:
            predicted(self.predict_features([self.pipeline.featurize(signal)])[0])
        prediction = predictions[0]
        if result is not None:
            result = dataclasses.replace(result, prediction=prediction)
        return Analysis(
            clip=clip,
            prediction=prediction,
            explanation=result,
            windows=table if (windows or (windows is None and long)) else None,
            spectrogram=display_spectrogram(signal, self.pipeline.sample_rate)
            if spectrogram
            else None,
        )

    def explain(
        self, signal: np.ndarray, sample_rate: int, target: str | int | None = None
    ) -> Explanation:
        """The model's explanation map for one signal (:meth:`analyse` without the rest).

        Args:
            signal: the audio (any rate; validated and resampled).
            sample_rate: its rate in Hz.
            target: the class to explain (label or index); default: the predicted class.

        Returns:
            An :class:`Explanation` whose ``times`` place the map's last axis on the audio,
            carrying the prediction of the same model pass. Models with ``encode_signal`` and
            ``explain_encoding`` (pretrained-encoder heads) are explained through them: a
            ``"time"`` map over the encoder's frames.

        Raises:
            AudioInputError: unusable audio; ValueError: an unknown target label.
        """
        analysis = self.analyse(
            np.asarray(signal), sample_rate, windows=False, spectrogram=False, target=target
        )
        assert analysis.explanation is not None
        return analysis.explanation

    # ------------------------------------------------------------------ analysis helpers
    def _analysis_clip(self, source: Any, sample_rate: int | None, limits: AudioLimits) -> Any:
        """The clip at the model's rate, decoded and validated once."""
        rate = self.pipeline.sample_rate
        if isinstance(source, AudioClip):  # read_audio validated it: resample at most
            if source.sample_rate == rate:
                return source
            signal = resample(source.signal, source.sample_rate, rate).astype(np.float32)
            return dataclasses.replace(source, signal=signal, sample_rate=rate)
        if isinstance(source, np.ndarray):
            return self._clip(source, sample_rate, limits)
        if sample_rate is not None:
            raise TypeError("sample_rate is only for numpy arrays (files carry their own rate)")
        clip = self._clip(source, None, limits)
        return dataclasses.replace(clip, source=os.fspath(source)) if _is_path(source) else clip

    def _target_index(self, target: str | int | None) -> int | None:
        if target is None:
            return None
        if isinstance(target, str):
            if target not in self.labels:
                raise ValueError(f"unknown label {target!r}; the model has {self.labels}")
            return self.labels.index(target)
        return int(target)

    def _explain_clip(
        self,
        signal: np.ndarray,
        duration: float,
        index: int | None,
        classify: bool = True,
        on_probabilities: Callable[[np.ndarray], None] | None = None,
    ) -> tuple[np.ndarray | None, Explanation]:
        """:func:`explain_clip` with this predictor's model, pipeline, device and speaker
        normalisation."""
        # A speaker-adapted model is explained on the normalised features it classified.
        adapt = (lambda f: self._adapt([f])[0]) if self.speaker_adapted else None
        return explain_clip(
            self.model,
            self.pipeline,
            signal,
            duration,
            index,
            device=self.device,
            torch=self._torch,
            adapt=adapt,
            classify=classify,
            on_probabilities=on_probabilities,
        )


def explain_clip(
    model: Any,
    pipeline: InputPipeline,
    signal: np.ndarray,
    duration: float,
    index: int | None,
    *,
    device: str,
    torch: bool,
    adapt: Callable[[np.ndarray], np.ndarray] | None = None,
    classify: bool = True,
    on_probabilities: Callable[[np.ndarray], None] | None = None,
) -> tuple[np.ndarray | None, Explanation]:
    """Probabilities (C,) and the explanation of one clip from one model pass.

    ``index`` None explains the predicted class. A model with ``encode_signal`` (a frozen
    pretrained-encoder head) runs its encoder once, with attention maps, and returns the
    probabilities of that run; other models are featurised once, classified, then
    explained on the same input (their ``explain`` has no probabilities to give back;
    ``classify=False``, for a long clip labelled by its windows, skips that: None).
    ``on_probabilities`` receives them as soon as they exist, before the explanation.

    ``adapt`` is the speaker normalisation of a speaker-adapted model (None otherwise); such a
    model is explained on the normalised features it classified, never through its encoder.
    ``torch`` says whether ``model`` is a torch model (its input is collated on ``device``).
    """
    labels = list(model.labels)
    method = str(model.explanation_for(model.config))
    encode = None if adapt is not None else getattr(model, "encode_signal", None)
    if callable(encode):  # label first, then the explanation from the same encoder run
        encoding = encode(signal)
        proba = np.asarray(encoding.probabilities, dtype=np.float64)
        if on_probabilities is not None:
            on_probabilities(proba)
        result = model.explain_encoding(encoding, target=index)
        chosen = int(np.argmax(proba)) if index is None else index
        return proba, Explanation(
            map=np.asarray(result.frame_map, dtype=np.float32),
            kind="time",
            times=np.asarray(result.times, dtype=np.float64),
            label=labels[chosen],
            method=method,
            duration=duration,
        )
    feature = pipeline.featurize(signal)
    if adapt is not None:
        feature = adapt(feature)
    proba = None
    if classify or index is None:
        proba = predict_features(model, pipeline, [feature], batch_size=1, device=device)[0]
        if on_probabilities is not None:
            on_probabilities(np.asarray(proba, dtype=np.float64))
    chosen = int(np.argmax(proba)) if index is None else index
    if torch:
        x, lengths = pipeline.collate([feature], device)
        maps = model.explain(x, lengths, target=chosen)
    else:
        maps = model.explain(feature[None].astype(np.float64), None, target=chosen)
    values = np.asarray(maps, dtype=np.float32)[0]
    kind = explanation_kind(pipeline, values)
    times = None if kind == "feature" else pipeline.times(values.shape[-1], duration)
    names = None
    if kind == "feature":
        try:
            names = feature_names(pipeline.feature_config)
        except ValueError:
            names = None
    return None if proba is None else np.asarray(proba, dtype=np.float64), Explanation(
        map=values,
        kind=kind,
        times=times,
        label=labels[chosen],
        method=method,
        duration=duration,
        feature_names=names,
    )


def explanation_kind(pipeline: InputPipeline, values: np.ndarray) -> str:
    """The :data:`~ser_core.inference.predictor.EXPLANATION_KINDS` entry of a map ``values``."""
    if pipeline.spec.kind == "image":
        return "image"
    if pipeline.time_axis is None:
        return "feature"
    return "time" if values.ndim == 1 else "time-frequency"
