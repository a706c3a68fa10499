"""The one place that turns audio into model input: feature config, features, batches, windows.

Training, evaluation and inference all build inputs through an :class:`InputPipeline`, so a
model sees exactly the same features at every stage. The pipeline is derived from the model
alone — its registry entry (default features), its config, and :meth:`SERModel.input_spec`
(tensor layout) — never from an if-chain over model names, so a newly registered model or
feature kind works without editing this file::

    >>> from ser_core.pipeline import build_model
    >>> model, features = build_model("cnn_lstm", 7, {"lstm_hidden": 32})   # doctest: +SKIP
    >>> pipe = InputPipeline(features, model.input_spec())                 # doctest: +SKIP
    >>> x, lengths = pipe.collate([pipe.featurize(signal) for signal in signals])  # doctest: +SKIP

Feature config resolution (:func:`resolve_feature_config`): the checkpoint's saved
``feature_config`` dict when there is one; otherwise the default config of the model's feature
kind (``model_info(name).features``, or the ``features`` entry of the model config), with any
user overrides applied. :func:`build_model` then creates the model with
``model_config_for(feature_config)`` so its input size always matches the features.

Batches (:meth:`InputPipeline.collate`): the time axis of an item is found from the model's
declared layout (the ``T`` in ``"(B, F, T)"``); items are zero-padded along it and the valid
lengths returned. Layouts without ``T`` (images, vectors) are stacked, with ``lengths=None``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ser_core.audio import TARGET_SAMPLE_RATE, Window, frame_windows
from ser_core.features import (
    RECENT_FEATURES,
    FeatureCache,
    FeatureConfig,
    config_from_dict,
    extract,
    frame_times,
    pad_batch,
)
from ser_core.models import InputSpec

if TYPE_CHECKING:
    import torch

__all__ = [
    "InputPipeline",
    "build_model",
    "default_feature_config",
    "input_spec_of",
    "pipeline_for",
    "predict_features",
    "resolve_feature_config",
    "time_axis_of",
]


def time_axis_of(spec: InputSpec) -> int | None:
    """Axis of one *item* (no batch axis) that runs over time, from ``spec.layout``.

    ``"(B, T)"`` → 0, ``"(B, F, T)"`` → 1, ``"(B, 3, H, W)"`` / ``"(B, D)"`` → None.
    """
    names = [part.strip() for part in spec.layout.strip("() ").split(",")]
    return names.index("T") - 1 if "T" in names else None


def default_feature_config(
    model_name: str, model_config: Mapping[str, Any] | None = None
) -> FeatureConfig:
    """The default feature config for a registered model (and optional config overrides).

    The registry says which feature kind the (overridden) model config takes and which of its
    parameters the model fixes (``ser_core.models.default_features``: e.g. ``whisper_tiny``
    reads the states of the tiny encoder); every other parameter is the kind's default.

    Raises:
        ValueError: unknown model name, feature kind or config field.
    """
    from ser_core import models

    registry_default = getattr(models, "default_features", None)
    if registry_default is not None:
        return config_from_dict(registry_default(model_name, dict(model_config or {})))
    # Older registries: the kind alone (every model then takes its kind's defaults).
    kind = (model_config or {}).get("features") or models.model_info(model_name).features
    return config_from_dict({"kind": kind})


def resolve_feature_config(
    model_name: str,
    model_config: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | FeatureConfig | None = None,
) -> FeatureConfig:
    """The feature config a model should be trained with.

    Args:
        model_name: registered model name.
        model_config: user overrides of the model config (may name ``features``).
        overrides: a full ``FeatureConfig``, a full ``to_dict()`` (with ``kind``), or a dict of
            parameters changed from the default config of the model's feature kind.

    Raises:
        ValueError: an unknown parameter, or a ``kind`` that disagrees with the model config.
    """
    if isinstance(overrides, FeatureConfig):
        return overrides
    base = default_feature_config(model_name, model_config)
    if not overrides:
        return base
    changes = dict(overrides)
    kind = changes.pop("kind", base.kind)
    if kind != base.kind:
        if model_config and model_config.get("features") not in (None, kind):
            raise ValueError(
                f"feature kind {kind!r} disagrees with the model config's features "
                f"{model_config.get('features')!r}"
            )
        base = config_from_dict({"kind": kind})
    merged = base.to_dict()
    for key, value in changes.items():
        # Nested configs (e.g. the log-mel inside a spectrogram image) merge one level deep.
        if isinstance(merged.get(key), dict) and isinstance(value, Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return config_from_dict(merged)


def build_model(
    name: str,
    num_classes: int,
    model_config: Mapping[str, Any] | None = None,
    feature_config: Mapping[str, Any] | FeatureConfig | None = None,
) -> tuple[Any, FeatureConfig]:
    """Create a registered model whose input matches its feature config.

    ``create_model(name, num_classes, **model_config_for(features), **model_config)``; a user
    value that contradicts the features (say ``n_features=40`` with 64 mel bands) is refused,
    because the model would then fail on its first batch.

    Returns:
        ``(model, feature_config)``.

    Raises:
        ValueError: unknown model, invalid config, or a config that contradicts the features.
    """
    from ser_core.models import create_model, model_config_for

    user = dict(model_config or {})
    features = resolve_feature_config(name, user, feature_config)
    derived = model_config_for(features)
    for key, value in derived.items():
        if key in user and user[key] != value:
            raise ValueError(
                f"model config {key}={user[key]!r} contradicts the feature config, which gives "
                f"{key}={value!r}; change the feature config instead (e.g. --feature-config)"
            )
    model = create_model(name, num_classes, **{**user, **derived})
    return model, features


def input_spec_of(model: Any) -> InputSpec:
    """``model.input_spec()`` (torch and scikit-learn models both provide it)."""
    return model.input_spec()  # type: ignore[no-any-return]


@dataclass
class InputPipeline:
    """Features and batches for one model.

    Args:
        feature_config: what :meth:`featurize` computes.
        spec: the model's :class:`~ser_core.models.InputSpec` (layout, minimum length,
            variable-length support).

    Attributes:
        time_axis: the item axis over time (see :func:`time_axis_of`), or None.
    """

    feature_config: FeatureConfig
    spec: InputSpec
    time_axis: int | None = field(init=False)

    def __post_init__(self) -> None:
        self.time_axis = time_axis_of(self.spec)

    @property
    def sample_rate(self) -> int:
        """The rate (Hz) signals must have (16 kHz for every built-in feature)."""
        return self.feature_config.rate

    # ------------------------------------------------------------------ features
    def featurize(self, signal: np.ndarray, sample_rate: int = TARGET_SAMPLE_RATE) -> np.ndarray:
        """The model's feature of one mono float signal (float32, no batch axis).

        Models with the same feature config share it per clip (:mod:`ser_core.features.recent`:
        Compare computes the Whisper states or ComParE functionals of a clip once).

        Raises:
            AudioInputError: a rate mismatch or an unusable signal.
        """
        config = self.feature_config
        return RECENT_FEATURES.get_or_compute(
            config, signal, sample_rate, lambda: _finite(extract(config, signal, sample_rate))
        )

    def featurize_files(
        self,
        paths: Sequence[str],
        cache: FeatureCache | None = None,
        progress: bool = False,
        speed: float = 1.0,
        channel: int = 0,
    ) -> list[np.ndarray]:
        """Features of audio files through a content-keyed :class:`FeatureCache`.

        ``speed`` featurises speed-perturbed copies instead, ``channel`` (k >= 1) the k-th
        channel copies (training augmentation, see :meth:`FeatureCache.get_or_compute`).

        Raises:
            AudioInputError: a file cannot be decoded or is unusable.
        """
        store = cache if cache is not None else FeatureCache()
        items: Any = paths
        if progress:
            from tqdm.auto import tqdm

            label = self.feature_config.kind + ("" if speed == 1.0 else f" ×{speed:g} speed")
            label += f" channel copy {channel}" if channel else ""
            items = tqdm(paths, desc=f"{label} features", unit="file")
        return [
            _finite(store.get_or_compute(p, self.feature_config, speed, channel)) for p in items
        ]

    def crop(
        self, feature: np.ndarray, max_fraction: float, rng: np.random.Generator
    ) -> np.ndarray:
        """A random crop of ``max_fraction`` of the time axis (training only; None-safe).

        Features without a time axis are returned unchanged.
        """
        if self.time_axis is None or max_fraction >= 1.0:
            return feature
        n = feature.shape[self.time_axis]
        keep = max(self.spec.min_length, math.ceil(n * max_fraction))
        if keep >= n:
            return feature
        start = int(rng.integers(0, n - keep + 1))
        return np.take(feature, np.arange(start, start + keep), axis=self.time_axis)

    # ------------------------------------------------------------------ batches
    def collate_numpy(self, features: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """Stack features into a batch: ``(batch, lengths or None)`` as numpy arrays.

        Items shorter than the model's minimum length are padded by repeating their last step
        (edge padding: for a log-mel that is the clip's final, quiet frame rather than 0 dB).
        """
        if len(features) == 0:
            raise ValueError("collate needs at least one feature array")
        if self.time_axis is None:
            shapes = {f.shape for f in features}
            if len(shapes) != 1:
                raise ValueError(f"{self.spec.kind} inputs must share one shape, got {shapes}")
            return np.stack(features).astype(np.float32, copy=False), None
        axis = self.time_axis
        items = [_pad_to(f, self.spec.min_length, axis) for f in features]
        batch, lengths = pad_batch(items, axis=axis)
        if not self.spec.variable_length:
            # The model ignores lengths: zero padding is then part of the input (documented).
            return batch.astype(np.float32, copy=False), None
        return batch.astype(np.float32, copy=False), lengths

    def collate(
        self, features: Sequence[np.ndarray], device: Any = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`collate_numpy` as torch tensors (on ``device``)."""
        import torch

        batch, lengths = self.collate_numpy(features)
        x = torch.from_numpy(batch).to(device) if device is not None else torch.from_numpy(batch)
        if lengths is None:
            return x, None
        lens = torch.from_numpy(lengths)
        return x, lens.to(device) if device is not None else lens

    # ------------------------------------------------------------------ long audio
    def windows(
        self, signal: np.ndarray, win_dur: float, hop_dur: float, sample_rate: int | None = None
    ) -> list[Window]:
        """Cut a long signal into windows (``frame_windows``; the last one zero-padded)."""
        rate = sample_rate or self.sample_rate
        return frame_windows(signal, rate, win_dur, hop_dur)

    def times(self, n_steps: int, duration: float) -> np.ndarray:
        """Time in seconds of each of ``n_steps`` steps along the feature's time axis.

        Uses :func:`ser_core.features.frame_times` where the feature defines its framing and
        falls back to evenly spaced step centres over ``duration`` otherwise.
        """
        try:
            times = np.asarray(
                frame_times(self.feature_config, n_steps, duration=duration), dtype=np.float64
            )
        except ValueError:
            step = duration / max(n_steps, 1)
            times = (np.arange(n_steps, dtype=np.float64) + 0.5) * step
        return times


def pipeline_for(
    model: Any, feature_config: FeatureConfig | Mapping[str, Any] | None = None
) -> InputPipeline:
    """The :class:`InputPipeline` of a model.

    Args:
        model: a zoo model (anything with ``input_spec()``, ``model_name`` and ``config``).
        feature_config: the checkpoint's feature config (object or dict); default: derived
            from the model's registry entry and config.

    Raises:
        ValueError: the feature config does not produce the input the model was built for.
    """
    from ser_core.models import model_config_for

    if feature_config is None:
        own = getattr(model, "feature_config", None)  # models that know their features
        if callable(own):
            features = own()
        else:
            features = default_feature_config(model.model_name, model.config.to_dict())
    elif isinstance(feature_config, FeatureConfig):
        features = feature_config
    else:
        features = config_from_dict(feature_config)
    config = model.config.to_dict()
    clashes = {
        k: (v, config[k])
        for k, v in model_config_for(features).items()
        if k in config and config[k] != v
    }
    if clashes:
        detail = ", ".join(
            f"{k}: features give {a!r}, model has {b!r}" for k, (a, b) in clashes.items()
        )
        raise ValueError(f"feature config does not match the model ({detail})")
    return InputPipeline(features, input_spec_of(model))


def predict_features(
    model: Any,
    pipe: InputPipeline,
    features: Sequence[np.ndarray],
    batch_size: int = 32,
    device: Any = None,
) -> np.ndarray:
    """Class probabilities of feature arrays, batched (eval mode, no gradients).

    Items are batched in order of their time length, so padded batches stay small; the result is
    in the order of ``features``.
    """
    if not features:
        return np.zeros((0, model.num_classes))
    from ser_core.models import is_torch_model

    if not is_torch_model(model):
        return np.asarray(model.predict_proba(np.stack(features)), dtype=np.float64)
    import torch

    axis = pipe.time_axis
    order = (
        np.argsort([f.shape[axis] for f in features], kind="stable")
        if axis is not None
        else np.arange(len(features))
    )
    out = np.zeros((len(features), model.num_classes), dtype=np.float64)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chosen = order[start : start + batch_size]
                x, lengths = pipe.collate([features[i] for i in chosen], device)
                proba = torch.softmax(model(x, lengths).float(), dim=-1)
                out[chosen] = proba.cpu().numpy()
    finally:
        model.train(was_training)
    return out


def _finite(feature: np.ndarray) -> np.ndarray:
    # openSMILE gives NaN for functionals of very short clips; models and the SVM need numbers.
    # Doing it here applies the same rule in training and at inference.
    if not np.isfinite(feature).all():
        feature = np.nan_to_num(feature, nan=0.0, posinf=0.0, neginf=0.0)
    return feature


def _pad_to(feature: np.ndarray, length: int, axis: int) -> np.ndarray:
    n = feature.shape[axis]
    if n >= length:
        return feature
    widths = [(0, 0)] * feature.ndim
    widths[axis] = (0, length - n)
    return np.pad(feature, widths, mode="edge")


#: ``progress(done, total)`` callbacks used by window prediction.
ProgressCallback = Callable[[int, int], None]
