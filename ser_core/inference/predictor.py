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
import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ser_core.adaptation import SpeakerNormalizer
from ser_core.audio import (
    DEFAULT_LIMITS,
    AudioClip,
    AudioLimits,
    audio_info,
    read_audio,
    resample,
)
from ser_core.errors import CheckpointError, SERError
from ser_core.features import (
    FeatureCache,
    FeatureConfig,
    LogMelConfig,
    config_from_dict,
    extract,
    feature_names,
    frame_times,
)
from ser_core.inference.checkpoint import (
    DEFAULT_CHECKPOINT,
    read_config,
    resolve_checkpoint,
    weights_file,
)
from ser_core.inference.results import (
    LONG_AUDIO_SECONDS,
    Prediction,
    segment_bounds,
    segment_file,
    segment_index,
)
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

#: What the axes of an :class:`Explanation` map mean.
EXPLANATION_KINDS = ("time", "time-frequency", "image", "feature")

#: The speaker key of an app / API enrolment (one speaker per enrolment).
ENROLLED_SPEAKER = "enrolled"

#: Longest recording :meth:`Predictor.predict_windows` accepts (one hour).
MAX_WINDOWED_SECONDS = 3600.0

ProgressCallback = Callable[[int, int], None]


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


class Predictor:
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
        from ser_core.models import is_registered, load_model

        folder = resolve_checkpoint(path_or_name)
        payload = read_config(folder)
        weights_file(folder)
        if not is_registered(payload["name"]):
            raise CheckpointError(
                f"{folder}: model {payload['name']!r} is not in this version's registry "
                "(see `ser models`); upgrade ser_core or retrain"
            )
        feature = payload.get("feature_config")
        if feature is not None:
            try:
                feature = config_from_dict(feature)
            except (ValueError, TypeError) as exc:
                raise CheckpointError(f"{folder}/config.json: bad feature_config: {exc}") from exc
        try:
            model = load_model(folder)
        except SERError:
            raise
        except Exception as exc:  # corrupt safetensors / skops files raise library errors
            raise CheckpointError(f"{folder}: cannot load the weights: {exc}") from exc
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
        t = np.arange(rate, dtype=np.float32) / rate
        tone = (0.3 * np.sin(2 * np.pi * 220.0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(
            np.float32
        )
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
        seconds = sum(c.duration for c in decoded)
        if seconds < min_seconds:
            raise SERError(
                f"enrolment needs at least {min_seconds:g} s of the speaker's voice, got "
                f"{seconds:.1f} s in {len(decoded)} clip(s)"
            )
        features = [self.pipeline.featurize(c.signal) for c in decoded]
        return SpeakerNormalizer.for_feature(features[0]).enroll(ENROLLED_SPEAKER, features)

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
        if self.speaker is None:
            raise SERError(
                f"{self.name} is speaker-adapted: enrol the speaker first (a few clips of their "
                "voice: Predictor.enrolment, then adapted_to)"
            )
        try:
            return [self.speaker.normalize(f, ENROLLED_SPEAKER) for f in features]
        except ValueError as exc:
            raise SERError(f"the enrolment does not fit this model: {exc}") from exc

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

    def _window_average(self, frame: pd.DataFrame) -> np.ndarray:
        """Window probabilities averaged, weighted by the audio each window covers."""
        starts, ends = segment_bounds(frame)
        return np.average(frame[self.labels].to_numpy(), axis=0, weights=ends - starts)

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
            proba = self._window_average(frame)
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
        proba = np.zeros((len(names), len(self.labels)))
        durations = np.zeros(len(names))
        items: Any = range(0, len(names), self.batch_size)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(names), desc=f"predicting ({self.name})", unit="file")
        for start in items:
            chunk = list(range(start, min(start + self.batch_size, len(names))))
            feats: list[np.ndarray] = []
            whole: list[int] = []
            for i in chunk:
                durations[i] = audio_info(names[i]).duration
                if durations[i] > self.long_audio_seconds:
                    pred = self.predict_file(names[i])
                    proba[i] = list(pred.probabilities.values())
                    continue
                if store is not None:
                    feats.append(self.pipeline.featurize_files([names[i]], cache=store)[0])
                else:
                    clip = read_audio(names[i], target_rate=self.pipeline.sample_rate)
                    feats.append(self.pipeline.featurize(clip.signal, clip.sample_rate))
                whole.append(i)
            if whole:
                proba[whole] = self.predict_features(feats)
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            bar.close()
        return self._table(proba, segment_index(names, np.zeros(len(names)), durations))

    def _table(self, proba: np.ndarray, index: pd.MultiIndex) -> pd.DataFrame:
        """Probabilities ``(rows, labels)`` as a prediction table: columns labels, ``label``."""
        frame = pd.DataFrame(proba, columns=self.labels, index=index)
        frame["label"] = [self.labels[i] for i in proba.argmax(axis=1)] if len(frame) else []
        return frame

    def _window_probabilities(
        self,
        signal: np.ndarray,
        win_dur: float | None = None,
        hop_dur: float | None = None,
        progress: ProgressCallback | None = None,
        file: str = "",
    ) -> pd.DataFrame:
        windows = self.pipeline.windows(
            signal, win_dur or self.window_seconds, hop_dur or self.hop_seconds
        )
        proba = np.zeros((len(windows), len(self.labels)))
        for start in range(0, len(windows), self.batch_size):
            chunk = windows[start : start + self.batch_size]
            feats = [self.pipeline.featurize(w.signal) for w in chunk]
            proba[start : start + len(chunk)] = self.predict_features(feats)
            if progress is not None:
                progress(start + len(chunk), len(windows))
        index = segment_index(file, [w.start for w in windows], [w.end for w in windows])
        return self._table(proba, index)

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
            proba = self._window_average(table)
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
            spectrogram=self._spectrogram(signal) if spectrogram else None,
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
        """Probabilities (C,) and the explanation of one clip from one model pass.

        ``index`` None explains the predicted class. A model with ``encode_signal`` (a frozen
        pretrained-encoder head) runs its encoder once, with attention maps, and returns the
        probabilities of that run; other models are featurised once, classified, then
        explained on the same input (their ``explain`` has no probabilities to give back;
        ``classify=False``, for a long clip labelled by its windows, skips that: None).
        ``on_probabilities`` receives them as soon as they exist, before the explanation.
        """
        method = str(self.model.explanation_for(self.model.config))
        # A speaker-adapted model is explained on the normalised features it classified.
        encode = None if self.speaker_adapted else getattr(self.model, "encode_signal", None)
        if callable(encode):  # label first, then the explanation from the same encoder run
            encoding = encode(signal)
            proba = np.asarray(encoding.probabilities, dtype=np.float64)
            if on_probabilities is not None:
                on_probabilities(proba)
            result = self.model.explain_encoding(encoding, target=index)
            chosen = int(np.argmax(proba)) if index is None else index
            return proba, Explanation(
                map=np.asarray(result.frame_map, dtype=np.float32),
                kind="time",
                times=np.asarray(result.times, dtype=np.float64),
                label=self.labels[chosen],
                method=method,
                duration=duration,
            )
        feature = self._adapt([self.pipeline.featurize(signal)])[0]
        proba = None
        if classify or index is None:
            proba = predict_features(
                self.model, self.pipeline, [feature], batch_size=1, device=self.device
            )[0]
            if on_probabilities is not None:
                on_probabilities(np.asarray(proba, dtype=np.float64))
        chosen = int(np.argmax(proba)) if index is None else index
        if self._torch:
            x, lengths = self.pipeline.collate([feature], self.device)
            maps = self.model.explain(x, lengths, target=chosen)
        else:
            maps = self.model.explain(feature[None].astype(np.float64), None, target=chosen)
        values = np.asarray(maps, dtype=np.float32)[0]
        kind = self._explanation_kind(values)
        times = None if kind == "feature" else self.pipeline.times(values.shape[-1], duration)
        names = None
        if kind == "feature":
            try:
                names = feature_names(self.feature_config)
            except ValueError:
                names = None
        return None if proba is None else np.asarray(proba, dtype=np.float64), Explanation(
            map=values,
            kind=kind,
            times=times,
            label=self.labels[chosen],
            method=method,
            duration=duration,
            feature_names=names,
        )

    def _spectrogram(self, signal: np.ndarray) -> Spectrogram:
        """The display log-mel (default :class:`LogMelConfig`), so pages import no features."""
        config = LogMelConfig()
        values = extract(config, signal, self.pipeline.sample_rate)
        return Spectrogram(values=values, times=np.asarray(frame_times(config, values.shape[1])))

    def _explanation_kind(self, values: np.ndarray) -> str:
        spec = self.pipeline.spec
        if spec.kind == "image":
            return "image"
        if self.pipeline.time_axis is None:
            return "feature"
        return "time" if values.ndim == 1 else "time-frequency"


def _is_path(source: Any) -> bool:
    return isinstance(source, str | os.PathLike)


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
