"""``Predictor``: probabilities per class for a signal, a file, many files or the windows of a
long recording, and the explanation map of a prediction.

>>> from ser_core.inference import load_predictor
>>> predictor = load_predictor("checkpoints/cnn_lstm")          # doctest: +SKIP
>>> predictor.predict_file("clip.wav").label                     # doctest: +SKIP
'angry'
>>> predictor.predict_files(["a.wav", "b.wav"])                  # doctest: +SKIP
                    neutral  happy  ...  label
file  start end
a.wav 0.0   2.35       0.02   0.91  ...  happy
>>> analysis = predictor.analyse("clip.wav")                     # doctest: +SKIP
>>> analysis.prediction.label, analysis.explanation.method      # doctest: +SKIP
('angry', 'attention')

:meth:`Predictor.analyse` is what an app click needs in one call: the prediction, its
explanation, the window table of a long clip and a display spectrogram, from one decode, one
featurisation and one model pass (the explanation's forward pass gives the probabilities).

Every input goes through :func:`ser_core.audio.read_audio` (decode, validate, downmix, resample to
16 kHz), so bad input raises :class:`~ser_core.errors.AudioInputError` with a message a person
can act on; features and batches come from the model's :class:`~ser_core.pipeline.InputPipeline`,
the same code that built the training inputs. Models run in eval mode under
``torch.inference_mode``.

Long audio: a signal longer than ``long_audio_seconds`` (20 s by default) is cut into windows of
``window_seconds`` (the training crop length, else 4 s) with half-window hops, and the window
probabilities are averaged, weighted by the real (unpadded) audio each window covers.

Tables (:meth:`Predictor.predict_files`, :meth:`Predictor.predict_windows`,
:attr:`Analysis.windows`) share one shape: indexed by ``(file, start, end)`` (seconds), one
probability column per label, then ``label``; see :mod:`ser_core.inference.results`.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ser_core.adaptation import SpeakerNormalizer
from ser_core.audio import DEFAULT_LIMITS, AudioLimits, read_audio
from ser_core.errors import CheckpointError, SERError
from ser_core.features import FeatureCache, FeatureConfig
from ser_core.inference import _speaker
from ser_core.inference._analysis import AnalysisMixin, _is_path
from ser_core.inference._loading import load_checkpoint, warmup_tone
from ser_core.inference._outputs import EXPLANATION_KINDS, Analysis, Explanation, Spectrogram
from ser_core.inference._speaker import ENROLLED_SPEAKER
from ser_core.inference._windows import (
    MAX_WINDOWED_SECONDS,
    ProgressCallback,
    file_probabilities,
    probability_table,
    window_average,
    window_probabilities,
)
from ser_core.inference.checkpoint import DEFAULT_CHECKPOINT
from ser_core.inference.results import LONG_AUDIO_SECONDS, Prediction, segment_index
from ser_core.pipeline import InputPipeline, pipeline_for, predict_features

__all__ = [
    "EXPLANATION_KINDS",
    "Analysis",
    "Explanation",
    "Prediction",
    "Predictor",
    "Spectrogram",
    "load_predictor",
]


class Predictor(AnalysisMixin):
    """Predictions and explanations from one trained model.

    Args:
        model: a zoo model (torch ``SERModel`` or the svm) with ``labels`` set.
        feature_config: the features the model was trained on (object or dict); default:
            derived from the model's registry entry and config.
        config: the checkpoint's ``config.json`` (kept as :attr:`config` for displays).
        folder: the checkpoint folder, if loaded from one.
        device: torch device for torch models (``"cpu"``, ``"cuda"``).
        long_audio_seconds: signals longer than this are predicted window by window.
        window_seconds, hop_seconds: the windows used then (default: the training crop length or
            4 s, and half of it).
        batch_size: items per forward pass in :meth:`predict_files` and window prediction.

    Raises:
        CheckpointError: the model has no labels, or the feature config does not fit it.
    """

    def __init__(
        self,
        model: Any,
        feature_config: FeatureConfig | dict[str, Any] | None = None,
        *,
        config: dict[str, Any] | None = None,
        folder: Path | None = None,
        device: str = "cpu",
        long_audio_seconds: float = LONG_AUDIO_SECONDS,
        window_seconds: float | None = None,
        hop_seconds: float | None = None,
        batch_size: int = 16,
    ) -> None:
        labels = getattr(model, "labels", None)
        if not labels:
            raise CheckpointError("the model has no labels; set model.labels = [...] first")
        try:
            self.pipeline: InputPipeline = pipeline_for(model, feature_config)
        except ValueError as exc:
            raise CheckpointError(f"{folder or 'model'}: {exc}") from exc
        self.model = model
        self.config: dict[str, Any] = dict(config or {})
        self.folder = folder
        self.device = device
        self._torch = bool(getattr(model, "is_torch", False))
        if self._torch:
            model.to(device).eval()
        training = self.config.get("training") or {}
        self.window_seconds = float(window_seconds or training.get("max_train_seconds") or 4.0)
        self.hop_seconds = float(hop_seconds or self.window_seconds / 2)
        self.long_audio_seconds = float(long_audio_seconds)
        self.batch_size = int(batch_size)
        self.speaker: SpeakerNormalizer | None = None  # enrolment of a speaker-adapted model

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_checkpoint(cls, path_or_name: str | os.PathLike[str], **options: Any) -> Predictor:
        """Load a checkpoint folder (or a name in ``checkpoints/``); see :func:`load_predictor`."""
        folder, payload, model, feature = load_checkpoint(path_or_name)
        predictor = cls(model, feature, config=payload, folder=folder, **options)
        predictor.warmup()
        return predictor

    def warmup(self) -> None:
        """Run one prediction on a short synthetic tone.

        The first call in a process pays one-off costs (librosa's lazy imports, numba compiling
        its kernels, torch allocating its thread pool) of about 2 s; paying them at load time
        keeps the latency users see, and the one :class:`Prediction` reports, honest.
        """
        rate = 16000
        tone = warmup_tone(rate)
        target = self
        if self.speaker_adapted:  # warm up through a throw-away enrolment on the tone itself
            target = self.adapted_to(self.enrolment([tone], rate, min_seconds=0.0))
        target.predict_signal(tone, rate)

    # ------------------------------------------------------------------ description
    @property
    def labels(self) -> list[str]:
        """Class names in output order."""
        return list(self.model.labels)

    @property
    def model_name(self) -> str:
        """The registered architecture name (``"cnn_lstm"``)."""
        return str(self.model.model_name)

    @property
    def name(self) -> str:
        """The checkpoint folder's name, else the model name."""
        return self.folder.name if self.folder is not None else self.model_name

    @property
    def feature_config(self) -> FeatureConfig:
        """The features the model takes."""
        return self.pipeline.feature_config

    def __repr__(self) -> str:
        return f"Predictor({self.name!r}, model={self.model_name!r}, labels={self.labels})"

    # ------------------------------------------------------------------ speaker adaptation
    @property
    def speaker_adapted(self) -> bool:
        """The model was trained on speaker-normalised features: it needs an enrolment."""
        return bool(getattr(getattr(self.model, "config", None), "speaker_adapted", False))

    def enrolment(
        self, clips: Sequence[Any], sample_rate: int | None = None, min_seconds: float = 3.0
    ) -> SpeakerNormalizer:
        """Statistics of one speaker from a few clips of their voice (any emotion).

        Args:
            clips: signals (with ``sample_rate``), paths or bytes, as :func:`read_audio` takes.
            sample_rate: rate of array clips.
            min_seconds: least total speech the statistics may rest on.

        Returns:
            A :class:`~ser_core.adaptation.SpeakerNormalizer` for :meth:`adapted_to`; keep it
            per user (an app session), not on this shared predictor.

        Raises:
            SERError: the model is not speaker-adapted, or too little audio.
            AudioInputError: an unusable clip.
        """
        if not self.speaker_adapted:
            raise SERError(
                f"{self.name} was not trained with speaker adaptation; enrolment would not "
                "change its predictions (pick a model labelled speaker-adapted)"
            )
        decoded = [self._clip(c, sample_rate, DEFAULT_LIMITS) for c in clips]
        return _speaker.enrol(self.pipeline, decoded, min_seconds)

    def adapted_to(self, speaker: SpeakerNormalizer) -> Predictor:
        """A predictor sharing this one's model that normalises with ``speaker``'s statistics.

        Raises:
            SERError: the model is not speaker-adapted, or the statistics are of another shape.
        """
        if not self.speaker_adapted:
            raise SERError(f"{self.name} was not trained with speaker adaptation")
        if ENROLLED_SPEAKER not in speaker.speakers:
            raise SERError("the enrolment holds no speaker; build it with Predictor.enrolment")
        adapted = copy.copy(self)
        adapted.speaker = speaker
        return adapted

    def _adapt(self, features: Sequence[np.ndarray]) -> list[np.ndarray]:
        if not self.speaker_adapted:
            return list(features)
        return _speaker.normalize(self.speaker, features, self.name)

    # ------------------------------------------------------------------ core
    def predict_features(self, features: Sequence[np.ndarray]) -> np.ndarray:
        """Probabilities (N, C) for precomputed features (the pipeline's ``featurize`` output);
        a speaker-adapted model normalises them with the enrolled speaker's statistics."""
        return predict_features(
            self.model,
            self.pipeline,
            self._adapt(features),
            batch_size=self.batch_size,
            device=self.device,
        )

    def _row(self, proba: np.ndarray) -> dict[str, float]:
        return {label: float(p) for label, p in zip(self.labels, proba, strict=True)}

    def _clip(self, signal: Any, sample_rate: int | None, limits: AudioLimits) -> Any:
        if isinstance(signal, np.ndarray):
            if sample_rate is None:
                raise TypeError("pass the sample_rate of the signal")
            return read_audio(
                signal, sample_rate, target_rate=self.pipeline.sample_rate, limits=limits
            )
        return read_audio(signal, target_rate=self.pipeline.sample_rate, limits=limits)

    def _predict_clip_signal(self, signal: np.ndarray, source: str) -> Prediction:
        started = time.perf_counter()
        duration = len(signal) / self.pipeline.sample_rate
        if duration > self.long_audio_seconds:
            frame = self._window_probabilities(signal)
            proba = window_average(frame, self.labels)
            windows = len(frame)
        else:
            proba = self.predict_features([self.pipeline.featurize(signal)])[0]
            windows = 1
        probabilities = self._row(proba)
        return Prediction(
            label=self.labels[int(np.argmax(proba))],
            probabilities=probabilities,
            latency=time.perf_counter() - started,
            duration=duration,
            windows=windows,
            source=source,
        )

    # ------------------------------------------------------------------ public API
    def predict_signal(self, signal: np.ndarray, sample_rate: int) -> Prediction:
        """Predict one signal (any rate: it is validated and resampled by ``read_audio``).

        Raises:
            AudioInputError: silent, too short, too long, non-finite, ... audio.
        """
        clip = self._clip(np.asarray(signal), sample_rate, DEFAULT_LIMITS)
        return self._predict_clip_signal(clip.signal, clip.source)

    def predict_file(self, path: str | os.PathLike[str]) -> Prediction:
        """Predict one audio file (or bytes / a file object such as an upload).

        Raises:
            AudioInputError: missing, unreadable or unusable audio.
        """
        clip = self._clip(path, None, DEFAULT_LIMITS)
        return self._predict_clip_signal(clip.signal, str(path) if _is_path(path) else clip.source)

    def predict_files(
        self,
        paths: Sequence[str | os.PathLike[str]],
        progress: bool = False,
        cache: bool | FeatureCache = False,
    ) -> pd.DataFrame:
        """Predict many files; one row per file, in the given order.

        Args:
            paths: audio files.
            progress: show a progress bar.
            cache: read / store features in a :class:`FeatureCache` keyed by file content
                (``True``: the default cache folder) — worth it for corpora evaluated repeatedly.
                Files longer than ``long_audio_seconds`` are always predicted window by window.

        Returns:
            One row per file, indexed by ``(file, start, end)``: the path as given, 0 and the
            file's duration in seconds (a long file, averaged over its windows, is still one
            row); one probability column per label (model order), then ``label``.

        Raises:
            AudioInputError: a file is missing, unreadable or unusable (naming it).
        """
        store: FeatureCache | None
        store = cache if isinstance(cache, FeatureCache) else (FeatureCache() if cache else None)
        names = [os.fspath(p) for p in paths]
        proba, durations = file_probabilities(
            self.pipeline,
            self.predict_features,
            lambda name: list(self.predict_file(name).probabilities.values()),
            names,
            len(self.labels),
            long_audio_seconds=self.long_audio_seconds,
            batch_size=self.batch_size,
            store=store,
            progress=f"predicting ({self.name})" if progress else None,
        )
        index = segment_index(names, np.zeros(len(names)), durations)
        return probability_table(proba, self.labels, index)

    def _window_probabilities(
        self,
        signal: np.ndarray,
        win_dur: float | None = None,
        hop_dur: float | None = None,
        progress: ProgressCallback | None = None,
        file: str = "",
    ) -> pd.DataFrame:
        return window_probabilities(
            self.pipeline,
            self.predict_features,
            self.labels,
            signal,
            win_dur or self.window_seconds,
            hop_dur or self.hop_seconds,
            batch_size=self.batch_size,
            progress=progress,
            file=file,
        )

    def predict_windows(
        self,
        signal: np.ndarray,
        sample_rate: int,
        win_dur: float | None = None,
        hop_dur: float | None = None,
        progress: ProgressCallback | None = None,
        *,
        file: str = "",
    ) -> pd.DataFrame:
        """Predict consecutive windows of a long recording.

        Args:
            signal: the recording (any rate; validated and resampled by ``read_audio``, up to
                one hour).
            sample_rate: its rate in Hz.
            win_dur, hop_dur: window length and hop in seconds (default: ``window_seconds``
                and ``hop_seconds``).
            progress: called as ``progress(done, total)`` after each batch of windows.
            file: the ``file`` index level of every row (the recording's name; ``""`` default).

        Returns:
            One row per window, indexed by ``(file, start, end)`` (seconds; the last window's
            end is the end of the audio); one probability column per label, then ``label``.

        Raises:
            AudioInputError: unusable audio; ValueError: a window or hop shorter than a sample.
        """
        limits = AudioLimits(max_duration=MAX_WINDOWED_SECONDS)
        clip = self._clip(np.asarray(signal), sample_rate, limits)
        return self._window_probabilities(clip.signal, win_dur, hop_dur, progress, file)


def load_predictor(
    path_or_name: str | os.PathLike[str] = DEFAULT_CHECKPOINT, **options: Any
) -> Predictor:
    """Load a :class:`Predictor` from a checkpoint folder or a checkpoint name.

    Args:
        path_or_name: a folder path, or a name in the repository's ``checkpoints/`` folder
            (``$SER_CHECKPOINTS`` overrides where that is); ``"default"`` by default.
        **options: :class:`Predictor` options (``device``, ``long_audio_seconds``, ...).

    Raises:
        CheckpointError: no such checkpoint (the message lists the available names), or an
            invalid one (config schema, missing files, tensors that do not fit the model).
    """
    return Predictor.from_checkpoint(path_or_name, **options)
